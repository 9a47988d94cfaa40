"""The fake-Seam harness works, and the fake behaves as tools/seam-fake/README.md says.

Needs `npm ci --prefix tools/seam-fake` (Node >= 20).
"""

from __future__ import annotations

import re
import signal
import socket
from pathlib import Path

import jsonschema
import pytest

try:
    from seamfake import (
        STANDARD_DEVICE_IDS,
        SeamFake,
        SeamFakeError,
        SeamFakeNotInstalled,
        request_schemas,
    )
except ImportError:  # tests/ became a package
    from tests.seamfake import (
        STANDARD_DEVICE_IDS,
        SeamFake,
        SeamFakeError,
        SeamFakeNotInstalled,
        request_schemas,
    )

# No test here may hang the suite: each test talks to Seam's fake server, a Node subprocess.
pytestmark = pytest.mark.timeout(120)

CUSTOM_DEVICE = {
    "device_id": "custom_yale_1",
    "device_type": "yale_lock",
    "name": "Custom Yale",
    "properties": {"manufacturer": "yale", "supported_code_lengths": [4, 5, 6]},
    "location": {"time_zone": "Europe/London"},
    "access_codes": [
        {"name": "Seeded unmanaged", "code": "8080", "is_managed": False},
        {
            "name": "Seeded time-bound",
            "code": "9090",
            "starts_at": "2030-01-01T15:00:00.000Z",
            "ends_at": "2030-01-05T11:00:00.000Z",
        },
    ],
}


@pytest.fixture(scope="module")
def fake():
    with SeamFake(devices=[CUSTOM_DEVICE]) as server:
        yield server


@pytest.fixture(scope="module")
def schemas():
    return request_schemas()


def _props(device):
    return device["properties"]


def _create(fake, device_id, name, code=None, **extra):
    body = {"device_id": device_id, "name": name, **extra}
    if code is not None:
        body["code"] = code
    return fake.post("access_codes/create", body)


def _code_ids(codes):
    return {c["access_code_id"] for c in codes}


# -- the harness ---------------------------------------------------------------------


def test_server_starts_on_loopback(fake):
    assert fake.url == f"http://127.0.0.1:{fake.port}"
    assert fake.api_key == "seam_apikey1_token"
    assert fake.workspace_id == "seed_workspace_1"
    assert fake.process is not None and fake.process.poll() is None
    assert fake.env == {
        "SEAM_API_KEY": fake.api_key,
        "SEAM_ENDPOINT": fake.url,
        "ACCESSCODES_ALLOW_NOW_ON_APPLY": "1",
    }
    assert fake.startup_seconds < 30


def test_seeded_devices_listed_with_bearer_auth(fake):
    resp = fake.post("devices/list", {})
    assert resp.status == 200
    assert resp.json["ok"] is True
    ids = {d["device_id"] for d in resp.json["devices"]}
    assert {"august_device_1", "august_device_2", "schlage_device_id"} <= ids
    assert set(STANDARD_DEVICE_IDS) <= ids
    assert "custom_yale_1" in ids
    assert ids == set(fake.device_ids)
    august = next(d for d in resp.json["devices"] if d["device_id"] == "august_device_1")
    assert august["device_type"] == "august_lock"
    assert _props(august)["manufacturer"] == "august"


def test_auth_is_checked(fake):
    missing = fake.post("devices/list", {}, auth=False)
    assert missing.status == 401
    assert missing.error_type == "unauthorized"
    wrong = fake.post("devices/list", {}, api_key="seam_apikey_nope")
    assert wrong.status == 401
    assert wrong.json["ok"] is False
    assert wrong.json["error"]["type"] == "unauthorized"
    assert wrong.json["error"]["message"] == "API Key not found"
    assert "stack" in wrong.json["error"]  # the fake leaks its JS stack trace in errors


def test_unmanaged_code_created_and_listed(fake):
    code = fake.create_unmanaged_code("august_device_1", "Cleaner", "4711")
    assert code["is_managed"] is False
    assert code["code"] == "4711"
    assert code["device_id"] == "august_device_1"

    unmanaged = fake.post("access_codes/unmanaged/list", {"device_id": "august_device_1"})
    assert unmanaged.status == 200
    assert code["access_code_id"] in {c["access_code_id"] for c in unmanaged.json["access_codes"]}

    listed = fake.list_codes("august_device_1", managed=False)
    assert code["access_code_id"] in {c["access_code_id"] for c in listed}
    assert all(c["device_id"] == "august_device_1" for c in fake.list_codes("august_device_1"))
    assert code["access_code_id"] not in {
        c["access_code_id"] for c in fake.list_codes("august_device_2")
    }


def test_unmanaged_codes_only_on_august_locks(fake):
    with pytest.raises(SeamFakeError, match="device_type_not_supported"):
        fake.create_unmanaged_code("ultraloq_device_tz", "Cleaner", "4712")


def test_outage_answers_503_and_clears(fake):
    body = {"device_id": "august_device_2", "name": "During outage", "code": "5031"}
    try:
        fake.simulate_outage(["access_codes/create"])
        down = fake.post("access_codes/create", body)
        assert down.status == 503
        assert down.text == ""
        assert fake.post("devices/list", {}).status == 200  # other routes still work
    finally:
        fake.clear_outage()
    up = fake.post("access_codes/create", body)
    assert up.status == 200, up.text
    assert up.json["access_code"]["code"] == "5031"


def test_extra_devices_have_their_properties(fake):
    ulq = fake.get_device("ultraloq_device_tz")
    assert ulq["device_type"] == "ultraloq_lock"
    assert _props(ulq)["ultraloq_metadata"]["time_zone"] == "America/New_York"
    assert _props(ulq)["supported_code_lengths"] == [4, 5, 6, 7, 8]

    ulq_no_tz = fake.get_device("ultraloq_device_no_tz")
    assert _props(ulq_no_tz)["ultraloq_metadata"]["time_zone"] is None
    assert [w["warning_code"] for w in ulq_no_tz["warnings"]] == ["ultraloq_time_zone_unknown"]

    igloo = fake.get_device("igloohome_device_1")
    assert igloo["device_type"] == "igloohome_lock"
    assert igloo["can_program_offline_access_codes"] is True
    assert _props(igloo)["supports_offline_access_codes"] is True
    assert _props(igloo)["manufacturer"] == "igloohome"

    lockly = fake.get_device("lockly_device_1")
    assert lockly["device_type"] == "lockly_lock"
    assert _props(lockly)["supported_code_lengths"] == [6, 7, 8]
    assert lockly["can_program_offline_access_codes"] is True

    door = fake.get_device("dormakaba_oracode_door_1")
    assert door["device_type"] == "dormakaba_oracode_door"
    assert _props(door)["dormakaba_oracode_metadata"]["iana_timezone"] == "Europe/Zurich"
    assert door["can_program_online_access_codes"] is False
    assert door["can_program_offline_access_codes"] is True
    assert door["capabilities_supported"] == ["access_code"]

    constrained = fake.get_device("constrained_lock_1")
    assert _props(constrained)["max_active_codes_supported"] == 3
    assert _props(constrained)["supported_code_lengths"] == [6]
    assert {"constraint_type": "no_all_same_digits"} in _props(constrained)["code_constraints"]

    custom = fake.get_device("custom_yale_1")
    assert custom["device_type"] == "yale_lock"
    assert custom["display_name"] == "Custom Yale"
    assert custom["location"] == {"time_zone": "Europe/London"}
    seeded = {c["code"]: c for c in fake.list_codes("custom_yale_1")}
    assert seeded["8080"]["is_managed"] is False
    assert seeded["9090"]["type"] == "time_bound"
    assert seeded["9090"]["status"] == "unset"


def test_devices_list_pages(fake):
    first = fake.post("devices/list", {"limit": 3})
    assert first.status == 200
    assert len(first.json["devices"]) == 3
    assert first.json["pagination"]["has_next_page"] is True
    cursor = first.json["pagination"]["next_page_cursor"]
    second = fake.post("devices/list", {"limit": 3, "page_cursor": cursor})
    assert second.status == 200
    assert not {d["device_id"] for d in first.json["devices"]} & {
        d["device_id"] for d in second.json["devices"]
    }
    changed = fake.post("devices/list", {"limit": 4, "page_cursor": cursor})
    assert changed.status == 400
    assert changed.error_type == "mismatched_page_parameters"
    assert {d["device_id"] for d in fake.devices()} == set(fake.device_ids)
    only = fake.post("devices/list", {"device_ids": ["lockly_device_1", "nope"]})
    assert [d["device_id"] for d in only.json["devices"]] == ["lockly_device_1"]


def test_missing_node_modules_is_a_clear_error(tmp_path: Path):
    (tmp_path / "server.mjs").write_text("", encoding="utf-8")
    with pytest.raises(SeamFakeNotInstalled, match="npm ci --prefix tools/seam-fake"):
        SeamFake(fake_dir=tmp_path)
    with pytest.raises(SeamFakeNotInstalled, match="npm ci --prefix tools/seam-fake"):
        request_schemas(fake_dir=tmp_path)


def test_stop_exits_cleanly_and_frees_the_port():
    server = SeamFake(standard_devices=False)
    port = server.port
    assert server.post("devices/list", {}).status == 200
    assert server.stop() == 0  # closing stdin ends it
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", port)) != 0


def test_sigterm_exits_cleanly():
    server = SeamFake(standard_devices=False)
    proc = server.process
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=10) == 0
    server.stop()


# -- the OpenAPI request schemas -----------------------------------------------------


def test_request_schemas_cover_our_routes(schemas):
    assert set(schemas) == {
        "/devices/list",
        "/devices/get",
        "/access_codes/list",
        "/access_codes/unmanaged/list",
        "/access_codes/create",
        "/access_codes/update",
        "/access_codes/delete",
        "/action_attempts/get",
    }
    assert "$ref" not in str(schemas)
    assert schemas["/access_codes/create"]["required"] == ["device_id"]
    assert schemas["/access_codes/update"]["x-seam-methods"] == ["PATCH", "POST", "PUT"]
    assert schemas["/access_codes/delete"]["x-seam-methods"] == ["DELETE", "POST"]
    for schema in schemas.values():
        jsonschema.Draft202012Validator.check_schema(schema)


def test_create_body_validates_against_openapi(schemas):
    create = schemas["/access_codes/create"]
    good = {
        "device_id": "august_device_1",
        "name": "Guest 1",
        "code": "123456",
        "starts_at": "2030-01-01T15:00:00Z",
        "ends_at": "2030-01-05T11:00:00Z",
        "prefer_native_scheduling": True,
        "max_time_rounding": "1day",
        "is_one_time_use": False,
    }
    jsonschema.validate(good, create)
    for bad, why in (
        ({**good, "device_id": 42}, "42 is not of type 'string'"),
        ({"name": "no device"}, "'device_id' is a required property"),
        ({**good, "code": "12ab"}, "'12ab' does not match"),
        ({**good, "max_time_rounding": "1week"}, "'1week' is not one of"),
    ):
        with pytest.raises(jsonschema.ValidationError, match=re.escape(why)):
            jsonschema.validate(bad, create)


def test_nullable_fields_accept_null(schemas):
    jsonschema.validate({"device_id": "x", "page_cursor": None}, schemas["/access_codes/list"])
    jsonschema.validate({"access_code_id": "x", "name": "renamed"}, schemas["/access_codes/update"])
    with pytest.raises(jsonschema.ValidationError, match="'access_code_id' is a required"):
        jsonschema.validate({"name": "renamed"}, schemas["/access_codes/update"])


# -- the fake's quirks, as documented in tools/seam-fake/README.md -------------------


def test_error_shapes(fake):
    first = _create(fake, "august_device_2", "A", "7001")
    assert first.status == 200
    dup = _create(fake, "august_device_2", "B", "7001")
    assert dup.status == 409
    assert dup.json["ok"] is False
    assert dup.error_type == "duplicate_access_code"
    assert dup.json["error"]["message"] == "Cannot set duplicate access code 7001 named B"

    missing = fake.post("access_codes/create", {"device_id": "nope", "name": "x"})
    assert (missing.status, missing.error_type) == (404, "device_not_found")

    invalid = fake.post("access_codes/create", {"device_id": 42})
    assert (invalid.status, invalid.error_type) == (400, "invalid_input")
    assert invalid.json["error"]["message"] == 'Expected string, received number for "device_id"'
    assert "validation_errors" in invalid.json["error"]

    half = fake.post(
        "access_codes/create", {"device_id": "august_device_2", "starts_at": "2030-01-01T00:00:00Z"}
    )
    assert (half.status, half.error_type) == (400, "invalid_input")

    gone = fake.post("access_codes/delete", {"access_code_id": "nope"})
    assert (gone.status, gone.error_type) == (404, "access_code_not_found")


def test_codes_never_reach_set_and_constraints_are_not_checked(fake):
    ongoing = _create(fake, "constrained_lock_1", "Same", "1111")
    assert ongoing.status == 200  # breaks no_all_same_digits and supported_code_lengths [6]
    assert ongoing.json["access_code"]["status"] == "setting"
    assert ongoing.json["access_code"]["type"] == "ongoing"
    timed = fake.post(
        "access_codes/create",
        {
            "device_id": "constrained_lock_1",
            "name": "Timed",
            "code": "not-a-pin",
            "starts_at": "2030-01-01T15:00:00Z",
            "ends_at": "2030-01-02T11:00:00Z",
            "prefer_native_scheduling": False,
        },
    )
    assert timed.status == 200
    assert timed.json["access_code"]["status"] == "unset"
    assert timed.json["access_code"]["starts_at"] == "2030-01-01T15:00:00.000Z"
    generated = fake.post("access_codes/create", {"device_id": "igloohome_device_1", "name": "Gen"})
    assert generated.status == 200
    assert len(generated.json["access_code"]["code"]) == 4
    # no max_active_codes_supported limit (3) either:
    for pin in ("246810", "135792", "975310"):
        assert _create(fake, "constrained_lock_1", pin, pin).status == 200
    assert len(fake.list_codes("constrained_lock_1")) >= 5
    again = fake.list_codes("constrained_lock_1")
    assert {c["status"] for c in again} <= {"setting", "unset"}


def test_list_returns_every_devices_codes(fake):
    _create(fake, "lockly_device_1", "L", "606060")
    _create(fake, "august_device_2", "A2", "6161")
    raw = fake.post("access_codes/list", {"device_id": "august_device_2"})
    assert raw.status == 200
    assert "pagination" not in raw.json
    assert "lockly_device_1" in {c["device_id"] for c in raw.json["access_codes"]}
    assert {c["device_id"] for c in fake.list_codes("august_device_2")} == {"august_device_2"}


def test_update_and_delete_return_action_attempts(fake):
    created = fake.post(
        "access_codes/create",
        {
            "device_id": "august_device_2",
            "name": "Timed",
            "code": "8181",
            "starts_at": "2030-01-01T15:00:00Z",
            "ends_at": "2030-01-02T11:00:00Z",
        },
    ).json["access_code"]
    code_id = created["access_code_id"]
    updated = fake.post("access_codes/update", {"access_code_id": code_id, "name": "Renamed"})
    assert updated.status == 200
    attempt = updated.json["action_attempt"]
    assert (attempt["action_type"], attempt["status"]) == ("UPDATE_ACCESS_CODE", "pending")
    polled = fake.post("action_attempts/get", {"action_attempt_id": attempt["action_attempt_id"]})
    assert polled.json["action_attempt"]["status"] == "success"
    after = next(c for c in fake.list_codes("august_device_2") if c["access_code_id"] == code_id)
    assert after["name"] == "Renamed"
    assert after["type"] == "ongoing"  # an update without starts_at/ends_at makes it ongoing

    put = fake.request("PUT", "access_codes/update", {"access_code_id": code_id})
    assert put.status == 405  # the spec documents PUT/PATCH; the fake takes POST only

    deleted = fake.post("access_codes/delete", {"access_code_id": code_id})
    assert deleted.status == 200
    attempt = deleted.json["action_attempt"]
    assert (attempt["action_type"], attempt["status"]) == ("DELETE_ACCESS_CODE", "pending")
    polled = fake.post("action_attempts/get", {"action_attempt_id": attempt["action_attempt_id"]})
    assert polled.json["action_attempt"]["status"] == "success"
    assert code_id not in _code_ids(fake.list_codes("august_device_2"))
    other = _create(fake, "august_device_2", "Sync", "8282").json["access_code"]
    sync = fake.post(
        "access_codes/update", {"access_code_id": other["access_code_id"], "sync": True}
    )
    assert sync.json["action_attempt"]["status"] == "success"


def test_control_channel_changes_state(fake):
    assert fake.control("ping") == "pong"
    code = _create(fake, "august_device_1", "Controlled", "3141").json["access_code"]
    assert code["status"] == "setting"
    fake.set_code_status(code["access_code_id"], "set")
    warning = {"warning_code": "code_modified_external_to_seam", "message": "changed in app"}
    fake.update_code(code["access_code_id"], code="3142", warnings=[warning])
    listed = next(
        c
        for c in fake.list_codes("august_device_1")
        if c["access_code_id"] == code["access_code_id"]
    )
    assert (listed["status"], listed["code"], listed["warnings"]) == ("set", "3142", [warning])

    fake.update_device("lockly_device_1", properties={"online": False})
    lockly = fake.get_device("lockly_device_1")
    assert _props(lockly)["online"] is False
    assert _props(lockly)["supported_code_lengths"] == [6, 7, 8]  # other properties kept
    fake.update_device("lockly_device_1", properties={"online": True})

    added = fake.control(
        "add_access_code", device_id="lockly_device_1", name="Keypad", code="271828"
    )
    assert added["workspace_id"] == fake.workspace_id
    assert added["access_code_id"] in _code_ids(fake.list_codes("lockly_device_1"))
    fake.control("delete_access_code", access_code_id=added["access_code_id"])
    assert added["access_code_id"] not in _code_ids(fake.list_codes("lockly_device_1"))

    with pytest.raises(SeamFakeError, match="unknown op"):
        fake.control("explode")
    with pytest.raises(SeamFakeError, match="Could not find access_code"):
        fake.set_code_status("nope", "set")
