"""The YAML reader: the same data as PyYAML's safe loader, with positions, from parser events."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from reconciler.config.load import load_config
from reconciler.config.yamlsource import (
    Position,
    YamlProblems,
    _Loader,
    complete_positions,
    parse_document,
)
from reconciler.core.errors import ConfigError

SAME_AS_PYYAML = {
    "scalars": "a: 1\nb: 1.5\nc: true\nd: null\ne: '007'\nf: ~\ng: 0x1f\nh: .inf\n",
    "timestamps stay strings": "at: 2026-12-01T15:00:00\nday: 2026-12-01\n",
    "nested": "devices:\n  d1:\n    codes:\n      - {name: A, code: '1234'}\n      - name: B\n",
    "anchor and alias": "base: &b {x: 1}\nother: *b\nlist: [&s hello, *s]\n",
    "merge key": "base: &b {x: 1, y: 2}\nchild:\n  <<: *b\n  y: 3\n",
    "merge list": "a: &a {x: 1}\nb: &b {x: 2, z: 3}\nc:\n  <<: [*a, *b]\n  w: 0\n",
    "explicit tags": "s: !!str 123\ni: !!int '42'\nf: !!float '1'\n",
    "block scalars": "text: |\n  line one\n  line two\nfolded: >\n  a\n  b\n",
    "empty values": "a:\nb: []\nc: {}\n",
    "integer keys": "1: one\n2: two\n",
}


@pytest.mark.parametrize("case", list(SAME_AS_PYYAML))
def test_data_matches_pyyaml_safe_loader(case: str) -> None:
    text = SAME_AS_PYYAML[case]
    expected = yaml.load(text, Loader=_Loader)  # a SafeLoader
    assert parse_document(text, "f.yaml", environ={}).data == expected


def test_an_empty_file_is_none() -> None:
    assert parse_document("", "f.yaml").data is None
    assert parse_document("# only a comment\n", "f.yaml").data is None


def test_two_documents_in_one_file_are_refused_with_the_line() -> None:
    with pytest.raises(YamlProblems) as caught:
        parse_document("a: 1\n---\nb: 2\n", "f.yaml")
    (problem,) = caught.value.problems
    assert (problem.line, problem.column) == (2, 1)
    assert "single document" in problem.message


def test_an_unknown_tag_is_refused_with_its_line() -> None:
    with pytest.raises(YamlProblems) as caught:
        parse_document("a: 1\nb: !python/name:os.system x\n", "f.yaml")
    (problem,) = caught.value.problems
    assert problem.line == 2
    assert "constructor" in problem.message


def test_an_undefined_alias_is_refused() -> None:
    with pytest.raises(YamlProblems) as caught:
        parse_document("a: *nowhere\n", "f.yaml")
    assert "undefined alias" in caught.value.problems[0].message


def test_variables_are_expanded_and_a_missing_one_is_placed_exactly() -> None:
    text = "variables: [ROOM, NOPE]\na:\n  b: '${ROOM}'\n  c: x-${NOPE}-y\n  d: $$5\n"
    with pytest.raises(YamlProblems) as caught:
        parse_document(text, "f.yaml", environ={"ROOM": "9182"}, complete=False)
    (problem,) = caught.value.problems
    assert (problem.line, problem.column, problem.path) == (4, 6, "a.c")
    done = parse_document(text.replace("${NOPE}", "z"), "f.yaml", environ={"ROOM": "9182"})
    assert done.data["a"] == {"b": "9182", "c": "x-z-y", "d": "$5"}


def test_a_key_given_twice_names_both_lines_even_without_complete_positions() -> None:
    with pytest.raises(YamlProblems) as caught:
        parse_document("a:\n  x: 1\n  y: 2\n  x: 3\n", "f.yaml", complete=False)
    (problem,) = caught.value.problems
    assert (problem.line, problem.path) == (4, "a.x")
    assert "first at line 2" in problem.message


def test_partial_positions_keep_containers_and_completing_adds_scalars() -> None:
    text = "devices:\n  d1:\n    codes:\n      - name: A\n        code: '1234'\n"
    partial = parse_document(text, "f.yaml", complete=False)
    entry = ("devices", "d1", "codes", 0)
    assert partial.values[entry] == Position("f.yaml", 4, 9)
    assert (*entry, "code") not in partial.values
    full = complete_positions(partial)
    assert full.values[(*entry, "code")] == Position("f.yaml", 5, 15)
    assert full.keys[(*entry, "code")] == Position("f.yaml", 5, 9)
    assert full.data == partial.data
    assert {k: v for k, v in full.values.items() if k in partial.values} == partial.values


def test_a_problem_deep_in_a_large_config_gets_its_exact_column(tmp_path: Path) -> None:
    codes = "".join(f'      - {{name: "P{j}", code: "{4817 + 7 * j}"}}\n' for j in range(50))
    bad = '      - {name: "Bad", code: "12x4"}\n'
    path = tmp_path / "accesscodes.yaml"
    path.write_text("version: 1\ndevices:\n  d1:\n    device_id: x1\n    codes:\n" + codes + bad)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    (problem,) = caught.value.problems
    assert (problem.line, problem.column) == (56, 29)
    assert problem.path == "devices.d1.codes[50].code"
