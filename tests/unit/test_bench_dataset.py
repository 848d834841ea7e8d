"""The benchmark data set generator (`bench/dataset.py`) on the embedded stores (SQLite)."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from eventsourcing.application import project_aggregate
from eventsourcing.domain import Snapshot
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bench.dataset import (
    DatasetExists,
    DatasetSummary,
    certificate_numbers,
    generate,
    issue_arguments,
    owner_of,
    plan_owner,
)
from services.billing.application import BillingApplication
from services.billing.consumers import billing_sink
from services.billing.domain import billing_account_id
from services.billing.main import billing_outbox, build_billing
from services.claims.application import ClaimsApplication
from services.claims.consumers import claims_sink
from services.claims.main import build_claims, claims_outbox
from services.policy.application import PolicyApplication
from services.policy.main import build_policy, policy_outbox
from services.portal.projections import portal_sink
from services.portal.readmodels import (
    BillingView,
    CertificateView,
    ClaimView,
    PaymentView,
    ReadModel,
)
from shared import personal_data
from shared.eventstore import ServiceApplication
from shared.messaging.consumer import ConsumerCore
from shared.messaging.outbox import Outbox
from shared.messaging.records import OutboundRecord
from shared.settings import Settings
from shared.sqldb import make_engine

OWNERS, TARGET = 20, 2_000
# Stored on purpose without a contract: indexes, claims' registry, billing's status mirror and
# the consumers' markers.
INTERNAL = {
    "policy": {"CertificateOwned", "ProcessedEvent.Processed"},
    "billing": {"AccountLogged", "BillingAccount.StatusChanged", "ProcessedEvent.Processed"},
    "claims": {"CertificateOnFile.Registered", "ProcessedEvent.Processed"},
}
BUILDERS = {"policy": build_policy, "billing": build_billing, "claims": build_claims}
OUTBOXES = {"policy": policy_outbox, "billing": billing_outbox, "claims": claims_outbox}


def _settings(directory: Path) -> Settings:
    return Settings(PORTAL_VAR_DIR=str(directory), PII_HMAC_SECRET="ab" * 32)


def _generated(directory: Path, owners: int = OWNERS, target: int = TARGET, seed: int = 11):
    settings = _settings(directory)
    return settings, generate(settings, owners, target, seed)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, DatasetSummary]:
    return _generated(tmp_path_factory.mktemp("dataset"))


def _vault(settings: Settings) -> Any:
    return personal_data.vault_at(settings.database_url_for("keystore"))


def _notifications(app: ServiceApplication) -> list[Any]:
    found, start = [], 1
    while batch := app.process_recorder.select_notifications(start=start, limit=500):
        found += batch
        start = batch[-1].id + 1
    return found


def _stored(settings: Settings, service: str) -> list[tuple[str, dict[str, Any]]]:
    """(topic, state with the personal fields opened) of every event in the service's log."""
    app = BUILDERS[service](settings)
    try:
        with personal_data.using(_vault(settings)):
            return [
                (n.topic, dict(vars(app.mapper.to_domain_event(n)))) for n in _notifications(app)
            ]
    finally:
        app.close()


def _records(settings: Settings, service: str) -> list[OutboundRecord]:
    app = BUILDERS[service](settings)
    outbox: Outbox = OUTBOXES[service](app, settings)
    records, position = [], 0
    try:
        while True:
            batch, last = outbox.read(position)
            records += batch
            if last == position:
                return records
            position = last
    finally:
        app.close()


class DeadLetters:
    def __init__(self) -> None:
        self.letters: list[tuple[str, str]] = []

    async def publish(self, topic, partition, offset, value, headers, reason, consumer) -> None:
        self.letters.append((topic, reason))


async def _consume(core: ConsumerCore, records: list[OutboundRecord]) -> None:
    for offset, record in enumerate(records):
        await core.handle(record.topic, 0, offset, record.value, {})


def test_owners_are_deterministic_and_fictional() -> None:
    owner = owner_of(11, 3)
    assert owner == owner_of(11, 3)
    assert owner != owner_of(12, 3)
    assert re.fullmatch(r"9\d\d-00-\d{4}", owner.person.government_id)
    step = owner.registration()
    assert step["certificate_number"] == owner.certificate_number == "7000000006"
    assert step["date_of_birth"] == owner.person.date_of_birth.strftime("%m/%d/%Y")
    assert re.fullmatch(r"\d{5}", owner.zip_code)
    numbers = certificate_numbers(11, OWNERS)
    assert len(numbers) == len(set(numbers)) >= OWNERS
    assert numbers[:1] == ["7000000000"]


def test_the_total_is_near_the_target_and_counted(dataset) -> None:
    settings, summary = dataset
    assert abs(summary.total_events - TARGET) <= 0.15 * TARGET
    assert summary.certificates == len(certificate_numbers(11, OWNERS))
    assert summary.claims > 0
    for service in ("policy", "billing", "claims"):
        assert summary.events[service] == len(_stored(settings, service))
    assert summary.events_per_second > 0


def test_the_same_seed_stores_the_same_events(dataset, tmp_path) -> None:
    settings, summary = dataset
    again_settings, again = _generated(tmp_path)
    assert again.events == summary.events
    for service in ("policy", "billing", "claims"):
        assert _stored(again_settings, service) == _stored(settings, service)
    other_settings, _ = _generated(tmp_path / "other", seed=12)
    assert _stored(other_settings, "billing") != _stored(settings, "billing")


def test_generating_twice_into_the_same_stores_is_refused(dataset) -> None:
    settings, _ = dataset
    with pytest.raises(DatasetExists):
        generate(settings, 2, 200)


def test_every_event_is_mapped_by_its_outbox_or_deliberately_internal(dataset) -> None:
    settings, _ = dataset
    for service, internal in INTERNAL.items():
        stored = Counter(_kind(topic) for topic, _ in _stored(settings, service))
        published = Counter(json.loads(r.value)["event_type"] for r in _records(settings, service))
        assert sum(stored[kind] for kind in internal) + sum(published.values()) == sum(
            stored.values()
        ), service
    mix = {_kind(topic).rpartition(".")[2] for s in INTERNAL for topic, _ in _stored(settings, s)}
    wanted = {
        *("Issued", "CashValueUpdated", "DividendCredited", "ContactInformationUpdated"),
        *("PaymentReceived", "PaymentApplied", "PaymentReversed", "PremiumDefaulted"),
        *("PremiumsBilled", "StatementIssued", "Submitted", "LineAdjudicated", "Denied"),
    }
    assert wanted <= mix


def _kind(topic: str) -> str:
    """`Certificate.Issued` of `services.policy.domain:Certificate.Issued`."""
    return topic.rpartition(":")[2]


def test_issued_events_are_what_issue_certificate_stores(dataset) -> None:
    settings, summary = dataset
    stored = {
        state["certificate_number"]: state
        for topic, state in _stored(settings, "policy")
        if topic.endswith("Certificate.Issued")
    }
    owner = owner_of(11, 0)
    for plan in plan_owner(11, 0, summary.history_months):
        app = PolicyApplication()
        app.issue_certificate(**issue_arguments(owner, plan))
        (issued,) = [
            dict(vars(app.mapper.to_domain_event(n)))
            for n in _notifications(app)
            if n.topic.endswith("Certificate.Issued")
        ]
        mine = stored[plan.number]
        for state in (issued, mine):
            state.pop("timestamp")
            state.pop("_meta")
        assert issued == mine


async def test_billing_and_claims_hold_what_their_consumers_would_store(dataset) -> None:
    """Accounts, claims' registry and both markers, as the consumers store them from policy's
    CertificateIssued (their own indexes and the dates aside)."""
    settings, _ = dataset
    with personal_data.using(_vault(settings)):
        records = [r for r in _records(settings, "policy") if b"CertificateIssued" in r.value]
        for service, app, sink in (
            ("billing", BillingApplication(), billing_sink),
            ("claims", ClaimsApplication(), claims_sink),
        ):
            dead = DeadLetters()
            await _consume(ConsumerCore(sink(app), ["policy.events"], dead), records)
            assert dead.letters == []
            wanted = ("BillingAccount.Opened", "CertificateOnFile.Registered")
            reacted = _comparable(app, wanted)
            generated = [s for s in _stored(settings, service) if s[0].endswith(wanted)]
            assert sorted(map(repr, reacted)) == sorted(map(repr, _strip(generated)))
            markers = {
                s["originator_id"] for t, s in _stored(settings, service) if "Processed" in t
            }
            assert {s["originator_id"] for t, s in _comparable(app, ("Processed",))} <= markers


def _strip(states: list[tuple[str, dict[str, Any]]]) -> list[tuple[str, dict[str, Any]]]:
    drop = {"timestamp", "_meta"}
    return [(topic, {k: v for k, v in state.items() if k not in drop}) for topic, state in states]


def _comparable(app: ServiceApplication, suffixes: tuple[str, ...]) -> list[Any]:
    states = [
        (n.topic, dict(vars(app.mapper.to_domain_event(n))))
        for n in _notifications(app)
        if n.topic.endswith(suffixes)
    ]
    return _strip(states)


def test_snapshots_are_what_the_library_takes(dataset) -> None:
    """Taken in bulk by the generator: the state the library's snapshot of the aggregate at
    that version holds, dated like that version's event."""
    settings, _ = dataset
    app = build_billing(settings)
    taken = 0
    try:
        with personal_data.using(_vault(settings)):
            for number in certificate_numbers(11, OWNERS):
                account_id = billing_account_id(number)
                for snapshot in app.snapshots.get(account_id):
                    version = snapshot.originator_version
                    events = list(app.events.get(account_id, lte=version))
                    expected = Snapshot.take(project_aggregate(None, events))
                    assert snapshot.state == expected.state
                    assert snapshot.timestamp == events[-1].timestamp
                    taken += 1
    finally:
        app.close()
    assert taken > 0


async def test_the_portal_projects_every_record(dataset, tmp_path) -> None:
    settings, summary = dataset
    engine = make_engine(f"sqlite:///{tmp_path}/portal.sqlite")
    ReadModel.metadata.create_all(engine)
    dead = DeadLetters()
    topics = ["policy.events", "billing.events", "claims.events"]
    core = ConsumerCore(portal_sink(engine), topics, dead)
    with personal_data.using(_vault(settings)):
        for service in ("policy", "billing", "claims"):
            await _consume(core, _records(settings, service))
    assert dead.letters == []
    with Session(engine) as session:
        rows = {
            table: session.scalar(select(func.count()).select_from(table))
            for table in (CertificateView, BillingView, ClaimView, PaymentView)
        }
    assert rows[CertificateView] == rows[BillingView] == summary.certificates
    assert rows[ClaimView] == summary.claims
    assert rows[PaymentView] > summary.certificates
