"""A loopback HTTP proxy in front of Seam's fake that can lose, stall or rewrite answers.

    from seamproxy import SeamProxy

    def lose_first_create(path, nth, forward):
        if path == "/access_codes/create" and nth == 1:
            forward()            # the fake makes the code...
            return 502, b""      # ...and the answer is lost on the way back
        return forward()

    with SeamFake() as fake, SeamProxy(fake.url, lose_first_create) as proxy:
        ...                      # point the client at proxy.url
        proxy.seen["/access_codes/create"], proxy.forwarded["/access_codes/create"]

A rule gets the request's path, how many requests of that path came so far (1-based) and
`forward()`, which sends the request on to the fake and returns (status, body). It returns the
(status, body) to answer. Stdlib only, like seamfake.py.
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Answer = tuple[int, bytes]
Rule = Callable[[str, int, Callable[[], Answer]], Answer]


def passthrough(path: str, nth: int, forward: Callable[[], Answer]) -> Answer:
    """The rule that changes nothing."""
    return forward()


def seam_error(status: int, kind: str, message: str) -> Answer:
    """A Seam error answer, as the API shapes it."""
    body = {"ok": False, "error": {"type": kind, "message": message}}
    return status, json.dumps(body).encode()


class SeamProxy:
    """Forwards every POST to `upstream` through `rule`; counts what it saw and forwarded."""

    def __init__(self, upstream: str, rule: Rule = passthrough) -> None:
        self.rule = rule
        self.seen: Counter[str] = Counter()
        self.forwarded: Counter[str] = Counter()
        self.log: list[str] = []
        self.bodies: list[tuple[str, bytes]] = []  # every request's path and body, in order
        self._lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
                path = self.path
                with outer._lock:
                    outer.seen[path] += 1
                    outer.log.append(path)
                    outer.bodies.append((path, body))
                    nth = outer.seen[path]

                def forward() -> Answer:
                    with outer._lock:
                        outer.forwarded[path] += 1
                    request = urllib.request.Request(
                        upstream + path, data=body, method="POST", headers=headers
                    )
                    try:
                        with urllib.request.urlopen(request, timeout=10) as answer:
                            return answer.status, answer.read()
                    except urllib.error.HTTPError as err:
                        return err.code, err.read()

                status, payload = outer.rule(path, nth, forward)
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:  # the client gave up (a timeout the test asked for)
                    pass

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop serving."""
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> SeamProxy:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()
