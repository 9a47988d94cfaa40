"""Seam writes are retried only where that is safe, over real HTTP: Seam's fake behind a proxy
that loses, stalls or rewrites answers (tests/seamproxy.py).

A create whose answer is lost is adopted if it landed, sent again if a re-list shows it absent,
and UNKNOWN (never re-sent) when the re-list fails too; a delete retried into a 404 had landed;
an action still pending is PENDING, not a failure; a duplicate PIN is never retried; a PIN quoted
in an error message is masked whatever its format.
"""

from __future__ import annotations

import asyncio
import json
import textwrap
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import CliRunner
from seamfake import SeamFake
from seamproxy import Answer, SeamProxy, seam_error

from reconciler.apply.applier import ApplyReport, OutcomeState, apply_plan
from reconciler.apply.inventory import read_live
from reconciler.core.errors import ActionPending, InvalidInputError, NotFoundError
from reconciler.core.models import AccessCodeId, CodeSpec, DeviceId, DeviceKey
from reconciler.core.plan import Action, Change, CodeState, Plan
from reconciler.providers.seam import SeamProvider, code_from_seam
from reconciler.providers.seam_client import RetryPolicy, SeamClient

NOW = datetime(2026, 11, 23, 15, tzinfo=UTC)
FRONT = DeviceId("august_device_1")
CREATE, DELETE, UPDATE = "/access_codes/create", "/access_codes/delete", "/access_codes/update"
LISTS = ("/access_codes/list", "/access_codes/unmanaged/list")
Forward = Callable[[], Answer]


@pytest.fixture
def fake() -> Iterator[SeamFake]:
    with SeamFake() as server:
        yield server


class Waits:
    """The provider's and client's sleeps, recorded instead of slept."""

    def __init__(self) -> None:
        self.seconds: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.seconds.append(seconds)


def seam(
    url: str, api_key: str, waits: Waits, *, settle: float = 0.75, timeout: float = 30.0
) -> SeamProvider:
    client = SeamClient(
        api_key=api_key, endpoint=url, sleep=waits, retry=RetryPolicy(attempts=3), timeout=timeout
    )
    return SeamProvider(client, sleep=waits, create_settle=settle)


def create(name: str, pin: str) -> Change:
    spec = CodeSpec(name, pin)
    return Change(
        Action.CREATE, DeviceKey("front"), FRONT, name, spec=spec, after=CodeState.of_spec(spec)
    )


def delete(code: dict) -> Change:
    return Change(
        Action.DELETE,
        DeviceKey("front"),
        FRONT,
        code["name"],
        access_code_id=AccessCodeId(code["access_code_id"]),
    )


def apply(provider: SeamProvider, *changes: Change) -> ApplyReport:
    """Read the lock, then apply `changes` to it, as `apply` does after its plan."""

    async def main() -> ApplyReport:
        try:
            live = await read_live(provider, [FRONT], concurrency=1)
            return await apply_plan(Plan(NOW, changes), provider, live, concurrency=1)
        finally:
            await provider.aclose()

    return asyncio.run(main())


def call(provider: SeamProvider, job: Callable[[SeamProvider], object]) -> object:
    async def main() -> object:
        try:
            return await job(provider)  # type: ignore[misc]
        finally:
            await provider.aclose()

    return asyncio.run(main())


def test_a_lost_create_whose_check_fails_too_is_unknown_and_sent_once(fake: SeamFake) -> None:
    def rule(path: str, nth: int, forward: Forward) -> Answer:
        if path == CREATE:
            forward()  # the fake makes the code; the answer is lost
            return 502, b""
        if path in LISTS and proxy.seen[CREATE]:
            return 503, b""  # and the lock cannot be listed to check
        return forward()

    with SeamProxy(fake.url, rule) as proxy:
        report = apply(seam(proxy.url, fake.api_key, Waits()), create("Alice", "482913"))
    (outcome,) = report.outcomes
    assert outcome.state is OutcomeState.UNKNOWN, outcome
    assert outcome.error_code == "outcome_unknown"
    assert "may or may not be on the lock" in outcome.message
    assert "482913" not in outcome.message
    assert report.failed == [outcome] and report.counts()["unknown"] == 1
    assert proxy.seen[CREATE] == 1, "never re-sent blind"
    assert [c["name"] for c in fake.list_codes(FRONT, managed=True)] == ["Alice"]


def test_a_lost_create_shown_absent_is_sent_again_after_the_settle(fake: SeamFake) -> None:
    def rule(path: str, nth: int, forward: Forward) -> Answer:
        if path == CREATE and nth == 1:
            return 502, b""  # lost before it reached the fake
        return forward()

    waits = Waits()
    with SeamProxy(fake.url, rule) as proxy:
        report = apply(seam(proxy.url, fake.api_key, waits, settle=0.75), create("Alice", "482913"))
    (outcome,) = report.outcomes
    assert outcome.state is OutcomeState.OK, outcome
    assert (proxy.seen[CREATE], proxy.forwarded[CREATE]) == (2, 1)
    assert 0.75 in waits.seconds, "the re-list waits for Seam to settle"
    (code,) = fake.list_codes(FRONT, managed=True)
    assert outcome.access_code_id == code["access_code_id"]


def test_a_create_that_timed_out_but_landed_is_adopted(fake: SeamFake) -> None:
    def rule(path: str, nth: int, forward: Forward) -> Answer:
        answer = forward()
        if path == CREATE:
            time.sleep(1.0)  # longer than the client waits
        return answer

    with SeamProxy(fake.url, rule) as proxy:
        report = apply(
            seam(proxy.url, fake.api_key, Waits(), timeout=0.3), create("Alice", "482913")
        )
    assert [o.state for o in report.outcomes] == [OutcomeState.OK]
    assert proxy.forwarded[CREATE] == 1
    assert len(fake.list_codes(FRONT, managed=True)) == 1


def test_a_delete_whose_answer_was_lost_is_retried_into_404_and_done(fake: SeamFake) -> None:
    code = fake.post(
        "access_codes/create", {"device_id": FRONT, "name": "Old", "code": "736194"}
    ).json["access_code"]

    def rule(path: str, nth: int, forward: Forward) -> Answer:
        if path == DELETE and nth == 1:
            forward()  # the fake deletes it; the answer is lost
            return 503, b""
        return forward()

    with SeamProxy(fake.url, rule) as proxy:
        report = apply(seam(proxy.url, fake.api_key, Waits()), delete(code))
    (outcome,) = report.outcomes
    assert outcome.state is OutcomeState.OK, outcome
    assert proxy.seen[DELETE] == 2
    assert fake.list_codes(FRONT, managed=True) == []


def test_a_404_on_the_first_delete_stays_a_failure(fake: SeamFake) -> None:
    code = fake.post(
        "access_codes/create", {"device_id": FRONT, "name": "Old", "code": "736194"}
    ).json["access_code"]
    live = code_from_seam(code, managed=True)
    fake.post("access_codes/delete", {"access_code_id": code["access_code_id"]})
    with SeamProxy(fake.url) as proxy:
        provider = seam(proxy.url, fake.api_key, Waits())
        with pytest.raises(NotFoundError):
            call(provider, lambda p: p.delete_code(live))
    assert proxy.seen[DELETE] == 1


def test_a_duplicate_pin_is_refused_once_never_retried(fake: SeamFake) -> None:
    fake.create_unmanaged_code(FRONT, "Landlord", "4711")
    with SeamProxy(fake.url) as proxy:
        provider = seam(proxy.url, fake.api_key, Waits())
        with pytest.raises(InvalidInputError) as refused:
            call(provider, lambda p: p.create_code(FRONT, CodeSpec("Alice", "4711")))
    assert refused.value.code == "duplicate_access_code"
    assert "4711" not in str(refused.value)
    assert proxy.seen[CREATE] == 1


def test_an_action_still_pending_is_action_pending(fake: SeamFake) -> None:
    code = fake.post(
        "access_codes/create", {"device_id": FRONT, "name": "Alice", "code": "482913"}
    ).json["access_code"]
    live = code_from_seam(code, managed=True)
    with SeamProxy(fake.url, still_pending) as proxy:
        provider = seam(proxy.url, fake.api_key, Waits())
        with pytest.raises(ActionPending) as pending:
            call(provider, lambda p: p.update_code(live, CodeSpec("Alice", "905172")))
    assert pending.value.code == "action_pending"
    assert proxy.seen[UPDATE] == 1, "a pending update is not sent again"


def test_a_pin_quoted_in_an_error_leaves_the_provider_masked(fake: SeamFake) -> None:
    code = fake.post(
        "access_codes/create", {"device_id": FRONT, "name": "Bob", "code": "736194"}
    ).json["access_code"]
    live = code_from_seam(code, managed=True)

    def rule(path: str, nth: int, forward: Forward) -> Answer:
        if path == CREATE:  # a token mask_digits cannot see as a PIN
            return seam_error(400, "invalid_input", "code_482913 breaks rule PIN482913x")
        if path == UPDATE:
            return seam_error(409, "duplicate_access_code", "pin:905172;old:736194;")
        return forward()

    with SeamProxy(fake.url, rule) as proxy:
        provider = seam(proxy.url, fake.api_key, Waits())
        with pytest.raises(InvalidInputError) as created:
            call(provider, lambda p: p.create_code(FRONT, CodeSpec("Alice", "482913")))
        provider = seam(proxy.url, fake.api_key, Waits())
        with pytest.raises(InvalidInputError) as updated:
            call(provider, lambda p: p.update_code(live, CodeSpec("Bob", "905172")))
    assert str(created.value) == (
        "Seam access_codes/create: HTTP 400: code_**** breaks rule PIN****x (invalid_input)"
    )
    assert created.value.code == "invalid_input"
    assert "905172" not in str(updated.value) and "736194" not in str(updated.value)
    assert updated.value.code == "duplicate_access_code"


def still_pending(path: str, nth: int, forward: Forward) -> Answer:
    """Seam's action attempts never finish."""
    status, payload = forward()
    if path == "/action_attempts/get" and status == 200:
        data = json.loads(payload)
        data["action_attempt"].update(status="pending", result=None)
        payload = json.dumps(data).encode()
    return status, payload


def test_apply_with_a_delete_still_pending_exits_0(
    cli: CliRunner, fake: SeamFake, tmp_path: Path
) -> None:
    config = tmp_path / "accesscodes.yaml"
    codes = '      - {name: Alice, code: "482913"}\n      - {name: Bob, code: "736194"}\n'
    head = textwrap.dedent("""\
        version: 1
        provider: {kind: seam, retries: 1, pace_writes: after_429}
        settings: {prune: true}
        devices:
          front:
            device_id: august_device_1
            codes:
        """)
    config.write_text(head + codes)
    assert cli("apply", "--auto-approve", env=fake.env).code == 0
    config.write_text(head + codes.splitlines(keepends=True)[0])
    with SeamProxy(fake.url, still_pending) as proxy:
        env = {**fake.env, "SEAM_ENDPOINT": proxy.url}
        applied = cli("apply", "--auto-approve", env=env)
    assert applied.code == 0, applied.output
    assert "Traceback" not in applied.output
    assert proxy.seen[DELETE] == 1
    assert "delete pending" in cli("history").out
    assert [c["name"] for c in fake.list_codes(FRONT, managed=True)] == ["Alice"]
