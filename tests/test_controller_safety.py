"""The controller never makes one failure into many, and never exits on one (issue #14).

Each test drives a real `Controller` on the simulator's file (or a thin wrapper around the
simulator), with an injected clock and wait, so backoffs and retries are read off the waits the
loop asks for. A webhook receiver is a tiny http.server on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from reconciler.config.load import Config
from reconciler.controller.daemon import run_controller
from reconciler.controller.loop import Controller
from reconciler.controller.notices import Notices
from reconciler.core.errors import ActionPending
from reconciler.core.models import CodeSpec, Device, DeviceId, LiveCode
from reconciler.providers import make_provider
from reconciler.providers.base import Provider
from reconciler.providers.sim import SimProvider
from reconciler.providers.simtamper import tamper
from reconciler.state.lock import apply_lock

FLEET = {"august_front": {"profile": "august", "name": "Front door"}}


def write_config(
    folder: Path,
    codes: dict[str, str],
    *,
    fleet: dict[str, Any] | None = None,
    **settings: Any,
) -> Path:
    """One simulated August lock holding `codes` (name -> PIN), with `settings`."""
    folder.mkdir(parents=True, exist_ok=True)
    data = {
        "version": 1,
        "provider": {"kind": "sim", "fleet": fleet or FLEET},
        "settings": settings or {"self_heal": "restore"},
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


def sim_tamper(folder: Path, action: str, name: str | None = None, code: str | None = None) -> None:
    """What `accesscodes sim tamper` does, on the same file."""
    tamper(SimProvider(folder / ".accesscodes" / "sim.json"), action, "august_front", name, code)


def sim_codes(folder: Path) -> dict[str, str]:
    """Name -> PIN of the codes on the simulated lock."""
    state = json.loads((folder / ".accesscodes" / "sim.json").read_text())
    return {c["name"]: c["code"] for c in state["devices"]["august_front"]["codes"]}


class Loop:
    """A controller on a fake clock; its events and the waits it asked for."""

    def __init__(
        self,
        config: Path,
        *,
        interval: float = 600.0,
        on_wait: Callable[[Loop], None] | None = None,
        provider_factory: Callable[[Config, Callable[[], datetime]], Provider] | None = None,
    ) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0)
        self.events: list[dict[str, Any]] = []
        self.waits: list[float] = []
        self.ready: list[bool] = []
        self.on_wait = on_wait
        extra: dict[str, Any] = {}
        if provider_factory is not None:
            extra["provider_factory"] = provider_factory
        self.controller = Controller(
            config,
            interval=interval,
            clock=lambda: self.now,
            wait=self._wait,
            emit=self.events.append,
            jitter=0,
            **extra,
        )

    async def _wait(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.ready.append(self.controller.ready())
        self.now += timedelta(seconds=seconds)
        if self.on_wait is not None:
            self.on_wait(self)

    def step(self, *, advance: float = 0.0) -> list[dict[str, Any]]:
        """Move the clock on, run once, return the events of that run."""
        self.now += timedelta(seconds=advance)
        start = len(self.events)
        asyncio.run(self.controller.run(once=True))
        return self.events[start:]

    def loop(self) -> None:
        """Run the loop until `on_wait` stops the controller."""
        asyncio.run(self.controller.run())

    def named(self, event: str, events: Sequence[dict[str, Any]] | None = None) -> list[dict]:
        return [e for e in (self.events if events is None else events) if e["event"] == event]


@contextlib.contextmanager
def webhook(statuses: list[int]) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A receiver answering `statuses` in turn (the last one after that); its URL and posts."""
    received: list[dict[str, Any]] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            status = statuses[min(len(received), len(statuses)) - 1]
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook", received
    finally:
        server.shutdown()
        server.server_close()


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}/hook"


# -- 1. backoff once per run ----------------------------------------------------------------


def test_a_lock_with_three_failed_changes_backs_off_once_per_run(tmp_path: Path) -> None:
    config = write_config(tmp_path, {"Alice": "482913"})
    loop = Loop(config)
    loop.step()
    sim_tamper(tmp_path, "offline")
    write_config(tmp_path, {"Alice": "482913", "Bob": "736194", "Cara": "905172", "Dan": "318264"})
    failed = loop.named("change", loop.step())
    assert [e["result"] for e in failed] == ["failed"] * 3
    # one failed run: 30 s of backoff, not 30 s * 2^2 for its three failed changes
    assert len(loop.named("change", loop.step(advance=31))) == 3
    # the second failed run doubles it once: 60 s
    assert loop.named("change", loop.step(advance=31)) == []
    assert len(loop.named("change", loop.step(advance=30))) == 3


def test_a_clean_run_resets_a_locks_backoff(tmp_path: Path) -> None:
    config = write_config(tmp_path, {"Alice": "482913"})
    loop = Loop(config)
    loop.step()
    sim_tamper(tmp_path, "offline")
    write_config(tmp_path, {"Alice": "482913", "Bob": "736194"})
    loop.step()
    loop.step(advance=31)  # failed twice: 60 s now
    sim_tamper(tmp_path, "online")
    assert [e["result"] for e in loop.named("change", loop.step(advance=61))] == ["ok"]
    sim_tamper(tmp_path, "offline")
    write_config(tmp_path, {"Alice": "482913", "Bob": "736194", "Cara": "905172"})
    loop.step()
    assert len(loop.named("change", loop.step(advance=31))) == 1  # 30 s again, not 120 s


class PendingUpdates:
    """The simulator, answering every update as Seam does when its action is still running:
    the update is made, the answer says it is pending."""

    def __init__(self, inner: Provider) -> None:
        self.inner = inner
        self.kind = inner.kind

    async def update_code(self, code: LiveCode, spec: CodeSpec) -> None:
        await self.inner.update_code(code, spec)
        raise ActionPending("the update is still in progress at the provider")

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_a_pending_change_does_not_back_its_lock_off(tmp_path: Path) -> None:
    config = write_config(tmp_path, {"Alice": "482913"})
    loop = Loop(
        config,
        provider_factory=lambda cfg, clock: PendingUpdates(make_provider(cfg, clock=clock)),
    )
    loop.step()
    sim_tamper(tmp_path, "change-pin", "Alice", "905172")
    assert [e["result"] for e in loop.named("change", loop.step())] == ["pending"]
    write_config(tmp_path, {"Alice": "482913", "Bob": "736194"})
    created = loop.named("change", loop.step(advance=1))  # no 30 s wait for a pending change
    assert [(e["action"], e["result"]) for e in created] == [("create", "ok")]
    assert sim_codes(tmp_path) == {"Alice": "482913", "Bob": "736194"}


# -- 2. errors are counted and backed off, the loop goes on ---------------------------------


def test_an_error_from_the_journal_backs_off_and_the_loop_goes_on(tmp_path: Path) -> None:
    config = write_config(
        tmp_path, {"Alice": "482913"}, self_heal="restore", state_db="blocked/state.db"
    )
    (tmp_path / "blocked").write_text("a file where the journal's folder should be\n")

    def on_wait(loop: Loop) -> None:
        if len(loop.waits) == 3:
            (tmp_path / "blocked").unlink()
        if len(loop.waits) == 4:
            loop.controller.stop()

    loop = Loop(config, interval=600, on_wait=on_wait)
    loop.loop()
    assert loop.waits == [30, 60, 120, 600]  # doubling from 30 s, the interval once it works
    assert loop.ready == [False, False, False, True]
    errors = loop.named("reconcile_error")
    assert [e["kind"] for e in errors] == ["FileExistsError"] * 3
    assert 'accesscodes_reconcile_errors_total{kind="FileExistsError"} 3' in (
        loop.controller.metrics.render()
    )
    assert sim_codes(tmp_path) == {"Alice": "482913"}


def test_the_error_backoff_stops_at_the_interval(tmp_path: Path) -> None:
    config = write_config(tmp_path, {"Alice": "482913"}, state_db="blocked/state.db")
    (tmp_path / "blocked").write_text("not a folder\n")

    def on_wait(loop: Loop) -> None:
        if len(loop.waits) == 4:
            loop.controller.stop()

    loop = Loop(config, interval=100, on_wait=on_wait)
    loop.loop()
    assert loop.waits == [30, 60, 100, 100]


class BuggyOnce:
    """The simulator, whose first read fails with an unexpected error naming a PIN."""

    def __init__(self, inner: Provider) -> None:
        self.inner = inner
        self.kind = inner.kind
        self.failed = False

    async def list_devices(self, device_ids: Sequence[DeviceId]) -> list[Device]:
        if not self.failed:
            self.failed = True
            raise KeyError("lost track of code 482913 on august_front")
        return await self.inner.list_devices(device_ids)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_an_unexpected_error_is_logged_without_its_pin_and_the_next_run_heals(
    tmp_path: Path,
) -> None:
    config = write_config(tmp_path, {"Alice": "482913"})

    def on_wait(loop: Loop) -> None:
        if len(loop.waits) == 2:
            loop.controller.stop()

    loop = Loop(
        config,
        on_wait=on_wait,
        provider_factory=lambda cfg, clock: BuggyOnce(make_provider(cfg, clock=clock)),
    )
    loop.loop()
    (error,) = loop.named("reconcile_error")
    assert error["kind"] == "KeyError" and "****" in error["message"]
    assert "482913" not in json.dumps(loop.events)
    assert loop.waits == [30, 600]
    assert sim_codes(tmp_path) == {"Alice": "482913"}


# -- 3. notices are kept until a 2xx -----------------------------------------------------------


def drifted(tmp_path: Path, url: str) -> Loop:
    """A lock whose code was changed on the keypad, and a report-only controller."""
    config = write_config(tmp_path, {"Alice": "482913"})
    loop = Loop(config)
    loop.step()
    write_config(tmp_path, {"Alice": "482913"}, self_heal="report", webhook_url=url)
    sim_tamper(tmp_path, "change-pin", "Alice", "905172")
    return loop


def test_a_notice_the_webhook_answers_500_to_is_sent_again_at_the_next_run(
    tmp_path: Path,
) -> None:
    with webhook([500, 204]) as (url, received):
        loop = drifted(tmp_path, url)
        assert loop.named("webhook", loop.step())[0]["status"] == 500
        loop.step(advance=600)  # the drift is not new, but the unsent notice is
        loop.step(advance=600)  # sent: nothing more
    assert len(received) == 2
    assert received[0] == received[1]
    assert "modified_externally" in received[1]["text"] and "Alice" in received[1]["text"]
    assert "905172" not in json.dumps(received) and "482913" not in json.dumps(received)


def test_a_notice_whose_post_fails_is_sent_at_the_next_run(tmp_path: Path) -> None:
    loop = drifted(tmp_path, closed_port_url())
    assert loop.named("webhook_failed", loop.step())
    with webhook([200]) as (url, received):
        write_config(tmp_path, {"Alice": "482913"}, self_heal="report", webhook_url=url)
        loop.step(advance=600)
    (message,) = received
    assert "modified_externally" in message["text"]


def test_notices_are_bounded_and_say_how_many_were_dropped() -> None:
    notices = Notices(limit=100)
    for n in range(105):
        notices.add(f"notice {n}")
    with webhook([200]) as (url, received):
        event, fields = asyncio.run(notices.send(url))
    assert event == "webhook" and fields["status"] == 200
    (message,) = received
    assert message["events"] == [f"notice {n}" for n in range(5, 105)]
    assert "5 older notices were dropped" in message["text"]
    assert len(notices) == 0


# -- 4. plan inside the apply lock -------------------------------------------------------------


def test_the_controller_plans_inside_the_apply_lock_and_retries_soon(tmp_path: Path) -> None:
    config = write_config(tmp_path, {"Alice": "482913"})
    holder = contextlib.ExitStack()

    def on_wait(loop: Loop) -> None:
        holder.close()  # the other apply finishes
        if len(loop.waits) == 3:
            loop.controller.stop()

    loop = Loop(config, interval=600, on_wait=on_wait)
    loop.step()
    sim_tamper(tmp_path, "remove", "Alice")
    holder.enter_context(apply_lock(tmp_path / ".accesscodes", wait=0))
    loop.events.clear()
    loop.loop()
    first_run = loop.events[: loop.events.index(loop.named("reconciled")[0]) + 1]
    (skipped,) = loop.named("skipped", first_run)
    assert "pid" in skipped["reason"]
    assert not loop.named("drift", first_run)  # nothing read while another apply writes
    assert not loop.named("change", first_run)
    assert loop.waits[0] == 30  # not the 600 s interval
    assert [e["result"] for e in loop.named("change")] == ["ok"]
    assert sim_codes(tmp_path) == {"Alice": "482913"}


# -- 5. one provider for the process -----------------------------------------------------------


class Counted:
    """Builds simulator providers and counts builds and closes."""

    def __init__(self) -> None:
        self.built = 0
        self.closed = 0

    def __call__(self, config: Config, clock: Callable[[], datetime]) -> Provider:
        self.built += 1
        inner = make_provider(config, clock=clock)
        counter = self

        class Closing(BuggyOnce):
            async def aclose(self) -> None:
                counter.closed += 1
                await inner.aclose()

        provider = Closing(inner)
        provider.failed = True
        return provider


def test_one_provider_serves_every_run_until_its_config_changes(tmp_path: Path) -> None:
    factory = Counted()
    config = write_config(tmp_path, {"Alice": "482913"})
    loop = Loop(config, provider_factory=factory)
    loop.step()
    loop.step(advance=600)
    write_config(tmp_path, {"Alice": "482913", "Bob": "736194"})  # codes: same provider
    loop.step(advance=600)
    assert (factory.built, factory.closed) == (1, 0)
    renamed = {"august_front": {"profile": "august", "name": "Front"}}
    write_config(tmp_path, {"Alice": "482913", "Bob": "736194"}, fleet=renamed)
    loop.step(advance=600)
    assert (factory.built, factory.closed) == (2, 1)
    write_config(tmp_path, {"Alice": "482913", "Bob": "736194"}, fleet=renamed, concurrency=4)
    loop.step(advance=600)
    assert (factory.built, factory.closed) == (3, 2)
    asyncio.run(loop.controller.aclose())
    assert (factory.built, factory.closed) == (3, 3)
    assert sim_codes(tmp_path) == {"Alice": "482913", "Bob": "736194"}


def test_the_daemon_closes_its_provider_when_it_stops(tmp_path: Path) -> None:
    factory = Counted()
    config = write_config(tmp_path, {"Alice": "482913"})
    code = asyncio.run(
        run_controller(config, interval=600, listen=None, once=True, provider_factory=factory)
    )
    assert code == 0
    assert (factory.built, factory.closed) == (1, 1)


# -- 6. self_heal full meets the delete guard --------------------------------------------------

GUESTS = {"Ann": "736194", "Ben": "905172", "Cy": "318264"}


@pytest.mark.parametrize(("max_deletes", "deleted"), [(2, []), (3, sorted(GUESTS))])
def test_full_self_heal_deletes_within_max_deletes_only(
    tmp_path: Path, max_deletes: int, deleted: list[str]
) -> None:
    config = write_config(tmp_path, {"Alice": "482913", **GUESTS})
    loop = Loop(config)
    loop.step()
    write_config(
        tmp_path,
        {"Alice": "482913", "Dora": "640251"},
        self_heal="full",
        max_deletes=max_deletes,
    )
    sim_tamper(tmp_path, "change-pin", "Alice", "271828")
    events = loop.step()
    changes = {(e["action"], e["name"]): e["result"] for e in loop.named("change", events)}
    assert changes.pop(("create", "Dora")) == "ok"
    assert changes.pop(("update", "Alice")) == "ok"
    assert changes == {("delete", name): "ok" for name in deleted}
    guards = loop.named("guard", events)
    assert bool(guards) == (not deleted)
    if guards:
        assert "more than settings.max_deletes (2)" in guards[0]["reasons"][0]
    left = {name for name in GUESTS if name not in deleted}
    assert sim_codes(tmp_path) == {"Alice": "482913", "Dora": "640251"} | {
        name: GUESTS[name] for name in left
    }
