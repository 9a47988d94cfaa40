"""Controller replicas on one PostgreSQL split the locks by lease: every lock reconciled by
exactly one of them, taken over when one dies or is paused past its lease, shared again when
replicas come and go. Real processes, Seam's fake over HTTP, a real PostgreSQL."""

from __future__ import annotations

import base64
import json
import os
import signal
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pgserver import PostgresServer
from replicafleet import WRITES, Fleet, lock_devices, wait_until
from seamfake import SeamFake
from seamproxy import Answer
from svix.webhooks import Webhook

pytestmark = pytest.mark.timeout(240)
LOCKS = 40
SECRET = "whsec_" + base64.b64encode(os.urandom(24)).decode()


@pytest.fixture(scope="module")
def fake() -> Iterator[SeamFake]:
    with SeamFake(devices=lock_devices(LOCKS), standard_devices=False) as server:
        yield server


def empty_locks(fake: SeamFake) -> SeamFake:
    """The fake with no code left on any lock: each test starts from empty locks."""
    for device_id in fake.device_ids:
        for code in fake.list_codes(device_id):
            fake.post("access_codes/delete", {"access_code_id": code["access_code_id"]})
    return fake


@pytest.fixture
def fleet(tmp_path: Path, fake: SeamFake, pg_url: str) -> Iterator[Fleet]:
    fleet = Fleet(tmp_path, empty_locks(fake), pg_url)
    yield fleet
    fleet.close()


def in_sync(fleet: Fleet) -> bool:
    return fleet.pins_on_locks() == fleet.wanted()


def once_each(fleet: Fleet, route: str) -> None:
    """Every lock got exactly one request of this kind, over all replicas together."""
    counts = fleet.write_counts()
    per_lock = {d: counts[(route, d)] for d in fleet.devices}
    assert per_lock == dict.fromkeys(fleet.devices, 1), counts


def test_two_replicas_reconcile_every_lock_once_and_one_takes_over_when_the_other_dies(
    fleet: Fleet,
) -> None:
    fleet.set_codeless()  # nothing to do until both hold their share
    a, b = fleet.replica(), fleet.replica()
    wait_until(lambda: len(a.held() or ()) == len(b.held() or ()) == LOCKS / 2, timeout=30)
    fleet.set_pins(0)
    wait_until(lambda: in_sync(fleet), timeout=60)
    once_each(fleet, "/access_codes/create")
    assert a.writes() and b.writes()  # the work was split, not done by one

    a.signal(signal.SIGKILL)
    fleet.set_pins(1)
    took = wait_until(lambda: in_sync(fleet), timeout=60)
    once_each(fleet, "/access_codes/update")
    assert b.named("lease_gained") and took < 60


def test_a_replica_paused_past_its_lease_writes_nothing_when_it_wakes(
    fleet: Fleet, tmp_path: Path
) -> None:
    slow = threading.Event()

    def stall_writes(path: str, nth: int, forward: Callable[[], Answer]) -> Answer:
        if slow.is_set() and path in WRITES:
            time.sleep(1.5)
        return forward()

    own = tmp_path / "a.yaml"  # a's own copy of the config, changed behind b's back
    a, b = fleet.replica(own, rule=stall_writes), fleet.replica()
    wait_until(lambda: in_sync(fleet), timeout=60)
    wait_until(lambda: len(a.held() or ()) == len(b.held() or ()) == LOCKS / 2, timeout=30)
    held_by_a, gained_before = a.held() or set(), len(a.named("lease_gained"))
    slow.set()
    started = a.writes()
    fleet.set_pins(2, config=own)  # a starts writing its 20 locks, one at a time, slowly
    wait_until(lambda: a.writes() > started, timeout=15)
    a.signal(signal.SIGSTOP)  # halfway through its run, the rest of its writes to come
    slow.clear()
    fleet.set_pins(1)
    wait_until(lambda: in_sync(fleet), timeout=60)  # b took a's locks over and set them
    woke_at = len(a.proxy.bodies)
    a.signal(signal.SIGCONT)
    wait_until(lambda: bool(a.named("lease_lost")), timeout=20)
    time.sleep(6)  # a goes on with its run, and may share the locks again
    lost = {d for e in a.named("lease_lost") for d in e["devices"]}
    assert held_by_a and held_by_a <= lost
    regained = {d for e in a.named("lease_gained")[gained_before:] for d in e["devices"]}
    assert held_by_a - regained, "the test needs locks a lost for good"
    sent_to = [fleet.device_of(body) for path, body in a.proxy.bodies[woke_at:] if path in WRITES]
    assert not [d for d in sent_to if d not in regained], sent_to
    on_locks = fleet.pins_on_locks()
    assert all(on_locks[d] == fleet.wanted()[d] for d in held_by_a - regained)


def test_scaling_two_three_one_never_has_two_owners_and_leaves_no_lock_unowned(
    fleet: Fleet,
) -> None:
    replicas = [fleet.replica(), fleet.replica()]
    wait_until(lambda: in_sync(fleet), timeout=60)

    def owners_checked() -> set[str]:
        """Everything held now, after checking (each second) that no lock has two owners."""
        first = [r.held() or set() for r in replicas]
        second = [r.held() or set() for r in replicas]
        for x in range(len(replicas)):  # x was read before and after y's first read
            for y in range(x + 1, len(replicas)):
                assert not (first[x] & second[x] & first[y]), "two owners"
        return set().union(*second)

    def all_owned_within(seconds: float) -> None:
        started = time.monotonic()
        while owners_checked() != set(fleet.devices):
            assert time.monotonic() - started < seconds, "a lock left without an owner"
            time.sleep(1)

    all_owned_within(10)
    replicas.append(fleet.replica())
    wait_until(lambda: bool(replicas[2].held()), timeout=15)
    for _ in range(5):
        all_owned_within(4)  # the lease time
        time.sleep(1)
    for gone in replicas[:2]:
        gone.stop()
    replicas = replicas[2:]
    all_owned_within(4)
    fleet.set_pins(1)
    wait_until(lambda: in_sync(fleet), timeout=30)


def test_a_webhook_that_reaches_another_replica_is_acted_on_by_the_owner(fleet: Fleet) -> None:
    fleet.env["SEAM_WEBHOOK_SECRET"] = SECRET
    a, b = (fleet.replica(interval="1h", args=("--events", "webhook")) for _ in range(2))
    wait_until(lambda: in_sync(fleet), timeout=60)
    wait_until(lambda: len(a.held() or ()) == len(b.held() or ()) == LOCKS / 2, timeout=30)
    share = "holds 20 devices, 0 held by no replica"  # as of its last renewal
    wait_until(lambda: a.readyz()[0] == 200 and share in a.readyz()[1], timeout=10)
    with urllib.request.urlopen(f"http://127.0.0.1:{a.port}/", timeout=10) as page:
        assert share in page.read().decode()  # the status page says which part it shows
    device = sorted(b.held() or ())[0]
    (code,) = fleet.fake.list_codes(device, managed=True)
    assert fleet.fake.post("access_codes/delete", {"access_code_id": code["access_code_id"]}).ok
    event = {
        "event_id": str(uuid.uuid4()),
        "event_type": "access_code.deleted",
        "device_id": device,
        "access_code_id": code["access_code_id"],
        "created_at": datetime.now(UTC).isoformat(),
    }
    assert signed_post(a.port, json.dumps(event).encode()) == 200  # to the replica not holding it
    wait_until(lambda: in_sync(fleet), timeout=10, every=0.2)
    runs = [e["devices"] for e in b.named("event_reconcile")]
    assert [device] in runs
    assert not [e for e in a.named("event_reconcile") if device in e["devices"]]


def signed_post(port: int, body: bytes) -> int:
    message_id, moment = f"msg_{uuid.uuid4().hex}", datetime.now(UTC)
    headers = {
        "Content-Type": "application/json",
        "svix-id": message_id,
        "svix-timestamp": str(int(moment.timestamp())),
        "svix-signature": Webhook(SECRET).sign(message_id, moment, body.decode()),
    }
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/webhooks/seam", data=body, headers=headers
    )
    with urllib.request.urlopen(request, timeout=5) as answer:
        return int(answer.status)


def test_the_database_down_stops_writes_and_readiness_and_its_return_needs_no_restart(
    tmp_path: Path, fake: SeamFake
) -> None:
    with PostgresServer() as server:  # a server of its own, to stop
        fleet = Fleet(tmp_path, empty_locks(fake), server.new_database())
        try:
            (a,) = [fleet.replica()]
            wait_until(lambda: in_sync(fleet) and a.ready() == 200, timeout=60)
            server.stop()
            wait_until(lambda: "the state database does not answer" in a.readyz()[1], timeout=20)
            assert a.ready() == 503
            writes = a.writes()
            fleet.set_pins(1)
            time.sleep(5)
            assert a.writes() == writes  # no lock written without a lease
            assert a.named("lease_error")
            server.start()
            wait_until(lambda: in_sync(fleet) and a.ready() == 200, timeout=60)
        finally:
            fleet.close()
