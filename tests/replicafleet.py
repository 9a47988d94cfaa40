"""A fleet for the replica tests: Seam's fake with N locks, a config naming them, and
controller replicas as real processes on one PostgreSQL, each behind its own counting proxy
so the requests of each replica can be told apart (`writes`).

    fleet = Fleet(tmp_path, fake, pg_url, locks=40)
    a, b = fleet.replica(), fleet.replica()
    fleet.wait(lambda: fleet.pins_on_locks() == fleet.wanted())
    a.kill(); fleet.set_pins(offset=1)
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from controllerproc import free_port
from seamfake import SeamFake
from seamproxy import Rule, SeamProxy, passthrough

WRITES = ("/access_codes/create", "/access_codes/update", "/access_codes/delete")
JOURNAL_KEY = "k" * 48
HELD = re.compile(r'^accesscodes_device_held\{device_id="([^"]+)"\} 1\.0$', re.M)


def lock_devices(count: int) -> list[dict[str, Any]]:
    """`count` August locks for the fake (6-digit PINs, any digits)."""
    return [
        {
            "device_id": f"lock_{i:03d}",
            "device_type": "august_lock",
            "name": f"Lock {i:03d}",
            "properties": {"manufacturer": "august", "supported_code_lengths": [6]},
            "location": {"time_zone": "Europe/London"},
        }
        for i in range(count)
    ]


class Replica:
    """`accesscodes controller` on the shared state, its JSON events read in a thread."""

    def __init__(
        self, fleet: Fleet, proxy: SeamProxy, config: Path, *, interval: str, args: list[str]
    ) -> None:
        self.proxy = proxy
        self.config = config
        self.port = free_port()
        env = {
            **os.environ,
            **fleet.fake.env,
            "SEAM_ENDPOINT": proxy.url,
            "ACCESSCODES_STATE": fleet.url,
            "ACCESSCODES_JOURNAL_KEY": JOURNAL_KEY,
            "PYTHONUNBUFFERED": "1",
            **fleet.env,
        }
        self.proc = subprocess.Popen(
            [
                sys.executable, "-m", "reconciler", "controller", "-c", str(config),
                "--interval", interval, "--lease", fleet.lease,
                "--listen", f"127.0.0.1:{self.port}", *args,
            ],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
            env=env,
        )  # fmt: skip
        self.events: list[dict[str, Any]] = []
        self._lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with contextlib.suppress(ValueError):
                self.events.append(json.loads(line))

    def named(self, event: str) -> list[dict[str, Any]]:
        """The events of this kind logged so far."""
        return [e for e in list(self.events) if e.get("event") == event]

    def held(self) -> set[str] | None:
        """The devices this replica says it holds (/metrics), None if it does not answer."""
        try:
            url = f"http://127.0.0.1:{self.port}/metrics"
            with urllib.request.urlopen(url, timeout=2) as answer:
                return set(HELD.findall(answer.read().decode()))
        except OSError:
            return None

    def ready(self) -> int:
        """/readyz's status code (0: no answer)."""
        return self.readyz()[0]

    def readyz(self) -> tuple[int, str]:
        """/readyz's status code (0: no answer) and text."""
        try:
            url = f"http://127.0.0.1:{self.port}/readyz"
            with urllib.request.urlopen(url, timeout=2) as answer:
                return int(answer.status), answer.read().decode()
        except urllib.error.HTTPError as err:
            return int(err.code), err.read().decode()
        except OSError:
            return 0, ""

    def writes(self) -> int:
        """Write requests this replica sent so far."""
        return sum(1 for path, _ in list(self.proxy.bodies) if path in WRITES)

    def signal(self, sig: signal.Signals) -> None:
        """Send a signal (SIGKILL, SIGSTOP, SIGCONT, SIGTERM)."""
        self.proc.send_signal(sig)

    def stop(self) -> None:
        """SIGTERM and wait; SIGKILL if it does not end."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Fleet:
    """Seam's fake with `locks` locks, one code each, and the replicas started on them."""

    def __init__(self, folder: Path, fake: SeamFake, url: str, *, lease: str = "4s") -> None:
        self.fake = fake
        self.url = url
        self.lease = lease
        self.config = folder / "accesscodes.yaml"
        self.devices = [d for d in fake.device_ids if d.startswith("lock_")]
        self.replicas: list[Replica] = []
        self.proxies: list[SeamProxy] = []
        self.offset = 0
        self.env: dict[str, str] = {}  # more for the replicas started from now on
        self.set_pins(0)

    def wanted(self) -> dict[str, str]:
        """Each lock's PIN as the config says now."""
        return {d: f"{(310000 + i * 7919 + self.offset * 101) % 900000 + 100000}"
                for i, d in enumerate(self.devices)}  # fmt: skip

    def set_pins(self, offset: int, config: Path | None = None) -> None:
        """Write the config (or another replica's copy) with every PIN moved by `offset`."""
        if config is not None:
            config.write_text(self._text(offset))
            return
        self.offset = offset
        self.config.write_text(self._text(offset))

    def set_codeless(self) -> None:
        """Write the config with its locks and no code on them (nothing to do yet)."""
        text = self._text(self.offset)
        self.config.write_text(
            "\n".join(
                "    codes: []" if line.startswith("    codes: [{") else line
                for line in text.splitlines()
            )
            + "\n"
        )

    def _text(self, offset: int) -> str:
        saved, self.offset = self.offset, offset
        try:
            wanted = self.wanted()
        finally:
            self.offset = saved
        lines = [
            "version: 1",
            "provider: {kind: seam, retries: 0}",
            "settings: {concurrency: 1}  # one lock at a time: a run can be caught halfway",
            "devices:",
        ]
        for device_id, pin in wanted.items():
            lines += [
                f"  {device_id}:",
                f"    device_id: {device_id}",
                f'    codes: [{{name: "Resident {device_id}", code: "{pin}"}}]',
            ]
        return "\n".join(lines) + "\n"

    def replica(
        self,
        config: Path | None = None,
        rule: Rule = passthrough,
        *,
        interval: str = "3s",
        args: tuple[str, ...] = (),
    ) -> Replica:
        """Start one more replica, behind a proxy of its own (on a config of its own, a copy
        the test can change behind the others' backs)."""
        if config is not None:
            config.write_text(self.config.read_text())
        proxy = SeamProxy(self.fake.url, rule)
        self.proxies.append(proxy)
        replica = Replica(self, proxy, config or self.config, interval=interval, args=[*args])
        self.replicas.append(replica)
        return replica

    def pins_on_locks(self) -> dict[str, str]:
        """Each lock's managed PIN on the fake right now."""
        found = {}
        for device_id in self.devices:
            codes = self.fake.list_codes(device_id, managed=True)
            found[device_id] = ",".join(sorted(str(c.get("code")) for c in codes))
        return found

    def write_counts(self) -> Counter[tuple[str, str]]:
        """(route, device) -> requests, over every replica's proxy."""
        counts: Counter[tuple[str, str]] = Counter()
        for proxy in self.proxies:
            for path, body in list(proxy.bodies):
                if path in WRITES:
                    counts[(path, self.device_of(body))] += 1
        return counts

    def device_of(self, body: bytes) -> str:
        data = json.loads(body or b"{}")
        if "device_id" in data:
            return str(data["device_id"])
        code = self.fake.post("access_codes/get", {"access_code_id": data["access_code_id"]})
        return str(code.json["access_code"]["device_id"]) if code.ok else "?"

    def close(self) -> None:
        """Stop every replica and proxy."""
        for replica in self.replicas:
            replica.stop()
        for proxy in self.proxies:
            proxy.close()


def wait_until(check: Callable[[], bool], timeout: float, every: float = 0.5) -> float:
    """Seconds until `check()` held; AssertionError after `timeout`."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if check():
            return time.monotonic() - started
        time.sleep(every)
    raise AssertionError(f"not within {timeout} s")
