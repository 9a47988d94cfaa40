"""`accesscodes controller` as a real subprocess for the tests: its JSON events, its endpoints."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Running:
    """`accesscodes controller` as a real subprocess, its JSON log read line by line."""

    def __init__(
        self,
        config: Path,
        *,
        env: dict[str, str] | None = None,
        interval: str = "1s",
        listen_host: str = "127.0.0.1",
    ) -> None:
        self.port = free_port()
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "reconciler",
                "controller",
                "-c",
                str(config),
                "--interval",
                interval,
                "--listen",
                f"{listen_host}:{self.port}",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
            env={**os.environ, **(env or {}), "PYTHONUNBUFFERED": "1"},
        )
        self.events: list[dict] = []

    def wait_for(self, predicate, timeout: float = 15.0, *, after: int = 0) -> dict:
        """The first event, seen or still to come, that `predicate` accepts; `after`: only
        among those printed after the first `after` events (`len(self.events)` at a step)."""
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        for event in self.events[after:]:
            if predicate(event):
                return event
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            event = json.loads(line)
            self.events.append(event)
            if predicate(event):
                return event
        raise AssertionError(f"no such event; saw {[e['event'] for e in self.events]}")

    def get(
        self, path: str, *, headers: dict[str, str] | None = None, host: str = "127.0.0.1"
    ) -> tuple[int, str]:
        """GET an endpoint: (status, body)."""
        request = urllib.request.Request(f"http://{host}:{self.port}{path}", headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=5) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as err:
            return err.code, err.read().decode()

    def poke(self) -> None:
        """SIGHUP: run again now."""
        self.proc.send_signal(signal.SIGHUP)

    def stop(self) -> int:
        """SIGTERM, then the exit code."""
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=20)


def reconciled(event: dict) -> bool:
    """A run's last event."""
    return event["event"] == "reconciled"
