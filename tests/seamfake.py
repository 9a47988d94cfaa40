"""Run Seam's fake server (@seamapi/fake-seam-connect) for tests, over real HTTP.

    from seamfake import SeamFake, request_schemas   # tests/ is on sys.path under pytest

    with SeamFake() as fake:                      # seeded + STANDARD devices
        fake.post("devices/list", {}).json["devices"]
        fake.create_unmanaged_code("august_device_1", "Cleaner", "4711")
        fake.simulate_outage(["access_codes/create"])   # those routes answer 503
        fake.clear_outage()

The server is `node tools/seam-fake/server.mjs` (see tools/seam-fake/README.md for
what the fake does and does not do). Stdlib only. Needs Node >= 20 and
`npm ci --prefix tools/seam-fake`.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import queue
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
FAKE_DIR = REPO_ROOT / "tools" / "seam-fake"
INSTALL_HINT = "run npm ci --prefix tools/seam-fake"
STARTUP_TIMEOUT = float(os.environ.get("SEAM_FAKE_STARTUP_TIMEOUT", "30"))
HTTP_TIMEOUT = 10.0

# Ids of the devices server.mjs adds with --standard-devices (SeamFake's default).
STANDARD_DEVICE_IDS = (
    "ultraloq_device_tz",  # properties.ultraloq_metadata.time_zone = America/New_York
    "ultraloq_device_no_tz",  # time_zone null + warning ultraloq_time_zone_unknown
    "igloohome_device_1",  # offline codes (can_program_offline_access_codes)
    "lockly_device_1",  # offline codes, lengths 6-8
    "dormakaba_oracode_door_1",  # offline only, iana_timezone Europe/Zurich
    "constrained_lock_1",  # max_active_codes_supported 3, code_constraints, lengths [6]
)
# Devices from the fake's own seed, in workspace seed_workspace_1.
SEEDED_LOCK_IDS = ("august_device_1", "august_device_2", "schlage_device_id")


class SeamFakeError(RuntimeError):
    """The fake could not be started, or a helper call failed."""


class SeamFakeNotInstalled(SeamFakeError):
    """tools/seam-fake/node_modules (or node) is missing."""


@dataclass
class Response:
    status: int
    json: Any  # parsed body, or None when the body is empty / not JSON
    text: str
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def error_type(self) -> str | None:
        """`error.type` of a Seam error body ({"error": {"type", "message"}, "ok": false})."""
        if isinstance(self.json, dict) and isinstance(self.json.get("error"), dict):
            return self.json["error"].get("type")
        return None


def _check_installed(fake_dir: Path, package: str) -> str:
    node = shutil.which("node")
    if node is None:
        raise SeamFakeNotInstalled(
            f"node is not on PATH (Node >= 20 is needed); then {INSTALL_HINT}"
        )
    if not (fake_dir / "node_modules" / package / "package.json").is_file():
        raise SeamFakeNotInstalled(f"{fake_dir / 'node_modules'} has no {package}: {INSTALL_HINT}")
    return node


class SeamFake:
    """One fake Seam server on 127.0.0.1, as a subprocess.

    devices: extra devices to add (list of dicts, format in tools/seam-fake/README.md).
    standard_devices: also add the devices in STANDARD_DEVICE_IDS.
    """

    def __init__(
        self,
        devices: list[dict[str, Any]] | None = None,
        *,
        standard_devices: bool = True,
        port: int | None = None,
        startup_timeout: float = STARTUP_TIMEOUT,
        fake_dir: Path = FAKE_DIR,
        start: bool = True,
    ) -> None:
        self.fake_dir = Path(fake_dir)
        self.extra_devices = list(devices or [])
        self.standard_devices = standard_devices
        self.requested_port = port
        self.startup_timeout = startup_timeout
        self.process: subprocess.Popen[str] | None = None
        self.ready: dict[str, Any] = {}
        self.returncode: int | None = None
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._control_lock = threading.Lock()
        self._control_id = 0
        self.startup_seconds: float | None = None
        self._tmpdir: tempfile.TemporaryDirectory[str] | None = None
        self._stderr = None
        if start:
            self.start()

    # -- lifecycle ---------------------------------------------------------------------
    def start(self) -> SeamFake:
        if self.process is not None:
            raise SeamFakeError("already started")
        node = _check_installed(self.fake_dir, "@seamapi/fake-seam-connect")
        self._tmpdir = tempfile.TemporaryDirectory(prefix="seamfake-")
        cmd = [node, str(self.fake_dir / "server.mjs"), "--watch-stdin"]
        if self.standard_devices:
            cmd.append("--standard-devices")
        if self.extra_devices:
            devices_file = Path(self._tmpdir.name) / "devices.json"
            devices_file.write_text(json.dumps(self.extra_devices), encoding="utf-8")
            cmd += ["--devices", str(devices_file)]
        if self.requested_port is not None:
            cmd += ["--port", str(self.requested_port)]
        self._stderr = open(Path(self._tmpdir.name) / "stderr.log", "w+", encoding="utf-8")  # noqa: SIM115
        started = time.monotonic()
        self.process = subprocess.Popen(
            cmd,
            cwd=REPO_ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
            encoding="utf-8",
        )
        self._lines = lines = queue.Queue()
        threading.Thread(
            target=self._pump_lines, args=(self.process.stdout, lines), daemon=True
        ).start()
        deadline = started + self.startup_timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.stop()
                raise SeamFakeError(
                    f"fake did not get ready within {self.startup_timeout}s\n{self.stderr_tail()}"
                )
            try:
                line = lines.get(timeout=min(remaining, 0.5))
            except queue.Empty:
                continue
            if line is None:  # stdout closed: the process is gone
                code = self.process.wait(timeout=5)
                stderr = self.stderr_tail()
                self.stop()
                raise SeamFakeError(f"fake exited with code {code} before it was ready\n{stderr}")
            with contextlib.suppress(ValueError):
                message = json.loads(line)
                if isinstance(message, dict) and message.get("ready"):
                    self.ready = message
                    break
        self.startup_seconds = time.monotonic() - started
        return self

    @staticmethod
    def _pump_lines(stream: Any, sink: queue.Queue[str | None]) -> None:
        with contextlib.suppress(ValueError, OSError):  # stream closed by stop()
            for line in stream:
                sink.put(line)
        sink.put(None)

    def stop(self, timeout: float = 5.0) -> int | None:
        """Stop the server (stdin close, then SIGTERM, then SIGKILL). Returns its exit code."""
        proc, self.process = self.process, None
        code = None
        if proc is not None:
            with contextlib.suppress(OSError):
                if proc.stdin:
                    proc.stdin.close()
            try:
                code = proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.send_signal(signal.SIGTERM)
                try:
                    code = proc.wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    code = proc.wait()
            if proc.stdout:
                proc.stdout.close()
            self.returncode = code
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None
        if self._tmpdir is not None:
            self._tmpdir.cleanup()
            self._tmpdir = None
        return code

    def __enter__(self) -> SeamFake:
        if self.process is None:
            self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.stop(timeout=1)

    def stderr_tail(self, lines: int = 40) -> str:
        if self._stderr is None:
            return ""
        self._stderr.flush()
        self._stderr.seek(0)
        return "".join(self._stderr.readlines()[-lines:])

    # -- what the server told us -------------------------------------------------------
    @property
    def url(self) -> str:
        return self.ready["url"]

    @property
    def port(self) -> int:
        return self.ready["port"]

    @property
    def api_key(self) -> str:
        return self.ready["api_key"]

    @property
    def workspace_id(self) -> str:
        return self.ready["workspace_id"]

    @property
    def device_ids(self) -> list[str]:
        return list(self.ready["devices"])

    @property
    def env(self) -> dict[str, str]:
        """Environment for a client (the SDK convention): SEAM_API_KEY, SEAM_ENDPOINT; and the
        opt-in that lets `apply --now` run against this fake (refused against real locks)."""
        return {
            "SEAM_API_KEY": self.api_key,
            "SEAM_ENDPOINT": self.url,
            "ACCESSCODES_ALLOW_NOW_ON_APPLY": "1",
        }

    # -- HTTP --------------------------------------------------------------------------
    def request(
        self,
        method: str,
        route: str,
        body: Any = None,
        *,
        api_key: str | None = None,
        auth: bool = True,
    ) -> Response:
        """Call the fake. Never raises for HTTP errors: look at .status / .json."""
        url = f"{self.url}/{route.lstrip('/')}"
        headers = {"Accept": "application/json"}
        if auth:
            headers["Authorization"] = f"Bearer {api_key or self.api_key}"
        data = None
        if body is not None:
            data = json.dumps(body).encode("utf-8")
            headers["Content-Type"] = "application/json"
        req = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=HTTP_TIMEOUT) as resp:
                status, raw, resp_headers = resp.status, resp.read(), resp.headers
        except urllib.error.HTTPError as err:
            status, raw, resp_headers = err.code, err.read(), err.headers
        text = raw.decode("utf-8", errors="replace")
        parsed = None
        if text:
            with contextlib.suppress(ValueError):
                parsed = json.loads(text)
        return Response(status=status, json=parsed, text=text, headers=dict(resp_headers.items()))

    def post(self, route: str, body: Any = None, **kwargs: Any) -> Response:
        return self.request("POST", route, {} if body is None else body, **kwargs)

    def _post_ok(self, route: str, body: Any) -> dict[str, Any]:
        resp = self.post(route, body)
        if not resp.ok:
            raise SeamFakeError(f"POST /{route} -> HTTP {resp.status}: {resp.text[:500]}")
        return resp.json

    # -- control channel (server.mjs CONTROL_OPS, over the process's stdin/stdout) ------
    def control(self, op: str, **args: Any) -> Any:
        """Change the fake's state directly: op is update_access_code, add_access_code,
        delete_access_code, update_device or ping. Raises SeamFakeError on failure."""
        proc = self.process
        if proc is None or proc.stdin is None:
            raise SeamFakeError("fake is not running")
        with self._control_lock:
            self._control_id += 1
            command_id = self._control_id
            proc.stdin.write(json.dumps({"id": command_id, "op": op, "args": args}) + "\n")
            proc.stdin.flush()
            deadline = time.monotonic() + HTTP_TIMEOUT
            while True:
                try:
                    line = self._lines.get(timeout=max(deadline - time.monotonic(), 0.01))
                except queue.Empty:
                    raise SeamFakeError(f"no reply to control op {op}") from None
                if line is None:
                    raise SeamFakeError(f"fake exited during control op {op}")
                with contextlib.suppress(ValueError):
                    reply = json.loads(line)
                    if isinstance(reply, dict) and reply.get("reply") == command_id:
                        if not reply.get("ok"):
                            raise SeamFakeError(f"control op {op} failed: {reply.get('error')}")
                        return reply.get("result")

    def update_code(self, access_code_id: str, **fields: Any) -> dict[str, Any]:
        """E.g. update_code(id, status="set") or warnings=[{"warning_code": ...}]."""
        return self.control("update_access_code", access_code_id=access_code_id, **fields)

    def set_code_status(self, access_code_id: str, status: str) -> dict[str, Any]:
        """The fake never programs a lock: move a code to "set" (or any status) here."""
        return self.update_code(access_code_id, status=status)

    def update_device(self, device_id: str, **fields: Any) -> dict[str, Any]:
        """Top-level fields replace; `properties` is merged one level deep."""
        return self.control("update_device", device_id=device_id, **fields)

    # -- helpers -----------------------------------------------------------------------
    def devices(self) -> list[dict[str, Any]]:
        """All devices of the workspace (follows devices/list pagination)."""
        found: list[dict[str, Any]] = []
        body: dict[str, Any] = {"limit": 100}
        while True:
            page = self._post_ok("devices/list", body)
            found += page["devices"]
            cursor = page.get("pagination", {}).get("next_page_cursor")
            if not cursor:
                return found
            body = {"limit": 100, "page_cursor": cursor}

    def get_device(self, device_id: str) -> dict[str, Any]:
        return self._post_ok("devices/get", {"device_id": device_id})["device"]

    def create_unmanaged_code(self, device_id: str, name: str, code: str) -> dict[str, Any]:
        """A code "set outside Seam" (is_managed false). The fake only allows this on
        august_lock devices, with a 4-8 digit code; it does not check duplicates."""
        body = {"device_id": device_id, "name": name, "code": code}
        return self._post_ok("access_codes/simulate/create_unmanaged_access_code", body)[
            "access_code"
        ]

    def simulate_outage(self, routes: list[str]) -> None:
        """From now on these routes answer HTTP 503 (empty body) for this workspace.
        Replaces any earlier outage; [] ends it. Routes: "access_codes/create" or with "/"."""
        normalized = ["/" + r.lstrip("/") for r in routes]
        # Unauthenticated route: any Authorization header is ignored.
        self._post_ok(
            "_fake/simulate_workspace_outage",
            {"workspace_id": self.workspace_id, "routes": normalized},
        )

    def clear_outage(self) -> None:
        self.simulate_outage([])

    def list_codes(self, device_id: str, *, managed: bool | None = None) -> list[dict[str, Any]]:
        """access_codes/list for one device. The fake returns the codes of EVERY device
        and workspace (managed and unmanaged), so filter here as the real API would."""
        codes = self._post_ok("access_codes/list", {"device_id": device_id})["access_codes"]
        codes = [
            c
            for c in codes
            if c.get("device_id") == device_id and c.get("workspace_id") == self.workspace_id
        ]
        if managed is not None:
            codes = [c for c in codes if bool(c.get("is_managed", True)) is managed]
        return codes


def _schemas_cache_key(fake_dir: Path) -> str:
    digest = hashlib.sha256()
    for name in ("package-lock.json", "openapi.mjs"):
        path = fake_dir / name
        digest.update(path.read_bytes() if path.is_file() else b"")
    return digest.hexdigest()[:16]


@functools.cache
def _request_schemas(fake_dir: Path) -> str:
    node = _check_installed(fake_dir, "@seamapi/types")
    cache = (
        Path(tempfile.gettempdir())
        / f"accesscodes-seam-openapi-{_schemas_cache_key(fake_dir)}.json"
    )
    if not cache.is_file():
        partial = cache.with_name(f"{cache.name}.{os.getpid()}.tmp")
        proc = subprocess.run(
            [node, str(fake_dir / "openapi.mjs"), "--out", str(partial)],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if proc.returncode != 0:
            partial.unlink(missing_ok=True)
            raise SeamFakeError(f"openapi.mjs failed ({proc.returncode}): {proc.stderr[-2000:]}")
        os.replace(partial, cache)
    return cache.read_text(encoding="utf-8")


def request_schemas(fake_dir: Path = FAKE_DIR) -> dict[str, dict[str, Any]]:
    """{"/access_codes/create": JSON Schema of its request body, ...} from Seam's OpenAPI
    spec (@seamapi/types), $refs resolved; usable with jsonschema.validate(). Each schema
    also carries "x-seam-methods" (the HTTP methods the spec documents for the route).
    Cached in the temp dir per package-lock.json/openapi.mjs content. Returns a fresh copy."""
    return json.loads(_request_schemas(Path(fake_dir)))
