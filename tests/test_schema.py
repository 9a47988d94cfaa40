"""The committed JSON Schema matches the models, and every example validates against it."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from reconciler.config.load import load_config
from reconciler.config.schema import config_json_schema

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_FILE = ROOT / "schemas" / "accesscodes.schema.json"
EXAMPLE_FILES = sorted(
    p
    for p in (ROOT / "examples").rglob("*.y*ml")
    if p.suffix in (".yaml", ".yml") and "github" not in p.parts and "k8s" not in p.parts
)


def test_committed_schema_matches_the_models() -> None:
    committed = json.loads(SCHEMA_FILE.read_text())
    assert committed == config_json_schema(), (
        "schemas/accesscodes.schema.json is stale: run `accesscodes schema > "
        "schemas/accesscodes.schema.json`"
    )


def test_there_are_examples() -> None:
    assert EXAMPLE_FILES


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_example_validates_against_the_schema(path: Path) -> None:
    data = yaml.safe_load(path.read_text())
    data = json.loads(json.dumps(data, default=str))  # YAML timestamps → strings, as we load them
    jsonschema.validate(data, json.loads(SCHEMA_FILE.read_text()))


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_example_passes_validate(path: Path) -> None:
    config = load_config(path, environ={"BOB_PIN": "736194", "CLEANER_PIN": "639027"})
    assert config.devices
