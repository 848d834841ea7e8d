"""The envelope every integration event travels in (DESIGN.md §2).

Personal fields travel sealed: a contract lists them in `personal` (`shared.sealing.Rule`s);
`Envelope.wrap` seals them with the process's key store and `parse_event` opens them (or puts
each rule's `erased` value when the person's key has been shredded)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, ClassVar, Self
from uuid import UUID, uuid5

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from shared.contracts.types import CertificateNumber
from shared.sealing import Open, Rule, Seal, open_state, seal_state, vault_opener, vault_sealer

EVENT_ID_NAMESPACE = UUID("6f0c1a52-7d3b-4e0b-9d0e-2b1c6a9e5f11")


class IntegrationEvent(BaseModel):
    """Base of every payload. Subclasses set `event_type` and `schema_version`."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    event_type: ClassVar[str]
    schema_version: ClassVar[int] = 1
    producer: ClassVar[str]
    # Personal fields, sealed on the wire (see the module docstring).
    personal: ClassVar[tuple[Rule, ...]] = ()

    @classmethod
    def from_domain(cls, domain_event: object, **overrides: object) -> Self:
        """The contract of a domain event whose attributes carry the contract's field names;
        `overrides` supply (or replace) the fields the domain event names differently.
        Validation fails loudly when a required field is missing."""
        fields = {
            name: getattr(domain_event, name)
            for name in cls.model_fields
            if name not in overrides and hasattr(domain_event, name)
        }
        return cls(**fields, **overrides)


class Envelope(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    event_id: UUID
    event_type: str = Field(min_length=1)
    schema_version: int = Field(ge=1)
    occurred_at: AwareDatetime
    producer: str = Field(min_length=1)
    aggregate_id: UUID
    aggregate_version: int = Field(ge=1)
    certificate_number: CertificateNumber
    data: dict[str, Any]

    @classmethod
    def wrap(
        cls,
        event: IntegrationEvent,
        *,
        aggregate_id: UUID,
        aggregate_version: int,
        occurred_at: datetime,
        certificate_number: str,
        seal: Seal | None = None,
    ) -> Envelope:
        """`seal` defaults to the process's key store (`personal_data.install`)."""
        data = event.model_dump(mode="json")
        if event.personal:
            data = seal_state(data, event.personal, seal or _installed_sealer())
        return cls(
            # Deterministic: a re-published event keeps its id.
            event_id=uuid5(EVENT_ID_NAMESPACE, f"{aggregate_id}:{aggregate_version}"),
            event_type=event.event_type,
            schema_version=event.schema_version,
            occurred_at=occurred_at,
            producer=event.producer,
            aggregate_id=aggregate_id,
            aggregate_version=aggregate_version,
            certificate_number=certificate_number,
            data=data,
        )

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode()

    @property
    def idempotency_key(self) -> tuple[str, int]:
        return str(self.aggregate_id), self.aggregate_version


class ContractError(ValueError):
    """A message that is not a valid integration event (it goes to the DLQ)."""


def _installed_sealer() -> Seal:
    from shared.personal_data import installed

    return vault_sealer(installed())


def _installed_opener() -> Open:
    from shared.personal_data import installed

    return vault_opener(installed())


def parse_event(raw: bytes, open_: Open | None = None) -> tuple[Envelope, IntegrationEvent | None]:
    """Parse and validate a message. Unknown event types give `(envelope, None)`.

    A payload of an older `schema_version` is upcast first (`upcasting.py`): the envelope
    returned carries the version and data the event was upcast to (its personal fields still
    sealed); the event has them opened with `open_` (default: the process's key store)."""
    try:
        envelope = Envelope.model_validate(json.loads(raw))
    except (ValueError, TypeError) as exc:  # JSONDecodeError and ValidationError are ValueErrors
        raise ContractError(f"not a valid envelope: {exc}") from exc
    return unwrap(envelope, open_)


def unwrap(
    envelope: Envelope, open_: Open | None = None
) -> tuple[Envelope, IntegrationEvent | None]:
    """The event an envelope carries (`parse_event` after the bytes): upcast, personal fields
    opened, validated. A consumer in the producer's own process (`portal replay` from the
    event stores) unwraps the envelope `Envelope.wrap` made without the trip through bytes."""
    from shared.contracts.registry import contract_for
    from shared.contracts.upcasting import UpcastingError, upcast

    try:
        version, data = upcast(envelope.event_type, envelope.schema_version, envelope.data)
    except UpcastingError as exc:
        raise ContractError(str(exc)) from exc
    if version != envelope.schema_version:
        envelope = envelope.model_copy(update={"schema_version": version, "data": data})
    model = contract_for(envelope.event_type, envelope.schema_version)
    if model is None:
        return envelope, None
    data = envelope.data
    if model.personal:
        data = open_state(data, model.personal, open_ or _installed_opener())
    try:
        return envelope, model.model_validate(data)
    except ValueError as exc:
        raise ContractError(
            f"invalid {envelope.event_type} v{envelope.schema_version} payload: {exc}"
        ) from exc
