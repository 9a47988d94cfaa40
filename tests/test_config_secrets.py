"""A config cannot read a secret into a printed field, nor send the API key to a host it picks.

The config is a pull request's, the environment the operator's (`reconciler.config.trust`):
`${VAR}` in a PIN or the webhook URL reads any variable but accesscodes' own secrets; anywhere
else only a variable the config declares under `variables:`; never SEAM_API_KEY & co.
"""

from __future__ import annotations

import json
import textwrap
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from conftest import CliRunner

from reconciler.config.load import load_config
from reconciler.config.schema import CodeConfig, SettingsConfig
from reconciler.config.trust import endpoint_refusal
from reconciler.config.yamlsource import YamlProblems, complete_positions, parse_document
from reconciler.core.errors import ConfigError
from reconciler.core.settings import Settings
from reconciler.providers import make_provider
from reconciler.providers.seam_client import SeamClient

NOW = "2026-11-23T15:00:00Z"
API_KEY = "seam_test_key_4d1f0c9b7e"
PIN = "736194"


def _config(tmp_path: Path, codes: str, *, top: str = "", provider: str = "kind: sim") -> Path:
    text = (
        "version: 1\n"
        + textwrap.dedent(top)
        + f"provider:\n  {provider}\n"
        + "devices:\n  front:\n    device_id: august_front\n    codes:\n"
        + textwrap.indent(textwrap.dedent(codes), "      ")
    )
    path = tmp_path / "accesscodes.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _every_output(cli: CliRunner, path: Path, env: dict[str, str]) -> tuple[list[int], str]:
    """Exit codes and everything printed or written by validate and plan in each format."""
    out_file = path.parent / "plan.json"
    runs = [cli("validate", "-c", str(path), env=env)]
    runs.append(cli("validate", "-c", str(path), "--skip-devices", env=env))
    for fmt in ("text", "json", "markdown"):
        runs.append(
            cli(
                "plan",
                "-c",
                str(path),
                "--now",
                NOW,
                "--format",
                fmt,
                "--out",
                str(out_file),
                env=env,
            )
        )
    seen = "".join(r.output for r in runs)
    if out_file.exists():
        seen += out_file.read_text()
    return [r.code for r in runs], seen


def test_an_api_key_in_a_name_is_refused_and_shown_nowhere(cli: CliRunner, tmp_path: Path) -> None:
    path = _config(tmp_path, '- name: "leak ${SEAM_API_KEY}"\n  code: "482913"\n')
    codes, seen = _every_output(cli, path, {"SEAM_API_KEY": API_KEY})
    assert codes == [1] * 5
    assert API_KEY not in seen
    assert (
        f"{path}:8:15: devices.front.codes[0].name: ${{SEAM_API_KEY}} may not be used in the "
        "config (it is a secret of accesscodes)"
    ) in seen
    assert not (tmp_path / "plan.json").exists()


def test_an_undeclared_variable_in_a_name_is_refused(cli: CliRunner, tmp_path: Path) -> None:
    path = _config(tmp_path, '- name: "Guest ${GUEST}"\n  code: "482913"\n')
    codes, seen = _every_output(cli, path, {"GUEST": "Zanzibar-Smith"})
    assert codes == [1] * 5
    assert "Zanzibar-Smith" not in seen
    assert "devices.front.codes[0].name: ${GUEST} is not declared under variables:" in seen


def test_a_declared_variable_works_in_a_name(cli: CliRunner, tmp_path: Path) -> None:
    path = _config(
        tmp_path, '- name: "Guest ${GUEST}"\n  code: "482913"\n', top="variables: [GUEST]\n"
    )
    result = cli(
        "plan", "-c", str(path), "--now", NOW, "--format", "json", env={"GUEST": "Zanzibar"}
    )
    assert result.code == 0, result.output
    assert [c["name"] for c in json.loads(result.out)["changes"]] == ["Guest Zanzibar"]


def test_a_pin_from_the_environment_works_and_is_masked(cli: CliRunner, tmp_path: Path) -> None:
    path = _config(tmp_path, "- name: Bob\n  code: ${BOB_PIN}\n")
    env = {"BOB_PIN": PIN}
    codes, seen = _every_output(cli, path, env)
    assert codes == [0] * 5
    assert PIN not in seen and "****" in seen
    shown = cli("plan", "-c", str(path), "--now", NOW, "--show-codes", env=env)
    assert PIN in shown.out


@pytest.mark.parametrize(
    ("top", "field", "name"),
    [
        ("variables: [ACCESSCODES_PLAN_KEY]\n", "code", "ACCESSCODES_PLAN_KEY"),
        ("", "code", "ACCESSCODES_JOURNAL_KEY"),
        ("", "code", "SEAM_API_KEY"),
        ("variables: [GITHUB_TOKEN]\n", "name", "GITHUB_TOKEN"),
        ("", "code", "actions_runtime_token"),
    ],
)
def test_accesscodes_secrets_are_refused_everywhere(
    cli: CliRunner, tmp_path: Path, top: str, field: str, name: str
) -> None:
    other = "name: Bob" if field == "code" else 'code: "482913"'
    path = _config(tmp_path, f'- {other}\n  {field}: "${{{name}}}"\n', top=top)
    secret = "91827364550918273645"  # digits: it would pass for a PIN
    codes, seen = _every_output(cli, path, {name: secret})
    assert codes == [1] * 5
    assert secret not in seen
    assert f"codes[0].{field}: ${{{name}}} may not be used in the config" in seen


def test_the_webhook_url_may_read_a_secret_but_not_accesscodes_own(tmp_path: Path) -> None:
    path = _config(tmp_path, "- name: Bob\n", top="settings:\n  webhook_url: ${HOOK}\n")
    hook = "https://hooks.example/T0/B0/s3cr3t"
    config = load_config(path, environ={"HOOK": hook})
    assert config.settings.webhook_url == hook
    assert "s3cr3t" not in repr(config)
    path.write_text(path.read_text().replace("${HOOK}", "${SEAM_WEBHOOK_SECRET}"))
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={"SEAM_WEBHOOK_SECRET": hook})
    (problem,) = caught.value.problems
    assert problem.path == "settings.webhook_url" and "may not be used" in problem.message
    assert "s3cr3t" not in str(caught.value)


def test_an_alias_cannot_copy_a_pin_into_a_name(cli: CliRunner, tmp_path: Path) -> None:
    path = _config(tmp_path, "- name: Bob\n  code: &pin ${BOB_PIN}\n- name: *pin\n")
    codes, seen = _every_output(cli, path, {"BOB_PIN": PIN})
    assert codes == [1] * 5
    assert PIN not in seen
    assert "devices.front.codes[1].name: *pin would copy a value read from the environment" in seen


def test_an_alias_may_copy_a_pin_into_another_pin(tmp_path: Path) -> None:
    path = tmp_path / "accesscodes.yaml"
    path.write_text(
        "version: 1\ndevices:\n"
        "  front:\n    device_id: august_front\n"
        "    codes: [&bob {name: Bob, code: &pin '${BOB_PIN}'}]\n"
        "  back:\n    device_id: august_back\n    codes: [*bob]\n"
        "  side:\n    device_id: august_side\n    codes: [{name: Bob, code: *pin}]\n"
        "  cellar:\n    device_id: august_cellar\n    codes: [{<<: *bob, protected: true}]\n"
    )
    config = load_config(path, environ={"BOB_PIN": PIN})
    assert [d.codes[0].code for d in config.devices] == [PIN] * 4


def test_a_key_may_not_read_a_secret(cli: CliRunner, tmp_path: Path) -> None:
    path = _config(tmp_path, "- name: Bob\n", top='"${SEAM_API_KEY}": 1\n')
    codes, seen = _every_output(cli, path, {"SEAM_API_KEY": API_KEY})
    assert codes == [1] * 5
    assert API_KEY not in seen
    assert "${SEAM_API_KEY} may not be used in the config" in seen


def test_dollar_dollar_is_still_a_dollar(tmp_path: Path) -> None:
    path = _config(tmp_path, '- name: "Costs $$5 ${X}"\n', top="variables: [X]\n")
    config = load_config(path, environ={"X": "a day"})
    assert config.devices[0].codes[0].name == "Costs $5 a day"


def test_both_parse_modes_judge_variables_alike() -> None:
    text = "a: ${ROOM}\nb: x-${SITE}\nvariables: [SITE]\nc: ${SEAM_API_KEY}\n"
    env = {"SITE": "Lakeview", "ROOM": "1", "SEAM_API_KEY": API_KEY}
    for complete in (False, True):
        with pytest.raises(YamlProblems) as caught:
            parse_document(text, "f.yaml", environ=env, complete=complete)
        assert [(p.line, p.path) for p in caught.value.problems] == [(1, "a"), (4, "c")]
        assert "${ROOM} is not declared" in caught.value.problems[0].message
        assert API_KEY not in str(caught.value)
    # SITE is used before its declaration: the fast parse reads the text again with it, and
    # completing positions later judges it the same way.
    good = text.replace("${SEAM_API_KEY}", "z").replace("${ROOM}", "y")
    fast = parse_document(good, "f.yaml", environ=env, complete=False)
    full = complete_positions(fast, env)
    assert full.data == fast.data and full.data["b"] == "x-Lakeview"
    assert full.values[("b",)].line == 2


def test_a_directory_shares_one_variables_list_even_when_completing_positions(
    tmp_path: Path,
) -> None:
    (tmp_path / "a.yaml").write_text(
        "version: 1\ndevices:\n  front:\n    device_id: august_front\n    codes:\n"
        "      - name: Guest ${SITE}\n        starts_at: 2026-12-04T11:00:00\n"
        "        ends_at: 2026-12-01T15:00:00\n"
    )
    (tmp_path / "b.yaml").write_text("version: 1\nvariables: [SITE]\n")
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path, environ={"SITE": "Lakeview"})
    # The rule problem needs the exact position of ends_at: a.yaml is read again, completely,
    # with b.yaml's declaration.
    (problem,) = caught.value.problems
    assert (problem.line, problem.path) == (8, "devices.front.codes[0].ends_at")
    (tmp_path / "c.yaml").write_text("version: 1\nvariables: [OTHER]\n")
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path, environ={"SITE": "Lakeview"})
    assert any("set in more than one file" in p.message for p in caught.value.problems)


# -- provider.endpoint ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("endpoint", "allow", "trusted"),
    [
        ("https://connect.getseam.com", "", True),
        ("https://connect.getseam.com/", "", True),
        ("https://eu.getseam.com:443", "", True),
        ("http://connect.getseam.com", "", False),
        ("http://127.0.0.1:18080", "", True),
        ("http://127.8.9.1", "", True),
        ("http://[::1]:8080", "", True),
        ("http://localhost:3000", "", True),
        ("https://evil.example", "", False),
        ("https://getseam.com.evil.example", "", False),
        ("https://connect.getseam.com@evil.example", "", False),
        ("https://evil.example\\@connect.getseam.com", "", False),
        ("https://evil.example#.getseam.com", "", False),
        ("http://0.0.0.0:18080", "", False),
        ("ftp://connect.getseam.com", "", False),
        ("https://evil.example", "EVIL.example, other", True),
        ("https://evil.example", "other", False),
    ],
)
def test_endpoint_hosts(endpoint: str, allow: str, trusted: bool) -> None:
    refusal = endpoint_refusal(endpoint, {"ACCESSCODES_ALLOW_ENDPOINT": allow})
    assert (refusal is None) == trusted, refusal


class _Recorder(BaseHTTPRequestHandler):
    """Answers every POST 400 and keeps the Authorization header it was sent."""

    seen: list[str] = []  # noqa: RUF012 - one list per server, set by the fixture

    def do_POST(self) -> None:
        self.seen.append(self.headers.get("Authorization", ""))
        body = json.dumps({"error": {"type": "invalid_input", "message": "no"}}).encode()
        self.send_response(400)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        return None


@pytest.fixture
def recorder() -> Iterator[tuple[int, list[str]]]:
    """An HTTP server on this machine that records the API keys sent to it."""
    handler = type("Handler", (_Recorder,), {"seen": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], handler.seen
    server.shutdown()
    server.server_close()


SEAM = "kind: seam\n  retries: 0\n  endpoint: {endpoint}"


def test_an_untrusted_endpoint_never_receives_the_key(
    cli: CliRunner, tmp_path: Path, recorder: tuple[int, list[str]]
) -> None:
    port, seen = recorder
    # 0.0.0.0 reaches this machine's listener, but is not a loopback address: not trusted.
    path = _config(
        tmp_path, "- name: Bob\n", provider=SEAM.format(endpoint=f"http://0.0.0.0:{port}")
    )
    env = {"SEAM_API_KEY": API_KEY}
    results = [cli("plan", "-c", str(path), "--now", NOW, env=env)]
    results.append(cli("validate", "-c", str(path), env=env))
    results.append(cli("apply", "-c", str(path), "--now", NOW, "--auto-approve", env=env))
    results.append(cli("import", "-c", str(path), "--out", "x.yaml", env=env))
    results.append(cli("controller", "-c", str(path), "--once", env=env))
    assert seen == []
    for result in results[:4]:
        assert result.code == 1
        assert f"{path}:5:13: provider.endpoint: host '0.0.0.0' is neither loopback" in result.err
        assert "ACCESSCODES_ALLOW_ENDPOINT" in result.err
    assert results[4].code != 0 and "provider.endpoint" in results[4].output
    allowed = cli(
        "plan", "-c", str(path), "--now", NOW, env={**env, "ACCESSCODES_ALLOW_ENDPOINT": "0.0.0.0"}
    )
    assert seen and seen[0] == f"Bearer {API_KEY}", allowed.output


def test_seam_endpoint_from_the_environment_is_trusted(
    cli: CliRunner, tmp_path: Path, recorder: tuple[int, list[str]]
) -> None:
    port, seen = recorder
    path = _config(tmp_path, "- name: Bob\n", provider="kind: seam\n  retries: 0")
    env = {"SEAM_API_KEY": API_KEY, "SEAM_ENDPOINT": f"http://0.0.0.0:{port}"}
    cli("plan", "-c", str(path), "--now", NOW, env=env)
    assert seen and set(seen) == {f"Bearer {API_KEY}"}


@pytest.mark.parametrize("endpoint", ["https://connect.getseam.com", "http://127.0.0.1:9"])
def test_a_trusted_endpoint_is_accepted(cli: CliRunner, tmp_path: Path, endpoint: str) -> None:
    path = _config(tmp_path, "- name: Bob\n", provider=SEAM.format(endpoint=endpoint))
    result = cli("validate", "-c", str(path), "--skip-devices", env={"SEAM_API_KEY": API_KEY})
    assert result.code == 0, result.output


def test_a_config_built_without_load_config_is_checked_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _config(tmp_path, "- name: Bob\n", provider=SEAM.format(endpoint="http://127.0.0.1:9"))
    config = load_config(path)
    evil = config.provider.model_copy(update={"endpoint": "https://evil.example"})
    monkeypatch.setenv("SEAM_API_KEY", API_KEY)
    with pytest.raises(ConfigError) as caught:
        make_provider(replace(config, provider=evil), clock=lambda: datetime.now(UTC))
    assert "provider.endpoint" in str(caught.value) and API_KEY not in str(caught.value)


# -- reprs ---------------------------------------------------------------------------------


def test_no_repr_shows_a_pin_a_key_or_a_webhook_url(tmp_path: Path) -> None:
    hook = "https://hooks.example/services/T0/B0/s3cr3tT0ken"
    shown = [
        repr(CodeConfig(name="Bob", code=PIN)),
        repr(SettingsConfig(webhook_url=hook)),
        repr(Settings(webhook_url=hook)),
        repr(SeamClient(api_key=API_KEY)),
    ]
    path = _config(
        tmp_path, f'- name: Bob\n  code: "{PIN}"\n', top=f"settings:\n  webhook_url: {hook}\n"
    )
    shown.append(repr(load_config(path)))
    for text in shown:
        assert PIN not in text and "s3cr3tT0ken" not in text and API_KEY not in text, text


def test_a_declared_variable_named_like_a_secret_still_cannot_reach_a_name(tmp_path: Path) -> None:
    """`variables:` is written by the pull request's author: declaring `BOB_PIN` there must not
    let a printed field show the PIN the plan job holds in its environment."""
    path = _config(tmp_path, '- name: "Bob ${BOB_PIN}"\n', top="variables: [BOB_PIN]\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={"BOB_PIN": "482913"})
    (problem,) = caught.value.problems
    assert problem.path.endswith(".name")
    assert "${BOB_PIN} holds a secret by its name" in problem.message
    assert "482913" not in str(caught.value)


def test_a_policy_file_outside_the_config_is_not_read(tmp_path: Path) -> None:
    """A pull request must not make the plan job read (and quote in a refusal) another file."""
    outside = tmp_path.parent / f"{tmp_path.name}-outside.yaml"
    outside.write_text("root:x:0:0: secret line\n", encoding="utf-8")
    folder = tmp_path / "config"
    folder.mkdir()
    path = _config(folder, '- name: "Ann"\n', top=f"settings: {{policies: [{outside}]}}\n")
    with pytest.raises(ConfigError, match="a policy file must be inside") as caught:
        load_config(path, environ={})
    assert "secret line" not in str(caught.value)
