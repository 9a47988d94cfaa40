"""A calendar feed on loopback for tests: real HTTP, with the ways real feeds misbehave.

    with FeedServer() as feeds:
        feeds.serve("/airbnb.ics?s=TOKEN", body)      # 200 with an ETag; 304 when unchanged
        feeds.fail("/airbnb.ics?s=TOKEN", 500)        # or: feeds.hang(...), feeds.serve(.., b"")
        feeds.url("/airbnb.ics?s=TOKEN")

Each answer is what the test set last; `requests` records what clients asked (the path and
their If-None-Match), so a test can check that an unchanged feed cost a 304.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class _Answer:
    status: int = 200
    body: bytes = b""
    content_type: str = "text/calendar; charset=utf-8"
    delay: float = 0.0


@dataclass
class FeedServer:
    """A threaded HTTP server on 127.0.0.1 serving the answers a test sets, by path."""

    answers: dict[str, _Answer] = field(default_factory=dict)
    requests: list[tuple[str, str | None]] = field(default_factory=list)

    def __post_init__(self) -> None:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests.append((self.path, self.headers.get("If-None-Match")))
                answer = server.answers.get(self.path, _Answer(404, b"not found", "text/plain"))
                if answer.delay:
                    time.sleep(answer.delay)
                etag = '"' + hashlib.sha256(answer.body).hexdigest()[:16] + '"'
                if answer.status == 200 and self.headers.get("If-None-Match") == etag:
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.end_headers()
                    return
                self.send_response(answer.status)
                self.send_header("Content-Type", answer.content_type)
                self.send_header("Content-Length", str(len(answer.body)))
                if answer.status == 200:
                    self.send_header("ETag", etag)
                self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(answer.body)

            def log_message(self, *args: Any) -> None:
                pass

        self._http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._http.daemon_threads = True
        self._thread = threading.Thread(target=self._http.serve_forever, daemon=True)

    def __enter__(self) -> FeedServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.shutdown()
        self._http.server_close()

    def url(self, path: str) -> str:
        """The feed's address, as a config's `ical:` writes it."""
        return f"http://127.0.0.1:{self._http.server_address[1]}{path}"

    def serve(self, path: str, body: bytes, content_type: str = "text/calendar") -> None:
        """Answer 200 with `body` (an ETag from its digest; 304 to a client that has it)."""
        self.answers[path] = _Answer(200, body, content_type)

    def fail(self, path: str, status: int) -> None:
        """Answer with an error status."""
        self.answers[path] = _Answer(status, b"Internal Server Error", "text/plain")

    def hang(self, path: str, seconds: float) -> None:
        """Answer only after `seconds` (longer than the client's timeout)."""
        current = self.answers.get(path, _Answer())
        self.answers[path] = _Answer(current.status, current.body, current.content_type, seconds)
