"""Reading the services' event stores for `audit.py`: every stored event, decoded, with what
links it to certificates, claims and owners.

Read-only: only `select_notifications` on each store's recorder, in pages from notification id
0, through each service's application built as its processes build it (`build_<name>`), so the
same code reads the embedded SQLite files and the distributed PostgreSQL databases; embedded
stores that do not exist are skipped, not created. Policy's contracts are computed with
placeholder sealing and hashing, so no personal-data key is opened or created.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any
from uuid import uuid5

from shared.contracts.envelope import EVENT_ID_NAMESPACE, IntegrationEvent
from shared.contracts.types import pad_certificate_number
from shared.eventstore import ServiceApplication, event_metadata
from shared.messaging.eventsourced_sink import ProcessedEvent
from shared.personal_data import Blindfold, using
from shared.settings import Settings

SERVICES = ("policy", "billing", "identity", "documents", "claims")
PAGE = 500
_BOOKKEEPING = {"timestamp", "originator_id", "originator_version", "originator_topic", "_meta"}
_REF_FIELDS = ("account_id", "party_id", "owner_party_id", "session_id")

Mapping = Callable[[Any], IntegrationEvent | None]
PageProgress = Callable[[int], None]
StoreProgress = Callable[[str, int], PageProgress]


@dataclass(frozen=True)
class StoredRecord:
    """One stored event, decoded, with what links it to certificates, claims and owners."""

    service: str
    position: int
    aggregate_id: str
    version: int
    event: str
    recorded_at: datetime
    meta: dict[str, Any]
    field_names: tuple[str, ...]
    certificate_number: str | None = None
    claim_number: str | None = None
    refs: frozenset[str] = frozenset()
    source_aggregate: str | None = None
    contract: IntegrationEvent | None = None
    upstream: tuple[str, int] | None = None
    cause_event: str | None = None


def event_id_of(aggregate_id: str, version: int) -> str:
    """The envelope's deterministic event id (`Envelope.wrap`)."""
    return str(uuid5(EVENT_ID_NAMESPACE, f"{aggregate_id}:{version}"))


def read_store(
    service: str,
    app: ServiceApplication,
    to_integration: Mapping,
    on_page: PageProgress | None = None,
) -> list[StoredRecord]:
    """Every event in one service's store, in notification order (read-only)."""
    recorder = app.process_recorder
    records: list[StoredRecord] = []
    after = 0
    while notifications := recorder.select_notifications(
        start=after, limit=PAGE, inclusive_of_start=False
    ):
        for notification in notifications:
            domain_event = app.mapper.to_domain_event(notification)
            records.append(_decode(service, notification.id, domain_event, to_integration))
        after = notifications[-1].id
        if on_page:
            on_page(after)
    return _link_reactions(records)


def _decode(service: str, position: int, e: Any, to_integration: Mapping) -> StoredRecord:
    attrs = vars(e)
    try:
        contract = to_integration(e)
    except Exception:  # an old event its mapping no longer accepts: listed without a contract
        contract = None
    certificate = getattr(contract, "certificate_number", None) or attrs.get("certificate_number")
    refs = {str(attrs[name]) for name in _REF_FIELDS if attrs.get(name)}
    if isinstance(attrs.get("owner"), dict) and attrs["owner"].get("party_id"):
        refs.add(str(attrs["owner"]["party_id"]))
    source = attrs.get("source")
    marker = isinstance(e, ProcessedEvent.Processed)  # type: ignore[attr-defined]
    return StoredRecord(
        service=service,
        position=position,
        aggregate_id=str(e.originator_id),
        version=e.originator_version,
        event=type(e).__qualname__,
        recorded_at=e.timestamp.astimezone(UTC),
        meta=event_metadata(e),
        field_names=tuple(name for name in attrs if name not in _BOOKKEEPING),
        certificate_number=_padded(certificate),
        claim_number=attrs.get("claim_number")
        if isinstance(attrs.get("claim_number"), str)
        else None,
        refs=frozenset(refs),
        source_aggregate=source.split(":")[0]
        if isinstance(source, str) and ":" in source
        else None,
        contract=contract,
        upstream=(str(attrs["aggregate_id"]), int(attrs["version"])) if marker else None,
    )


def _padded(number: object) -> str | None:
    try:
        return pad_certificate_number(number) if number else None
    except ValueError:
        return None


def _link_reactions(records: list[StoredRecord]) -> list[StoredRecord]:
    """A reaction's events are stored in one transaction with the consumer's marker, right
    after them: walking back from each marker, its upstream event is their `cause_event`."""
    linked = list(records)
    upstream: str | None = None
    for index in range(len(linked) - 1, -1, -1):
        record = linked[index]
        if record.upstream is not None:
            upstream = event_id_of(*record.upstream)
        elif (record.meta.get("cause") or {}).get("kind") == "reaction" and upstream:
            linked[index] = replace(record, cause_event=upstream)
        else:
            upstream = None
    return linked


def policy_mapping() -> Mapping:
    """Policy's contracts, computed without the key store (see `Blindfold`)."""
    from services.policy.integration import PolicyContracts

    return PolicyContracts(Blindfold(), _PlaceholderHash())  # type: ignore[arg-type]


def _mappings() -> dict[str, tuple[Callable[[Settings], Any], Mapping]]:
    """Per service: how its processes build its application, and its contract mapping."""
    from services.billing.integration import to_integration as billing
    from services.billing.main import build_billing
    from services.claims.integration import to_integration as claims
    from services.claims.main import build_claims
    from services.documents.integration import to_integration as documents
    from services.documents.main import build_documents
    from services.identity.integration import to_integration as identity
    from services.identity.main import build_identity
    from services.policy.main import build_policy

    return {
        "policy": (build_policy, policy_mapping()),
        "billing": (build_billing, billing),
        "identity": (build_identity, identity),
        "documents": (build_documents, documents),
        "claims": (build_claims, claims),
    }


class _PlaceholderHash:
    def digest(self, kind: str, value: str) -> str:
        return "0" * 64


def missing_stores(settings: Settings) -> list[str]:
    """Embedded mode: the services whose SQLite store does not exist (nothing to read; the
    audit does not create it)."""
    if settings.mode != "embedded" and settings.database_url:
        return []
    return [name for name in SERVICES if not settings.sqlite_path(name).exists()]


@contextmanager
def _application(builder: Callable[[Settings], Any], settings: Settings) -> Iterator[Any]:
    app = builder(settings)
    try:
        yield app
    finally:
        app.close()


def load_records(settings: Settings, progress: StoreProgress | None = None) -> list[StoredRecord]:
    """Every event of every service's store (skipping embedded stores that do not exist).

    Read blindfolded: sealed personal fields stay unopened and no key is created."""
    absent = set(missing_stores(settings))
    records: list[StoredRecord] = []
    for service, (builder, mapping) in _mappings().items():
        if service in absent:
            continue
        with _application(builder, settings) as app, using(Blindfold()):
            total = app.process_recorder.max_notification_id() or 0
            on_page = progress(service, total) if progress else None
            records.extend(read_store(service, app, mapping, on_page))
    return records
