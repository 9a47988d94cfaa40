"""The controller's endpoints over real HTTP: /metrics (prometheus_client, parsed back with its
own parser), /healthz, /readyz, 404 and 405, HEAD; one registry per controller; aiohttp only
when something listens."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from conftest import CliRunner
from controllerproc import Running, reconciled
from prometheus_client.parser import text_string_to_metric_families

from reconciler.controller.endpoints import NOT_READY, make_app, start
from reconciler.controller.loop import Controller
from reconciler.controller.metrics import Metrics

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def samples(page: str) -> Samples:
    """Every sample of a /metrics page: (name, labels) -> value."""
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(page)
        for s in family.samples
    }


def value(page: Samples, name: str, **labels: str) -> float | None:
    """One sample's value, None when the page has no such series."""
    return page.get((name, frozenset(labels.items())))


def names(page: Samples) -> set[str]:
    """The sample names on a page."""
    return {name for name, _ in page}


def nth_run(n: int) -> Callable[[dict[str, Any]], bool]:
    """Accepts the end of the n-th run (`Running.wait_for` reads the events from the start)."""
    ends: list[dict[str, Any]] = []

    def predicate(event: dict[str, Any]) -> bool:
        if reconciled(event):
            ends.append(event)
        return len(ends) == n

    return predicate


def write_config(folder: Path, codes: dict[str, str]) -> Path:
    """One simulated lock holding `codes` (name -> PIN), healed by the controller."""
    folder.mkdir(parents=True, exist_ok=True)
    data = {
        "version": 1,
        "provider": {"kind": "sim", "fleet": {"august_front": {"profile": "august"}}},
        "settings": {"self_heal": "restore"},
        "devices": {
            "front-door": {
                "device_id": "august_front",
                "codes": [{"name": name, "code": pin} for name, pin in codes.items()],
            }
        },
    }
    path = folder / "accesscodes.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


# -- /metrics of a running controller ---------------------------------------------------------


def test_metrics_show_the_drift_a_run_found_and_healed_then_none_and_the_process(
    cli: CliRunner, tmp_path: Path
) -> None:
    config = write_config(tmp_path, {"Alice": "482913", "Bob": "736194"})
    assert cli("apply", "-c", str(config), "--auto-approve").code == 0
    cli(
        "sim",
        "tamper",
        "-c",
        str(config),
        "change-pin",
        "august_front",
        "Alice",
        "--code",
        "905172",
    )
    running = Running(config, interval="10m")  # no run but the first and the one SIGHUP asks
    try:
        running.wait_for(reconciled)
        status, page = running.get("/metrics")
        assert status == 200
        first = samples(page)
        running.poke()
        running.wait_for(nth_run(2))
        second = samples(running.get("/metrics")[1])
    finally:
        assert running.stop() == 0
    assert value(first, "accesscodes_drift", kind="modified_externally") == 1
    assert value(first, "accesscodes_changes_total", action="update", result="ok") == 1
    assert value(first, "accesscodes_reconcile_total", result="ok") == 1
    assert value(first, "accesscodes_reconcile_duration_seconds_count") == 1
    assert value(first, "accesscodes_device_in_sync", device="front-door") == 0
    assert value(first, "accesscodes_device_healthy", device="front-door", health="healthy") == 1
    assert value(first, "accesscodes_notices_pending") == 0  # no webhook: nobody to tell
    assert value(first, "accesscodes_codes_managed") == 2
    last_success = value(first, "accesscodes_last_success_timestamp_seconds")
    assert last_success is not None and abs(last_success - time.time()) < 120
    # the second run: the drift is gone from the page, not left at its old value
    assert not {n for n in names(second) if n.startswith("accesscodes_drift")}
    assert value(second, "accesscodes_device_in_sync", device="front-door") == 1
    assert value(second, "accesscodes_reconcile_total", result="ok") == 2
    assert value(second, "accesscodes_reconcile_duration_seconds_count") == 2
    assert value(second, "accesscodes_changes_total", action="update", result="ok") == 1
    # the process' own metrics, on the same registry
    assert (value(first, "process_resident_memory_bytes") or 0) > 1_000_000
    assert {"process_cpu_seconds_total", "process_open_fds", "python_info"} <= names(first)
    assert "python_gc_collections_total" in names(first)


def test_an_invalid_config_makes_readyz_503_and_counts_the_error(tmp_path: Path) -> None:
    config = tmp_path / "accesscodes.yaml"
    config.write_text("version: 1\nprovider: {kind: sim}\ndevices: {door: {codes: nope}}\n")
    running = Running(config, interval="10m")
    try:
        running.wait_for(lambda e: e["event"] == "config_invalid")
        running.wait_for(reconciled)
        assert running.get("/readyz") == (503, NOT_READY)
        assert running.get("/healthz") == (200, "ok\n")
        page = samples(running.get("/metrics")[1])
    finally:
        assert running.stop() == 0
    assert value(page, "accesscodes_reconcile_total", result="config_error") == 1
    assert value(page, "accesscodes_reconcile_errors_total", kind="ConfigError") == 1
    assert value(page, "accesscodes_last_success_timestamp_seconds") is None


# -- the app in this process, on a fake clock -------------------------------------------------


class Clock:
    """A clock the test moves."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now


def controller_on(config: Path, clock: Clock) -> Controller:
    """A controller on the fake clock, its events dropped."""
    return Controller(config, interval=600, clock=clock, emit=lambda record: None, jitter=0)


@asynccontextmanager
async def served(controller: Controller) -> AsyncIterator[httpx.AsyncClient]:
    """The controller's app on a free port of 127.0.0.1, and a client pointed at it."""
    runner = await start(make_app(controller), "127.0.0.1", 0)
    port = runner.addresses[0][1]
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            yield client
    finally:
        await runner.cleanup()


def test_readyz_follows_the_last_run_and_its_age(tmp_path: Path) -> None:
    clock = Clock()
    controller = controller_on(write_config(tmp_path, {"Alice": "482913"}), clock)

    async def scenario() -> list[tuple[int, str]]:
        seen = []
        async with served(controller) as client:
            for step in ("before", "run", "late"):
                if step == "run":
                    await controller.run_once()
                if step == "late":
                    clock.now += timedelta(seconds=3 * 600 + 2)  # three intervals and more
                response = await client.get("/readyz")
                seen.append((response.status_code, response.text))
            assert (await client.get("/healthz")).text == "ok\n"
        await controller.aclose()
        return seen

    assert asyncio.run(scenario()) == [(503, NOT_READY), (200, "ready\n"), (503, NOT_READY)]


def test_unknown_paths_are_404_wrong_methods_405_and_head_answers(tmp_path: Path) -> None:
    controller = controller_on(write_config(tmp_path, {"Alice": "482913"}), Clock())

    async def scenario() -> dict[str, httpx.Response]:
        async with served(controller) as client:
            return {
                "missing": await client.get("/nope"),
                "post": await client.post("/metrics", content=b"x"),
                "head": await client.head("/metrics"),
                "get": await client.get("/metrics"),
                "query": await client.get("/healthz?verbose=1"),
            }

    answers = asyncio.run(scenario())
    assert (answers["missing"].status_code, answers["missing"].text) == (404, "not found\n")
    post = answers["post"]
    assert (post.status_code, post.text) == (405, "method not allowed\n")
    assert set(post.headers["allow"].split(",")) == {"GET", "HEAD"}
    head, get = answers["head"], answers["get"]
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-type"] == get.headers["content-type"]
    assert get.headers["content-type"].startswith("text/plain; version=")
    described = {f.name: f.type for f in text_string_to_metric_families(get.text)}
    assert described["accesscodes_reconcile"] == "counter"  # the page parses, before any run
    assert (answers["query"].status_code, answers["query"].text) == (200, "ok\n")


def test_two_controllers_in_one_process_count_apart(tmp_path: Path) -> None:
    clock = Clock()
    first = controller_on(write_config(tmp_path / "one", {"Alice": "482913"}), clock)
    second = controller_on(write_config(tmp_path / "two", {"Bob": "736194"}), clock)
    assert first.metrics.registry is not second.metrics.registry

    async def scenario() -> tuple[Samples, Samples]:
        async with served(first) as one, served(second) as two:
            await first.run_once()
            await first.run_once()
            await second.run_once()
            pages = (
                samples((await one.get("/metrics")).text),
                samples((await two.get("/metrics")).text),
            )
        await first.aclose()
        await second.aclose()
        return pages

    one, two = asyncio.run(scenario())
    assert value(one, "accesscodes_reconcile_total", result="ok") == 2
    assert value(two, "accesscodes_reconcile_total", result="ok") == 1
    assert value(one, "accesscodes_changes_total", action="create", result="ok") == 1
    assert value(two, "accesscodes_changes_total", action="create", result="ok") == 1
    assert "process_cpu_seconds_total" in names(one) and "process_cpu_seconds_total" in names(two)


# -- what dashboards read, and what is imported when -------------------------------------------


def test_the_metric_families_dashboards_read(snapshot: Any) -> None:
    """Every accesscodes_ family, its type and help: a rename breaks a dashboard."""
    metrics = Metrics()
    metrics.last_success = datetime.now(UTC)  # its gauge is there only after a good run
    page = metrics.render()
    described = [
        line
        for line in page.splitlines()
        if line.startswith(("# HELP accesscodes_", "# TYPE accesscodes_"))
    ]
    assert described == snapshot


@pytest.mark.parametrize(
    ("args", "loaded"),
    [
        (["--help"], set()),
        (["controller", "--help"], set()),
        (["controller", "-c", "{config}", "--once"], {"prometheus_client"}),
        (
            ["controller", "-c", "{config}", "--once", "--listen", "127.0.0.1:0"],
            {"prometheus_client", "aiohttp"},
        ),
    ],
)
def test_aiohttp_is_imported_only_to_listen(
    tmp_path: Path, args: list[str], loaded: set[str]
) -> None:
    config = write_config(tmp_path, {"Alice": "482913"})
    probe = (
        "import runpy, sys\n"
        "sys.argv = ['accesscodes', *sys.argv[1:]]\n"
        "try:\n"
        "    runpy.run_module('reconciler', run_name='__main__')\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(sorted({m for m in ('aiohttp', 'prometheus_client') if m in sys.modules}),"
        " file=sys.stderr)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe, *(a.format(config=config) for a in args)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stderr.splitlines()[-1] == str(sorted(loaded)), result.stderr
