"""A portal fed in memory: policy and billing applications, their real outboxes, the real
portal sink on a SQLite file, and sessions started by identity's contract events."""

from __future__ import annotations

import asyncio
import secrets
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from uuid import UUID, uuid4

from services.billing.application import BillingApplication
from services.billing.integration import to_integration as billing_contracts
from services.policy.application import PolicyApplication
from services.policy.integration import PolicyContracts
from services.portal.auth import token_digest
from services.portal.projections import portal_sink
from services.portal.readmodels import ReadModel
from shared.contracts import identity
from shared.contracts.envelope import Envelope
from shared.messaging.consumer import ConsumerCore
from shared.messaging.outbox import Outbox
from shared.personal_data import KeyedHash, Vault, install
from shared.sqldb import make_engine
from tests.factories import issue_kwargs, party_id


class DeadLetterList:
    def __init__(self) -> None:
        self.letters: list[tuple] = []

    async def publish(self, *args) -> None:
        self.letters.append(args)


class PortalHarness:
    def __init__(self, directory: Path) -> None:
        self.engine = make_engine(f"sqlite:///{directory}/portal.sqlite")
        ReadModel.metadata.create_all(self.engine)
        self.vault = install(Vault(make_engine(f"sqlite:///{directory}/keys.sqlite")))
        self.hasher = KeyedHash(b"k" * 32)
        self.policy = PolicyApplication()
        self.billing = BillingApplication()
        self.dead = DeadLetterList()
        self.core = ConsumerCore(
            portal_sink(self.engine),
            ["policy.events", "billing.events", "identity.events"],
            self.dead,
        )
        self.outboxes = {
            "policy.events": Outbox(
                self.policy, "policy.events", PolicyContracts(self.vault, self.hasher)
            ),
            "billing.events": Outbox(self.billing, "billing.events", billing_contracts),
        }
        self._identity_offset = 0

    def deliver(self) -> None:
        asyncio.run(self._deliver())

    async def _deliver(self) -> None:
        for topic, outbox in self.outboxes.items():
            position = self.core.sink.position(topic, 0) or 0
            records, _ = outbox.read(position, 10_000)
            for record in records:
                await self.core.handle(topic, 0, record.position, record.value, {})

    def issue(self, number: str, owner: str = "avery", **kwargs) -> None:
        certificate = self.policy.issue_certificate(**issue_kwargs(number, owner=owner, **kwargs))
        self.billing.save(
            *self.billing.open_account(
                certificate_number=number,
                owner_party_id=certificate.owner_party_id,
                payor_name=certificate.payor_name,
                payment_frequency=certificate.payment_frequency,
                payment_method=certificate.payment_method,
                premium=certificate.premium,
                effective_date=certificate.effective_date,
            )
        )
        self.deliver()

    def pay(self, number: str, amount: str, on) -> None:
        self.billing.record_payment(number, amount=Decimal(amount), transaction_date=on)
        self.deliver()

    def sign_in(self, owner: str, number: str, expires_in: timedelta = timedelta(hours=1)) -> str:
        """A session as identity would announce it; answers the bearer token."""
        token = secrets.token_urlsafe(32)
        account_id = uuid4()
        party = UUID(party_id(owner))
        self._publish_identity(
            identity.UserRegistered(
                certificate_number=number,
                account_id=account_id,
                user_id=owner,
                party_id=party,
                preferred_language="English",
                preferred_date_format="mm/dd/yyyy",
            ),
            account_id,
            1,
        )
        self._publish_identity(
            identity.SessionStarted(
                certificate_number=number,
                account_id=account_id,
                party_id=party,
                session_id=uuid4(),
                token_digest=token_digest(token),
                expires_at=datetime.now(UTC) + expires_in,
            ),
            account_id,
            2,
        )
        return token

    def _publish_identity(self, event, aggregate_id: UUID, version: int) -> None:
        envelope = Envelope.wrap(
            event,
            aggregate_id=aggregate_id,
            aggregate_version=version,
            occurred_at=datetime.now(UTC),
            certificate_number=event.certificate_number,
        )
        self._identity_offset += 1
        asyncio.run(
            self.core.handle("identity.events", 0, self._identity_offset, envelope.to_bytes(), {})
        )
