"""The benchmark data set: a documented, deterministic generator of certificate owners and their
history, written straight into the event stores of policy, billing and claims.

What it makes, per owner (owner i of seed s; the shares are expectations):

- **The owner** (`owner_of`): names, gender, date of birth, email and address from
  `bench/chaos/owners.py` (`make_person`, `contact`), with a fictional government ID
  (`9xx-00-xxxx`: group 00 is never issued) — the personal data identity's registration step 1
  checks (`DatasetOwner.registration()` is its body). One certificate, 15% of owners two.
  Certificate numbers are `7000000000 + 2i + k`; claim numbers `C7` + i (6 digits) + a sequence.
- **Policy**: each certificate issued Active Premium Paying (Whole Life, Universal Life,
  Critical Illness or Accident, 3:2:3:2; a Critical Illness certificate has an Accident rider half
  the time; 70% of CI/AC certificates also insure a spouse and a child), plus its entry in the
  owner's index. Whole Life: the cash value and a dividend on every anniversary. 20% of owners
  update their contact information once (a new street line and cell phone, same ZIP code), on
  every certificate they hold.
- **Billing**: the account (as billing's consumer opens it from CertificateIssued, with its index
  entry and the consumer's marker), then one billing cycle per premium period — bill and
  statement 21 days before the due date, the annual statement after each anniversary — and a
  payment for each period (on or a few days before the due date; 5% late within grace, 4% with
  extra money left in suspense). 2% of payments are reversed (NSF, returned item) and paid again.
  4% of certificates stop paying: the cycle defaults the premium after grace, policy moves the
  certificate to Lapsed (or Reduced Paid Up, Whole Life with cash value) as its consumer would,
  and billing mirrors the status — each reaction with its consumer's marker.
- **Claims**: every certificate on file with claims (as its consumer registers it, with the
  marker); 45% of Critical Illness / Accident certificates (about a quarter of owners) have one
  to three claims, each submitted, adjudicated (one to three benefit lines) and taken through
  Review Complete → Decision Rendered → Paid Not Issued → Issued, or Denied / Not Covered at
  some stage (a quarter); a claim whose next step would fall after the data set's date stays
  where it is.

Size: the certificates' ages are drawn around a mean number of months of history, scaled so
that the whole data set holds about `target_events` stored events (two sample runs of up to 96
owners in memory fit events per owner against months). 100 events per owner (10,000 owners /
1,000,000 events, 1,000 / 100,000) is 24.25 months with seed 11; as the same ratio and seed give
the same months, the smaller data set is the first owners of the larger one.

Determinism: every draw comes from `random.Random` seeded with the seed and the owner's index
(so chunking changes nothing), ids are the domain's own (derived from certificate and claim
numbers) or explicit, and every event is dated at noon UTC of its business date (plus a
millisecond per event of the aggregate) instead of the wall clock, snapshots like the event they
follow: the same seed and sizes into empty stores store the same events. Not deterministic: the
sealed values' ciphertexts (fresh nonces and per-person keys, as in the services).

How it writes: the services' composition roots (`build_policy`, `build_billing`,
`build_claims`: the same databases and tables as in distributed mode, personal fields sealed at
rest with the key store at `database_url_for("keystore")`), the domain aggregates and their
commands (where an application method saves one aggregate at a time — `issue_certificate`,
`open_account`, `submit_claim` — its construction is mirrored; `issue_arguments` gives the
exact arguments; the tests compare the results with `issue_certificate`'s and the consumers'),
each event labelled with the cause the service's API, billing cycle or consumer gives it.
Chunks of owners of about 1,000 events (`SAVE_EVENTS`; about 900 in billing's transaction,
fewer than 100 in policy's and claims') are stored with one `app.save(*aggregates)` per
service, after the keys they seal with are created in one transaction (`create_keys`), and
followed by their snapshots in one more (`snapshots_of`: what the library takes, without
reloading each aggregate). Measured on PostgreSQL: 1,000 events a chunk is about 20% faster
than 400; keys created one transaction each and snapshots taken one reload and transaction each
cost about 30% and 25% more. Each service's Outbox maps every stored event to its contract
except the deliberately internal ones (indexes, claims' registry, billing's status mirror, the
consumers' markers), so the relays and the portal's projection read it like any other history.
No consumer position is recorded: consumers that receive these events later (billing's and
claims' on CertificateIssued, policy's on PremiumDefaulted, billing's on
CertificateStatusChanged) find the markers and skip them, as after a redelivery.

Not generated: documents and identity. Their consumers react to these events once the relays
publish them (identity learns the owners from CertificateIssued, so owners can register;
documents would render the bills and EOBs). The databases (policy, billing, claims, keystore)
must exist; the stores must not hold this data set yet (`DatasetExists`).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable
from copy import deepcopy
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from eventsourcing.application import project_aggregate
from eventsourcing.domain import Aggregate
from sqlalchemy import select

from bench.chaos.owners import Person, contact, make_person, personal_step
from services.billing.application import BillingApplication
from services.billing.consumers import CONSUMER_NAME as BILLING_CONSUMER
from services.billing.domain import BillingAccount
from services.billing.main import build_billing
from services.billing.schedule import BILLABLE, billing_horizon
from services.claims.application import ClaimsApplication
from services.claims.consumers import CONSUMER_NAME as CLAIMS_CONSUMER
from services.claims.domain import CertificateOnFile, Claim
from services.claims.main import build_claims
from services.policy.application import PolicyApplication
from services.policy.consumers import CONSUMER_NAME as POLICY_CONSUMER
from services.policy.domain import Certificate
from services.policy.main import build_policy
from services.policy.nonforfeiture import option_at_issue
from services.policy.products import PRODUCT_NAMES, ProductCode
from services.policy.statuses import CertificateStatus
from services.policy.values import Agent, Benefit, ContactInformation, Insured, OwnerParty, plain
from shared import personal_data
from shared.contracts.types import PaymentFrequency
from shared.dates import add_months
from shared.eventstore import ServiceApplication, caused_by, rules_key
from shared.messaging.eventsourced_sink import ProcessedEvent
from shared.sealing import seal_state
from shared.settings import Settings

NAME = "bench.dataset"
AS_OF = date(2024, 6, 28)  # the data set's "today": every history ends on or before it
FIRST_CERTIFICATE = 7_000_000_000
MAX_OWNERS = 1_000_000
SAVE_EVENTS = 1_000  # about this many events per chunk of owners
CALIBRATION_OWNERS = 96
MIN_MONTHS, MAX_MONTHS = 1.0, 360.0
SERVICES = ("policy", "billing", "claims")

PRODUCTS = {
    ProductCode.WHOLE_LIFE: 3,
    ProductCode.UNIVERSAL_LIFE: 2,
    ProductCode.CRITICAL_ILLNESS: 3,
    ProductCode.ACCIDENT: 2,
}
FREQUENCIES = {
    PaymentFrequency.MONTHLY: 6,
    PaymentFrequency.QUARTERLY: 2,
    PaymentFrequency.SEMI_ANNUAL: 1,
    PaymentFrequency.ANNUAL: 1,
}
METHODS = ("Direct Premium Notice", "ACH/EFT", "List Bill")
AGENTS = (
    Agent(name="Jordan Rivers", phone="860-555-0142", email="jrivers@agency.example"),
    Agent(name="Morgan Ellery", phone="401-555-0177", email="mellery@agency.example"),
)
SERVICES_CLAIMED = (
    "Urgent Care or Emer Physician Treatment",
    "X-Ray",
    "Hospital Admission",
    "Physician Follow-Up Treatment",
    "Diagnostic Exam",
    "Initial Diagnosis",
)
PROVIDERS = ("Universal Provider", "Harbor Urgent Care", "Mystic Valley Clinic", "Elm Imaging")
DENIALS = ("Service not covered by the plan", "Pre-existing condition", "Information not received")

SECOND_CERTIFICATE, FAMILY, CONTACT_UPDATE = 0.15, 0.7, 0.2
LAPSE, LATE, EXTRA, REVERSAL = 0.04, 0.05, 0.04, 0.02
CLAIMANT, DENIED = 0.45, 0.25
CLAIM_STEPS = ("CompleteClaimReview", "RenderClaimDecision", "RecordClaimPayment", "IssueClaim")
NOON = timedelta(hours=12)
CENT, ZERO = Decimal("0.01"), Decimal("0.00")


class DatasetExists(RuntimeError):
    """The stores already hold (part of) this data set: generate into empty ones."""


# --- owners -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DatasetOwner:
    """Owner `index` of a data set: the personal data their certificates were issued with."""

    index: int
    certificate_numbers: tuple[str, ...]
    person: Person
    contact: dict[str, Any]  # as issued (a later update keeps the ZIP code)

    @property
    def certificate_number(self) -> str:
        return self.certificate_numbers[0]

    @property
    def zip_code(self) -> str:
        return self.contact["address"]["zip_code"]

    def registration(self) -> dict[str, Any]:
        """The body of identity's registration step 1 for this owner's first certificate."""
        return personal_step(self.person, self.certificate_number)


def owner_of(seed: int, index: int) -> DatasetOwner:
    """The deterministic personal data of owner `index` (0-based) of the data set `seed`."""
    if not 0 <= index < MAX_OWNERS:
        raise ValueError(f"an owner index is between 0 and {MAX_OWNERS - 1}")
    rng = random.Random(f"{NAME}:{seed}:owner:{index}")
    count = 2 if rng.random() < SECOND_CERTIFICATE else 1
    numbers = tuple(f"{FIRST_CERTIFICATE + 2 * index + k:010d}" for k in range(count))
    person = make_person(rng, numbers[0])
    fictional = f"{rng.randrange(900, 1000)}-00-{rng.randrange(1, 10_000):04d}"
    person = replace(person, government_id=fictional)
    return DatasetOwner(index, numbers, person, contact(rng, person, 0))


def certificate_numbers(seed: int, owners: int) -> list[str]:
    """Every certificate number of a data set of `owners` owners, owner by owner."""
    return [n for i in range(owners) for n in owner_of(seed, i).certificate_numbers]


# --- certificates -----------------------------------------------------------------------------


@dataclass(frozen=True)
class CertificatePlan:
    """One certificate's terms, drawn before its history is played."""

    number: str
    product: ProductCode
    frequency: PaymentFrequency
    method: str
    premium: Decimal  # per period
    coverage: Decimal
    application_date: date
    effective_date: date
    insureds: tuple[Insured, ...]
    benefits: tuple[Benefit, ...]
    lapse_period: int | None  # the first premium period left unpaid, if it lapses


def _weighted(rng: random.Random, weights: dict[Any, int]) -> Any:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _money(value: Decimal | float) -> Decimal:
    return Decimal(value).quantize(CENT)


def _insureds(rng: random.Random, person: Person, family: bool) -> tuple[Insured, ...]:
    owner = Insured(
        insured_id="I1",
        first_name=person.first_name,
        last_name=person.last_name,
        relationship="Owner",
        date_of_birth=person.date_of_birth,
    )
    if not family:
        return (owner,)
    spouse = date(1955, 1, 1) + timedelta(days=rng.randrange(45 * 365))
    child = date(2004, 1, 1) + timedelta(days=rng.randrange(18 * 365))
    names = ("Avery", "Jordan", "Riley", "Morgan", "Casey", "Quinn", "Harper", "Rowan")
    return (
        owner,
        Insured(
            insured_id="I2",
            first_name=rng.choice(names),
            last_name=person.last_name,
            relationship="Spouse",
            date_of_birth=spouse,
        ),
        Insured(
            insured_id="I3",
            first_name=rng.choice(names),
            last_name=person.last_name,
            relationship="Child",
            date_of_birth=child,
        ),
    )


def plan_owner(seed: int, index: int, history_months: float) -> list[CertificatePlan]:
    """The terms of owner `index`'s certificates for a data set of `history_months`."""
    owner = owner_of(seed, index)
    rng = random.Random(f"{NAME}:{seed}:plan:{index}")
    return [_plan(rng, owner.person, n, history_months) for n in owner.certificate_numbers]


def _plan(rng: random.Random, person: Person, number: str, months: float) -> CertificatePlan:
    product: ProductCode = _weighted(rng, PRODUCTS)
    frequency: PaymentFrequency = _weighted(rng, FREQUENCIES)
    age = max(1, round(months * rng.uniform(0.3, 1.7)))
    effective = add_months(date(AS_OF.year, AS_OF.month, rng.randint(1, 28)), -age)
    claimable = product in (ProductCode.CRITICAL_ILLNESS, ProductCode.ACCIDENT)
    insureds = _insureds(rng, person, claimable and rng.random() < FAMILY)
    life = not claimable
    coverage = _money(Decimal(rng.randrange(10, 250) * 1000))
    codes = [product.value]
    if product == ProductCode.CRITICAL_ILLNESS and rng.random() < 0.5:
        codes.append(ProductCode.ACCIDENT.value)
    benefits = tuple(
        Benefit(
            benefit_id=f"{code}1",
            coverage_code=code,
            status="Active Premium Paying",
            effective_date=effective,
            coverage_amount=coverage if life else None,
            insureds=list(insureds),
        )
        for code in codes
    )
    periods = age // frequency.months
    lapses = periods > 2 and rng.random() < LAPSE
    return CertificatePlan(
        number=number,
        product=product,
        frequency=frequency,
        method=rng.choice(METHODS),
        premium=_money(Decimal(rng.randrange(900, 9000)) / 100 * frequency.months),
        coverage=coverage,
        application_date=effective - timedelta(days=rng.randrange(12, 60)),
        effective_date=effective,
        insureds=insureds,
        benefits=benefits,
        lapse_period=rng.randrange(1, periods) if lapses else None,
    )


def issue_arguments(owner: DatasetOwner, plan: CertificatePlan) -> dict[str, Any]:
    """The arguments of `PolicyApplication.issue_certificate` for this certificate."""
    person = owner.person
    return {
        "certificate_number": plan.number,
        "product_code": plan.product,
        "status": CertificateStatus.ACTIVE_PREMIUM_PAYING,
        "application_date": plan.application_date,
        "effective_date": plan.effective_date,
        "premium": plan.premium,
        "payment_frequency": plan.frequency.value,
        "payment_method": plan.method,
        "payor_name": f"{person.first_name} {person.last_name}",
        "owner": OwnerParty.model_validate(
            {
                "party_id": person.party_id,
                "first_name": person.first_name,
                "last_name": person.last_name,
                "gender": person.gender,
                "date_of_birth": person.date_of_birth,
                "government_id": person.government_id,
                "contact": owner.contact,
            }
        ),
        "benefits": list(plan.benefits),
        "agents": [AGENTS[owner.index % len(AGENTS)]],
        "primary_dividend_option": "Paid Up Additions" if plan.product == "WL" else None,
    }


def _issued(a: dict[str, Any]) -> Certificate:
    """The certificate `PolicyApplication.issue_certificate(**a)` creates (not saved)."""
    product: ProductCode = a["product_code"]
    return Certificate(
        certificate_number=a["certificate_number"],
        product_code=product.value,
        product_name=PRODUCT_NAMES[product],
        status=a["status"].value,
        currency="USD",
        application_date=a["application_date"],
        effective_date=a["effective_date"],
        premium=a["premium"],
        payment_frequency=a["payment_frequency"],
        payment_method=a["payment_method"],
        payor_name=a["payor_name"],
        owner=plain(a["owner"]),
        benefits=[
            {**plain(b), "product_name": PRODUCT_NAMES[ProductCode(b.coverage_code)]}
            for b in a["benefits"]
        ],
        agents=plain(a["agents"]),
        primary_dividend_option=a["primary_dividend_option"],
        nonforfeiture_option=option_at_issue(product.value, None),
    )


# --- one owner's history ----------------------------------------------------------------------


@dataclass
class Batch:
    """What a chunk of owners stores, per service, in save order."""

    items: dict[str, list[Any]] = field(default_factory=lambda: {s: [] for s in SERVICES})

    def events(self) -> int:
        return sum(_pending(item) for items in self.items.values() for item in items)


def _pending(item: Any) -> int:
    return len(item.pending_events) if isinstance(item, Aggregate) else 1


def _instant(day: date, n: int) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC) + NOON + timedelta(milliseconds=n)


def _in_memory(app_class: type[ServiceApplication]) -> Any:
    return app_class(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})


class _Builder:
    """Plays owners' histories into a `Batch` through the domain aggregates, without reading
    any store: the applications' methods it calls (index entries with explicit versions, claims'
    `register_certificate`, which looks for a certificate already on file) run on in-memory
    applications, and the aggregates they answer are saved into the real ones."""

    def __init__(self, seed: int, months: float, next_account_entry: int = 1) -> None:
        self.seed, self.months = seed, months
        self.policy: PolicyApplication = _in_memory(PolicyApplication)
        self.billing: BillingApplication = _in_memory(BillingApplication)
        self.registry: ClaimsApplication = _in_memory(ClaimsApplication)
        self.next_account_entry = next_account_entry
        self.certificates = self.claims = 0
        self._dated: dict[UUID, int] = {}

    def add_owner(self, batch: Batch, index: int) -> None:
        owner = owner_of(self.seed, index)
        rng = random.Random(f"{NAME}:{self.seed}:history:{index}")
        plans = plan_owner(self.seed, index, self.months)
        moved = self._contact_update(rng, owner, plans)
        claim_numbers = (f"C7{index:06d}{n:02d}" for n in range(100))
        for k, plan in enumerate(plans):
            issued_on = plan.application_date + timedelta(days=rng.randrange(5, 12))
            certificate, end = self._certificate(batch, rng, owner, plan, k, issued_on, moved)
            on_file = self._register(batch, certificate, issued_on)
            self._claims(batch, rng, plan, on_file, end, claim_numbers)
        self.certificates += len(plans)
        self._dated.clear()

    def _date(self, item: Any, day: date, kind: str, name: str, actor: str = "") -> None:
        """Dates what `item` recorded since it was last dated (the library would use the clock)
        and labels its cause as the service's API, batch or consumer does (`caused_by`)."""
        start = self._dated.get(item.id, 0) if isinstance(item, Aggregate) else 0
        events = item.pending_events[start:] if isinstance(item, Aggregate) else [item]
        for n, event in enumerate(events, start):
            cause = {"kind": kind, "name": name, **({"actor": actor} if actor else {})}
            object.__setattr__(event, "timestamp", _instant(day, n))
            object.__setattr__(event, "_meta", {"cause": cause})
        if isinstance(item, Aggregate):
            self._dated[item.id] = len(item.pending_events)

    def _reaction(self, item: Any, day: date, consumer: str, event_type: str) -> None:
        self._date(item, day, "reaction", f"{consumer}:{event_type}")

    def _marker(
        self, consumer: str, upstream: Aggregate, version: int, day: date, event_type: str
    ) -> Any:
        """The marker a consumer stores with its reaction to `upstream`'s event `version`."""
        marker = ProcessedEvent(consumer, str(upstream.id), version)
        self._reaction(marker, day, consumer, event_type)
        return marker

    @staticmethod
    def _contact_update(
        rng: random.Random, owner: DatasetOwner, plans: list[CertificatePlan]
    ) -> tuple[date, dict[str, Any]] | None:
        start = max(p.effective_date for p in plans) + timedelta(days=30)
        if rng.random() >= CONTACT_UPDATE or start >= AS_OF:
            return None
        on = start + timedelta(days=rng.randrange((AS_OF - start).days))
        address = {**owner.contact["address"], "street": [f"{rng.randrange(2, 999)} Pier Road"]}
        phones = {"cell": f"401-555-{rng.randrange(100, 10_000):04d}"}
        new = ContactInformation.model_validate(
            {**owner.contact, "address": address, "phones": phones}
        )
        return on, plain(new)  # as `update_contact_information` stores it

    # policy and billing, in date order ---------------------------------------------------

    def _certificate(
        self,
        batch: Batch,
        rng: random.Random,
        owner: DatasetOwner,
        plan: CertificatePlan,
        k: int,
        issued_on: date,
        moved: tuple[date, dict[str, Any]] | None,
    ) -> tuple[Certificate, date]:
        """Issues the certificate, opens its account and plays both up to the data set's date;
        answers the certificate and the last day it was in force."""
        certificate = _issued(issue_arguments(owner, plan))
        entry = self.policy._party_index(certificate.owner_party_id).trigger_event(
            next_originator_version=k + 1, certificate_number=plan.number
        )
        account = self._open_account(batch, certificate, issued_on)
        for item in (certificate, entry):
            self._date(item, issued_on, "command", "IssueCertificate")
        batch.items["policy"] += [certificate, entry]
        actions = sorted(self._actions(rng, plan, issued_on, moved), key=lambda a: a[:2])
        end = AS_OF
        for day, _, kind, payload in actions:
            if kind == "cycle" and self._cycle(batch, certificate, account, day):
                end = day
            elif kind == "payment" and account.in_force:
                self._pay(rng, account, day, payload)
            elif kind == "anniversary" and certificate.status != "Lapsed":
                self._anniversary(rng, certificate, plan, day, payload)
            elif kind == "contact":
                certificate.update_contact(payload)
                party = str(certificate.owner_party_id)
                self._date(certificate, day, "command", "UpdateContactInformation", party)
        return certificate, end

    def _open_account(self, batch: Batch, certificate: Certificate, day: date) -> BillingAccount:
        """What billing's consumer stores on CertificateIssued (`BillingApplication.open_account`
        and the marker), with the index entry's version counted here."""
        c = certificate
        account = BillingAccount(
            certificate_number=c.certificate_number,
            owner_party_id=c.owner_party_id,
            payor_name=c.payor_name,
            payment_frequency=c.payment_frequency,
            payment_method=c.payment_method,
            premium=c.premium,
            effective_date=c.effective_date,
            status=c.status,
        )
        entry = self.billing.account_index.trigger_event(
            next_originator_version=self.next_account_entry,
            certificate_number=c.certificate_number,
        )
        self.next_account_entry += 1
        for item in (account, entry):
            self._reaction(item, day, BILLING_CONSUMER, "CertificateIssued")
        marker = self._marker(BILLING_CONSUMER, c, 1, day, "CertificateIssued")
        batch.items["billing"] += [account, entry, marker]
        return account

    @staticmethod
    def _actions(
        rng: random.Random,
        plan: CertificatePlan,
        issued_on: date,
        moved: tuple[date, dict[str, Any]] | None,
    ) -> Iterable[tuple[date, int, str, Any]]:
        """(day, rank, kind, payload): the cycles and payments of every premium period, the
        anniversaries and the contact update, to be played in date order."""
        months = plan.frequency.months
        period = 0
        while (due := add_months(plan.effective_date, period * months)) - timedelta(21) <= AS_OF:
            yield max(due - timedelta(21), issued_on), period * 3, "cycle", None
            if plan.lapse_period is None or period < plan.lapse_period:
                on = due + timedelta(rng.randrange(3, 25) if rng.random() < LATE else 0)
                on = max(on - timedelta(rng.randrange(0, 8)), issued_on)
                extra = _money(Decimal(rng.randrange(100, 2000)) / 100)
                payment = {
                    "period": period,
                    "extra": extra if rng.random() < EXTRA else None,
                    "reversed": rng.random() < REVERSAL,
                }
                yield on, period * 3 + 1, "payment", payment
            period += 1
        for year in range(1, 60 if plan.product == "WL" else 0):
            anniversary = add_months(plan.effective_date, 12 * year)
            if anniversary > AS_OF:
                break
            yield anniversary, 2, "anniversary", year
        if moved is not None and moved[0] > issued_on:
            yield moved[0], 2, "contact", moved[1]

    def _cycle(
        self, batch: Batch, certificate: Certificate, account: BillingAccount, day: date
    ) -> bool:
        """The billing cycle on one account (`run_billing_cycle`), and when it defaults a
        premium, policy's and billing's reactions. True when the certificate left force."""
        if account.status in BILLABLE:
            account.bill(day, billing_horizon(day))
        defaulted = account.default_unpaid_premium(day)
        account.issue_annual_statement(day)
        self._date(account, day, "batch", "BillingCycle")
        if not defaulted:
            return False
        kind = BillingAccount.PremiumDefaulted
        version = [e for e in account.pending_events if isinstance(e, kind)][-1].originator_version
        marker = self._marker(POLICY_CONSUMER, account, version, day, "PremiumDefaulted")
        batch.items["policy"].append(marker)
        if not certificate.premium_defaulted(day):
            return False
        self._reaction(certificate, day, POLICY_CONSUMER, "PremiumDefaulted")
        account.mirror_status(certificate.status, day)
        self._reaction(account, day, BILLING_CONSUMER, "CertificateStatusChanged")
        version = certificate.version
        marker = self._marker(
            BILLING_CONSUMER, certificate, version, day, "CertificateStatusChanged"
        )
        batch.items["billing"].append(marker)
        return certificate.status == "Lapsed"

    def _pay(
        self, rng: random.Random, account: BillingAccount, day: date, payment: dict[str, Any]
    ) -> None:
        number, period = account.certificate_number, payment["period"]
        amount = account.premium + (payment["extra"] or 0)
        payment_id = f"{number}-P{period:04d}"
        account.receive_payment(
            payment_id=payment_id,
            amount=amount,
            transaction_date=day,
            apply_date=day,
            payment_method=account.payment_method,
        )
        self._date(account, day, "command", "RecordPayment")
        returned = day + timedelta(days=rng.randrange(3, 10))
        again = returned + timedelta(days=rng.randrange(2, 10))
        if not payment["reversed"] or again > AS_OF:
            return
        account.reverse_payment(payment_id, returned, rng.choice(("NSF", "Returned item")))
        self._date(account, returned, "command", "ReversePayment")
        account.receive_payment(
            payment_id=f"{payment_id}-R",
            amount=account.premium,
            transaction_date=again,
            apply_date=again,
            payment_method=account.payment_method,
        )
        self._date(account, again, "command", "RecordPayment")

    def _anniversary(
        self,
        rng: random.Random,
        certificate: Certificate,
        plan: CertificatePlan,
        day: date,
        year: int,
    ) -> None:
        value = _money(plan.coverage * Decimal("0.015") * year * Decimal(rng.uniform(0.9, 1.1)))
        benefit_id = plan.benefits[0].benefit_id
        certificate.update_cash_value(day, value, {benefit_id: value})
        self._date(certificate, day, "command", "UpdateCashValue")
        dividend = _money(plan.coverage * Decimal(rng.uniform(0.001, 0.003)))
        certificate.credit_dividend(day, dividend, None)
        self._date(certificate, day, "command", "CreditDividend")

    # claims ------------------------------------------------------------------------------------

    def _register(self, batch: Batch, certificate: Certificate, day: date) -> CertificateOnFile:
        """What claims' consumer stores on CertificateIssued (the registry entry and marker)."""
        c = certificate
        owner = c.owner
        benefits = [
            {
                "coverage_code": b["coverage_code"],
                "insureds": [
                    {k: i[k] for k in ("insured_id", "first_name", "last_name", "relationship")}
                    for i in b["insureds"]
                ],
            }
            for b in c.benefits.values()
        ]
        (on_file,) = self.registry.register_certificate(
            certificate_number=c.certificate_number,
            owner_party_id=c.owner_party_id,
            owner_name=f"{owner['first_name']} {owner['last_name']}",
            benefits=benefits,
        )
        self._reaction(on_file, day, CLAIMS_CONSUMER, "CertificateIssued")
        marker = self._marker(CLAIMS_CONSUMER, c, 1, day, "CertificateIssued")
        batch.items["claims"] += [on_file, marker]
        return on_file

    def _claims(
        self,
        batch: Batch,
        rng: random.Random,
        plan: CertificatePlan,
        on_file: CertificateOnFile,
        end: date,
        numbers: Iterable[str],
    ) -> None:
        first, last = plan.effective_date + timedelta(days=15), min(end, AS_OF) - timedelta(3)
        if not on_file.claimable or rng.random() >= CLAIMANT or last <= first:
            return
        count = 1 + (rng.random() < 0.4) + (rng.random() < 0.15)
        services = sorted(
            first + timedelta(rng.randrange((last - first).days)) for _ in range(count)
        )
        for service_date, number in zip(services, numbers, strict=False):
            claim = self._submit(rng, plan, on_file, number, service_date)
            self._advance(rng, claim, claim.submitted_on)
            batch.items["claims"].append(claim)
            self.claims += 1

    def _submit(
        self,
        rng: random.Random,
        plan: CertificatePlan,
        on_file: CertificateOnFile,
        number: str,
        service_date: date,
    ) -> Claim:
        """`ClaimsApplication.submit_claim`'s new claim, with its benefit lines."""
        lines = [
            (rng.choice(SERVICES_CLAIMED), _money(Decimal(rng.randrange(5_000, 90_000)) / 100))
            for _ in range(rng.randint(1, 3))
        ]
        submitted_on = min(service_date + timedelta(days=rng.randrange(1, 20)), AS_OF)
        patient = on_file.patient(rng.choice(plan.insureds).insured_id)
        claim = Claim.submit(
            claim_number=number,
            certificate_number=plan.number,
            group_number=f"G{int(plan.number) % 997:05d}",
            account_number="",
            member_id=plan.number,
            patient=patient,
            provider=rng.choice(PROVIDERS),
            service_date=service_date,
            submitted_amount=sum((a for _, a in lines), Decimal(0)),
            submitted_on=submitted_on,
            paid_to=on_file.owner_name,
            owner_party_id=on_file.owner_party_id,
        )
        self._date(claim, submitted_on, "command", "SubmitClaim")
        for kind, amount in lines:
            excluded = _money(amount * Decimal("0.2")) if rng.random() < 0.15 else Decimal(0)
            claim.adjudicate_line(
                line_id=None,
                date_of_service=service_date,
                type_of_service=kind,
                amount_claimed=amount,
                excluded_amount=excluded,
            )
            self._date(claim, submitted_on, "command", "AdjudicateClaimLine")
        return claim

    def _advance(self, rng: random.Random, claim: Claim, on: date) -> None:
        """Review, decision, payment and issue — or a denial at some stage — each a few days
        after the previous step, as long as it falls on or before the data set's date."""
        denied_at = rng.randrange(3) if rng.random() < DENIED else None
        not_covered = rng.random() < 0.2
        deductible = _money(Decimal(rng.choice((0, 0, 25, 50))))
        for stage in range(4):
            on += timedelta(days=rng.randrange(1, 12))
            if on > AS_OF:
                return
            if stage == denied_at:
                claim.deny(on, rng.choice(DENIALS), not_covered=not_covered)
                self._date(claim, on, "command", "DenyClaim")
                return
            if stage == 0:
                claim.complete_review(on)
            elif stage == 1:
                benefits = sum((line["benefit_amount"] for line in claim.lines.values()), ZERO)
                claim.render_decision(on, deductible_applied=min(deductible, _money(benefits / 2)))
            elif stage == 2:
                claim.record_payment(on)
            else:
                claim.issue(on)
            self._date(claim, on, "command", CLAIM_STEPS[stage])


# --- sizing -----------------------------------------------------------------------------------


def _events_per_owner(seed: int, owners: int, months: float) -> float:
    builder = _Builder(seed, months)
    total = 0
    for index in range(owners):
        batch = Batch()
        builder.add_owner(batch, index)
        total += batch.events()
    return total / owners


def history_months(seed: int, owners: int, target_events: int) -> float:
    """The mean months of history that make `owners` owners hold about `target_events`
    events: events per owner measured in memory on up to 96 owners at 12 and 36 months."""
    sample = min(owners, CALIBRATION_OWNERS)
    low, high = _events_per_owner(seed, sample, 12.0), _events_per_owner(seed, sample, 36.0)
    slope = (high - low) / 24.0
    months = 12.0 + (target_events / owners - low) / slope if slope > 0 else 12.0
    return round(min(MAX_MONTHS, max(MIN_MONTHS, months)), 2)


# --- writing ----------------------------------------------------------------------------------


@dataclass
class DatasetSummary:
    """What `generate` stored; `seconds` includes sizing and opening the stores."""

    owners: int
    certificates: int
    claims: int
    events: dict[str, int]  # stored events per service (policy, billing, claims)
    seconds: float
    events_per_second: float
    seed: int
    target_events: int
    history_months: float

    @property
    def total_events(self) -> int:
        return sum(self.events.values())


def snapshots_of(app: ServiceApplication, items: list[Any]) -> list[Any]:
    """The snapshots `app` takes when it saves these new aggregates: each one at every version
    that is a multiple of its class's snapshotting interval, dated like the event at that
    version. Projected here from the aggregates' pending events (call before saving), so that
    the writer stores them in one transaction where the library reloads each aggregate and
    stores each snapshot in a transaction of its own."""
    taken = []
    for item in items:
        interval = type(app).snapshotting_intervals.get(type(item))
        if interval is None:
            continue
        events, aggregate = item.pending_events, None
        assert events[0].originator_version == 1, "only new aggregates are generated"
        for version in range(interval, len(events) + 1, interval):
            aggregate = project_aggregate(aggregate, events[version - interval : version])
            kind = getattr(type(aggregate), "Snapshot", type(app).snapshot_class)
            snapshot = kind.take(deepcopy(aggregate))
            object.__setattr__(snapshot, "timestamp", events[version - 1].timestamp)
            taken.append(snapshot)
    return taken


def keys_needed(app: ServiceApplication, items: list[Any]) -> set[tuple[str, str]]:
    """(subject, key class) of every key `app`'s mapper will seal these items' personal fields
    with (the same rules, a sealer that only takes note)."""
    needed: set[tuple[str, str]] = set()

    def note(subject: Any, _value: Any, key_class: str) -> str:
        needed.add((str(subject), key_class))
        return ""

    for item in items:
        for event in item.pending_events if isinstance(item, Aggregate) else [item]:
            rules = app.personal_fields.get(rules_key(event), ())
            if rules:
                seal_state(dict(vars(event)), rules, note)
    return needed


def create_keys(vault: personal_data.Vault, needed: set[tuple[str, str]]) -> int:
    """Creates the keys of `needed` the key store does not hold yet, in one transaction, as
    `Vault` creates each on first use in a transaction of its own; answers how many."""
    kids = {personal_data.key_id(subject, kind): (subject, kind) for subject, kind in needed}
    table = personal_data.person_keys
    now = datetime.now(UTC)  # the key store's own bookkeeping, not an event
    with vault.engine.begin() as connection:
        query = select(table.c.subject_id).where(table.c.subject_id.in_(list(kids)))
        present = set(connection.execute(query).scalars())
        rows = [
            {"subject_id": kid, "key": AESGCM.generate_key(bit_length=256), "created_at": now,
             "person_id": subject, "key_class": kind}
            for kid, (subject, kind) in kids.items()
            if kid not in present
        ]  # fmt: skip
        if rows:
            connection.execute(table.insert(), rows)
    return len(rows)


class _Writer:
    """Saves each service's part of a batch in one transaction, after creating the keys it
    seals with in one, then its snapshots in one more; counts the events it stored."""

    def __init__(
        self,
        apps: dict[str, ServiceApplication],
        vault: personal_data.Vault,
    ) -> None:
        self.apps = apps
        self.vault = vault
        self.events = dict.fromkeys(SERVICES, 0)
        for app in apps.values():
            app.snapshotting_intervals = {}  # this instance: `snapshots_of` takes them instead

    def flush(self, batch: Batch) -> int:
        """Stores the batch; answers the number of events stored so far."""
        for service, items in batch.items.items():
            if not items:
                continue
            app = self.apps[service]
            snapshots = snapshots_of(app, items)
            create_keys(self.vault, keys_needed(app, items + snapshots))
            self.events[service] += len(app.save(*items))
            if snapshots:
                app.snapshots.put(snapshots)
        return sum(self.events.values())


def _check(owners: int, target_events: int) -> None:
    if not 1 <= owners <= MAX_OWNERS:
        raise ValueError(f"owners is between 1 and {MAX_OWNERS}")
    if target_events < owners:
        raise ValueError("target_events must be at least one per owner")


def _next_account_entry(billing: BillingApplication) -> int:
    last = billing.account_index.get_last()
    return 1 if last is None else last.originator_version + 1


def generate(
    settings: Settings,
    owners: int,
    target_events: int,
    seed: int = 11,
    on_progress: Callable[[int], None] | None = None,
) -> DatasetSummary:
    """Writes the data set (see the module docstring) into the event stores `settings` names;
    `on_progress` gets the number of events stored so far after every chunk of owners."""
    _check(owners, target_events)
    started = time.perf_counter()
    months = history_months(seed, owners, target_events)
    apps: dict[str, Any] = {
        "policy": build_policy(settings),
        "billing": build_billing(settings),
        "claims": build_claims(settings),
    }
    vault = personal_data.vault_at(settings.database_url_for("keystore"))
    writer = _Writer(apps, vault)
    try:
        with personal_data.using(vault), caused_by("batch", NAME):
            first = owner_of(seed, 0).certificate_number
            if apps["billing"].find_account(first) is not None:
                raise DatasetExists(f"certificate {first} already has a billing account")
            builder = _Builder(seed, months, _next_account_entry(apps["billing"]))
            _play(builder, writer, owners, on_progress or (lambda _: None))
    finally:
        for app in apps.values():
            app.close()
    seconds = time.perf_counter() - started
    total = sum(writer.events.values())
    return DatasetSummary(
        owners=owners,
        certificates=builder.certificates,
        claims=builder.claims,
        events=writer.events,
        seconds=round(seconds, 3),
        events_per_second=round(total / seconds, 1) if seconds else 0.0,
        seed=seed,
        target_events=target_events,
        history_months=months,
    )


def _play(builder: _Builder, writer: _Writer, owners: int, progress: Callable[[int], None]) -> None:
    """Builds chunks of owners and stores each (about `SAVE_EVENTS` events a chunk).
    A writer thread overlapping the next chunk's building was no faster: both are Python."""
    batch = Batch()
    for index in range(owners):
        builder.add_owner(batch, index)
        if batch.events() >= SAVE_EVENTS or index + 1 == owners:
            progress(writer.flush(batch))
            batch = Batch()
