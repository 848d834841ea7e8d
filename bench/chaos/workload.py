"""The chaos harness's workload: a seeded stream of realistic commands against the distributed
topology's HTTP APIs, and what each acknowledged command must have left in the event stores.

Commands (`COMMAND_KINDS`): certificates issued (policy), billing cycles, payments and their
reversals (billing), claims submitted and adjudicated step by step to Issued or Denied (claims),
contact updates (policy directly, and owners' own through the portal's profile), documents
opened, owners registered and logged in (portal → identity).

The stream is open-loop-ish: commands start at `rate` per second (exponential gaps from
`random.Random(seed)`), each in its own task, at most `max_in_flight` at once. What a command
does is decided when it starts, from the workload's model of every certificate, payment and
claim (only acknowledged effects enter the model); the entities a command works on are reserved
until it ends, so concurrent commands never contradict each other.

Failures: 5xx, timeouts and dropped connections (expected while faults are injected) are retried
with the same ids and exponential backoff, `retries` times; a 409 after an attempt that may have
been applied means it was, and counts as acknowledged. "Not yet" answers — billing has no
account, claims has no certificate, identity does not know the owner, the portal does not know
a fresh session — are waited out for `not_yet_timeout` seconds. Any other 4xx is a bug of this
generator: counted as `rejected:<command>:<status>`, its body logged once.

Dates: certificates take effect within `EFFECTIVE_SPREAD_DAYS` of `business_date`, billing
cycles run "as of" a date of the following month (every premium due then is billed, none is
defaulted, so payments are never refused), claims and payments fall after the effective date.

`counts` keys: `sent:K`, `acknowledged:K`, `failed:K` (retries or the wait exhausted),
`cancelled:K`, `error:K` (an exception in the generator), `rejected:K:S`, `attempts:K`,
`retried:K`, `not_yet:K`, `status:K:S` (S an HTTP status, `connect_error`, `timeout` or
`connection_error`), `settled_by_conflict:K`.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import random
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, NoReturn
from urllib.parse import urlsplit

import httpx

from bench.chaos import owners as people
from bench.chaos.endpoints import Endpoints
from bench.chaos.owners import OwnerLogin, Person

log = logging.getLogger(__name__)

COMMAND_KINDS = (
    "IssueCertificate",
    "RunBillingCycle",
    "RecordPayment",
    "ReversePayment",
    "SubmitClaim",
    "AdjudicateClaimLine",
    "CompleteClaimReview",
    "RenderClaimDecision",
    "RecordClaimPayment",
    "IssueClaim",
    "DenyClaim",
    "UpdateContactInformation",
    "UpdateProfile",
    "OpenDocument",
    "RegisterOwner",
    "LogIn",
)
CLAIM_STEPS = (
    "AdjudicateClaimLine",
    "CompleteClaimReview",
    "RenderClaimDecision",
    "RecordClaimPayment",
    "IssueClaim",
    "DenyClaim",
)
# What the stream is made of (AdvanceClaim: the next step of an open claim).
WEIGHTS = {
    "IssueCertificate": 4,
    "RunBillingCycle": 3,
    "RecordPayment": 20,
    "ReversePayment": 5,
    "SubmitClaim": 7,
    "AdvanceClaim": 25,
    "UpdateContactInformation": 6,
    "UpdateProfile": 6,
    "OpenDocument": 12,
    "RegisterOwner": 4,
    "LogIn": 5,
}
# The probability of choosing, among the feasible kinds never acknowledged yet, one of them:
# a short run still exercises every command.
EXPLORE = 0.5

EFFECTIVE_SPREAD_DAYS = 14
CYCLE_AS_OF_DAYS = (14, 30)  # billing cycles run as of business_date + 14..30 days
PRODUCTS = {"WL": 3, "UL": 2, "CI": 3, "AC": 2}
FREQUENCIES = {"Monthly": 6, "Quarterly": 2, "Semi-Annual": 1, "Annual": 1}
METHODS = ("Direct Premium Notice", "ACH/EFT", "List Bill")
PROVIDERS = ("Universal Provider", "Shoreline Urgent Care", "Mystic Valley Clinic")
SERVICES = (
    "Emergency Room Treatment",
    "Urgent Care or Emer Physician Treatment",
    "X-Ray",
    "Physician Office Visit",
    "Accident Follow-Up Treatment",
)
REVERSAL_REASONS = ("Returned item", "NSF", "Stop payment")
DENIAL_REASONS = ("Pre-existing condition", "Service not covered", "Duplicate submission")
CENT = Decimal("0.01")
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


@dataclass
class Expectation:
    """What an acknowledged command must have left in the event store: an integration event
    of `event_type` whose payload has these (never sealed, never personal) field values."""

    command: str
    event_type: str
    match: dict[str, str]


@dataclass
class Payment:
    payment_id: str
    amount: Decimal
    on: date
    reversed: bool = False
    reserved: bool = False


@dataclass
class ClaimState:
    claim_number: str
    certificate_number: str
    patient: str
    service_date: date
    lines: list[Decimal]  # the amounts of the lines to adjudicate
    deny_at: str | None  # None: paid and issued; else the status it is denied from
    status: str = "Submitting"
    status_date: date | None = None
    lines_done: int = 0
    busy: bool = True
    lost: bool = False  # a step gave up: its effect is unknown, the claim is left alone

    def next_step(self) -> str | None:
        if self.lost or self.status in ("Submitting", "Issued", "Denied", "Not Covered"):
            return None
        if self.lines_done < len(self.lines):
            return "AdjudicateClaimLine"
        if self.status == self.deny_at:
            return "DenyClaim"
        return {
            "Pending": "CompleteClaimReview",
            "Review Complete": "RenderClaimDecision",
            "Decision Rendered": "RecordClaimPayment",
            "Paid Not Issued": "IssueClaim",
        }[self.status]


@dataclass
class CertificateState:
    number: str
    product: str
    frequency: str
    premium: Decimal
    effective: date
    person: Person
    insureds: list[dict[str, str]]
    user_id: str
    password: str
    issued: bool = False
    account_known: bool = False
    billed_expected: bool = False
    payments: dict[str, Payment] = field(default_factory=dict)
    next_payment: int = 1
    contact_version: int = 0
    contact_busy: bool = False
    registered: bool = False
    registering: bool = False
    # Step 3 was sent but not confirmed: the owner may be registered (a log-in tells).
    maybe_registered: bool = False
    login: OwnerLogin | None = None

    @property
    def health(self) -> bool:
        return self.product in ("CI", "AC")


class _Rejected(Exception):
    """A 4xx that is neither "not yet" nor "already done": the generator's own bug."""


class _GaveUp(Exception):
    """Retries or the "not yet" wait exhausted: the command's effect is unknown."""


def _money(amount: Decimal) -> Decimal:
    return amount.quantize(CENT)


def _weighted(rng: random.Random, weights: dict[str, int]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


class Workload:
    """See the module docstring. `setup()` then `run()`; `acknowledged`, `counts` and `owners`
    are read by the harness afterwards (and the load test logs in as `owners`)."""

    def __init__(
        self,
        endpoints: Endpoints,
        *,
        seed: int,
        first_certificate: int,
        owners: int,
        rate: float,
        timeout: float = 10.0,
        register_fraction: float = 0.75,
        business_date: date = date(2024, 6, 1),
        retries: int = 6,
        not_yet_timeout: float = 60.0,
        max_in_flight: int = 16,
        drain_timeout: float = 90.0,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        if not 1 <= first_certificate < 10**10 - 100_000:
            raise ValueError("first_certificate must leave room for 10-digit numbers")
        for url in (endpoints.policy, endpoints.billing, endpoints.claims, endpoints.portal):
            if urlsplit(url).hostname not in LOOPBACK:
                raise ValueError(f"the workload drives loopback endpoints only, not {url}")
        self.endpoints = endpoints
        self.seed = seed
        self.first_certificate = first_certificate
        self.owner_count = owners
        self.rate = rate
        self.timeout = timeout
        self.register_fraction = register_fraction
        self.business_date = business_date
        self.retries = retries
        self.not_yet_timeout = not_yet_timeout
        self.max_in_flight = max_in_flight
        self.drain_timeout = drain_timeout
        self.rng = random.Random(seed)  # what is commanded
        self._jitter = random.Random(seed + 1)  # backoff and choices made after an answer
        self.acknowledged: list[Expectation] = []
        self.counts: Counter[str] = Counter()
        self.owners: list[OwnerLogin] = []
        self.certificates: dict[str, CertificateState] = {}
        self.claims: dict[str, ClaimState] = {}
        self._claim_sequence = 0
        self._cycle_busy = False
        self._questions: list[str] = []
        self._rejections_logged: set[str] = set()
        self._client: httpx.AsyncClient | None = None

    # --- the two phases -----------------------------------------------------------------

    async def setup(self) -> None:
        """Issue `owners` certificates, wait (bounded) until billing opened their accounts,
        then register and log in `register_fraction` of the owners."""
        async with self._connected():
            certificates = [self._new_certificate() for _ in range(self.owner_count)]
            await asyncio.gather(
                *(self._run_command("IssueCertificate", self._issue(c)) for c in certificates)
            )
            issued = [c for c in certificates if c.issued]
            await asyncio.gather(*(self._await_account(c) for c in issued))
            wanted = math.ceil(len(issued) * self.register_fraction)
            # argon2id hashing is expensive: a few registrations at a time.
            gate = asyncio.Semaphore(4)

            async def register(c: CertificateState) -> None:
                async with gate:
                    c.registering = True
                    await self._run_command("RegisterOwner", self._register_then_log_in(c))

            await asyncio.gather(*(register(c) for c in issued[:wanted]))

    async def run(self, stop: asyncio.Event, max_commands: int | None = None) -> None:
        """Commands at `rate` per second until `stop` is set or `max_commands` were started;
        then waits (at most `drain_timeout` s) for the started ones to end."""
        async with self._connected():
            tasks: set[asyncio.Task[None]] = set()
            started = 0
            next_at = time.monotonic()
            while not stop.is_set() and (max_commands is None or started < max_commands):
                next_at += self.rng.expovariate(self.rate)
                if await self._stopped(stop, next_at - time.monotonic()):
                    break
                while len(tasks) >= self.max_in_flight and not stop.is_set():
                    await asyncio.wait(tasks, timeout=1.0, return_when=asyncio.FIRST_COMPLETED)
                    next_at = max(next_at, time.monotonic())
                if stop.is_set():
                    break
                kind, command = self._plan()
                task = asyncio.create_task(self._run_command(kind, command))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
                started += 1
            await self._drain(tasks)

    # --- plumbing -------------------------------------------------------------------------

    @asynccontextmanager
    async def _connected(self) -> AsyncIterator[None]:
        if self._client is not None:
            yield
            return
        limits = httpx.Limits(max_connections=64, max_keepalive_connections=32)
        async with httpx.AsyncClient(timeout=self.timeout, limits=limits) as client:
            self._client = client
            try:
                yield
            finally:
                self._client = None

    @staticmethod
    async def _stopped(stop: asyncio.Event, delay: float) -> bool:
        if delay > 0:
            with suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)
        return stop.is_set()

    async def _drain(self, tasks: set[asyncio.Task[None]]) -> None:
        if not tasks:
            return
        _, pending = await asyncio.wait(set(tasks), timeout=self.drain_timeout)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)

    async def _run_command(
        self, kind: str, command: Coroutine[Any, Any, list[Expectation]]
    ) -> None:
        """Runs one command; its expectations count once it was acknowledged."""
        self.counts[f"sent:{kind}"] += 1
        try:
            expectations = await command
        except _Rejected:
            pass  # counted where it was answered
        except _GaveUp as exc:
            self.counts[f"failed:{kind}"] += 1
            log.info("%s gave up: %s", kind, exc)
        except asyncio.CancelledError:
            self.counts[f"cancelled:{kind}"] += 1
            raise
        except Exception:
            self.counts[f"error:{kind}"] += 1
            log.exception("%s failed in the generator", kind)
        else:
            self._acknowledge(kind, expectations)

    def _acknowledge(self, kind: str, expectations: list[Expectation]) -> None:
        self.counts[f"acknowledged:{kind}"] += 1
        self.acknowledged.extend(expectations)

    def _backoff(self, attempt: int) -> float:
        return min(8.0, 0.25 * 2**attempt) * (0.5 + self._jitter.random())

    async def _send(
        self,
        kind: str,
        method: str,
        url: str,
        *,
        body: Any = None,
        headers: dict[str, str] | None = None,
        ok: tuple[int, ...] = (200, 201),
        settled: tuple[int, ...] = (409,),
        accept: tuple[int, ...] = (),
        not_yet: Callable[[httpx.Response], bool] | None = None,
        timeout: float | None = None,
    ) -> httpx.Response:
        """One request until it is acknowledged: the acknowledging answer (an `ok` status, or
        a `settled` one after an attempt that may have been applied), or an `accept` status
        for the caller to judge. Raises _Rejected for a refusal, _GaveUp when the retries or
        the "not yet" wait are exhausted."""
        assert self._client is not None
        ambiguous = False  # an earlier attempt may have been applied
        failures = 0
        waiting_since: float | None = None
        while True:
            self.counts[f"attempts:{kind}"] += 1
            response: httpx.Response | None = None
            try:
                response = await self._client.request(
                    method, url, json=body, headers=headers, timeout=timeout or self.timeout
                )
                status = str(response.status_code)
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout):
                status = "connect_error"  # never reached the service
            except httpx.TimeoutException:
                status, ambiguous = "timeout", True
            except httpx.TransportError:
                status, ambiguous = "connection_error", True
            self.counts[f"status:{kind}:{status}"] += 1
            if response is not None:
                code = response.status_code
                if code in ok or code in accept:
                    return response
                if code in settled and ambiguous:
                    self.counts[f"settled_by_conflict:{kind}"] += 1
                    return response
                if code < 500 and not_yet is not None and not_yet(response):
                    self.counts[f"not_yet:{kind}"] += 1
                    now = time.monotonic()
                    waiting_since = waiting_since or now
                    if now - waiting_since > self.not_yet_timeout:
                        raise _GaveUp(f"{method} {url}: still {code} after the wait")
                    await asyncio.sleep(0.5 + self._jitter.random())
                    continue
                if code < 500:
                    self._reject(kind, response)
                ambiguous = True  # a 5xx may come after the command was recorded
            failures += 1
            if failures > self.retries:
                raise _GaveUp(f"{method} {url}: {status} after {failures} attempts")
            self.counts[f"retried:{kind}"] += 1
            await asyncio.sleep(self._backoff(failures))

    def _reject(self, kind: str, response: httpx.Response) -> NoReturn:
        key = f"rejected:{kind}:{response.status_code}"
        self.counts[key] += 1
        if key not in self._rejections_logged:
            self._rejections_logged.add(key)
            log.warning("%s refused %s: %s", kind, response.status_code, response.text[:500])
        raise _Rejected(key)

    # --- the model ------------------------------------------------------------------------

    def _number(self, index: int) -> str:
        return f"{self.first_certificate + index:010d}"

    def _new_certificate(self) -> CertificateState:
        rng = self.rng
        number = self._number(len(self.certificates))
        index = len(self.certificates)
        product = "CI" if index == 0 else "WL" if index == 1 else _weighted(rng, PRODUCTS)
        person = people.make_person(rng, number)
        owner = {
            "insured_id": "I1",
            "first_name": person.first_name,
            "last_name": person.last_name,
            "relationship": "Owner",
            "date_of_birth": person.date_of_birth.isoformat(),
        }
        insureds = [owner]
        if product in ("CI", "AC") and rng.random() < 0.7:
            spouse_born = date(1955, 1, 1) + timedelta(days=rng.randrange(0, 45 * 365))
            child_born = date(2006, 1, 1) + timedelta(days=rng.randrange(0, 15 * 365))
            insureds += [
                {
                    "insured_id": "I2",
                    "first_name": rng.choice(people.FIRST_NAMES),
                    "last_name": person.last_name,
                    "relationship": "Spouse",
                    "date_of_birth": spouse_born.isoformat(),
                },
                {
                    "insured_id": "I3",
                    "first_name": rng.choice(people.FIRST_NAMES),
                    "last_name": person.last_name,
                    "relationship": "Child",
                    "date_of_birth": child_born.isoformat(),
                },
            ]
        user_id, password = people.credentials(rng, number)
        certificate = CertificateState(
            number=number,
            product=product,
            frequency=_weighted(rng, FREQUENCIES),
            premium=_money(Decimal(rng.randrange(900, 9000)) / 100),
            effective=self.business_date + timedelta(days=rng.randrange(EFFECTIVE_SPREAD_DAYS)),
            person=person,
            insureds=insureds,
            user_id=user_id,
            password=password,
        )
        self.certificates[number] = certificate
        return certificate

    def _certificate_body(self, c: CertificateState) -> dict[str, Any]:
        rng, person = self.rng, c.person
        life = c.product in ("WL", "UL")
        coverage = _money(Decimal(rng.randrange(10, 250)) * 1000)

        def benefit(code: str, insureds: list[dict[str, str]]) -> dict[str, Any]:
            return {
                "benefit_id": f"{code}1",
                "coverage_code": code,
                "status": "Active Premium Paying",
                "effective_date": c.effective.isoformat(),
                "coverage_amount": str(coverage) if life else None,
                "net_benefit_value": str(_money(coverage * Decimal("0.08"))) if life else None,
                "insureds": insureds,
            }

        benefits = [benefit(c.product, c.insureds)]
        if c.product == "CI" and rng.random() < 0.5:
            benefits.append(benefit("AC", c.insureds))  # an accident rider
        return {
            "certificate_number": c.number,
            "product_code": c.product,
            "application_date": (c.effective - timedelta(days=rng.randrange(10, 60))).isoformat(),
            "effective_date": c.effective.isoformat(),
            "premium": str(c.premium),
            "payment_frequency": c.frequency,
            "payment_method": rng.choice(METHODS),
            "payor_name": f"{person.first_name} {person.last_name}",
            "owner": {
                "party_id": person.party_id,
                "first_name": person.first_name,
                "last_name": person.last_name,
                "gender": person.gender,
                "date_of_birth": person.date_of_birth.isoformat(),
                "government_id": person.government_id,
                "contact": people.contact(rng, person, c.contact_version),
            },
            "benefits": benefits,
            "agents": [
                {"name": "Jordan Rivers", "phone": "860-555-0142", "email": "agent@example.com"}
            ],
        }

    # --- planning: what the next command is (synchronous, seeded, reserves its targets) ----

    def _feasible(self) -> dict[str, list[Any]]:
        """Per top-level kind, the targets a command of that kind may take now."""
        issued = [c for c in self.certificates.values() if c.issued]
        known = [c for c in issued if c.account_known]
        logged_in = [c for c in issued if c.login is not None]
        return {
            "IssueCertificate": [None],
            "RunBillingCycle": [None] if known and not self._cycle_busy else [],
            # Accounts billing has not opened yet answer 404: waited out ("not yet").
            "RecordPayment": issued,
            "ReversePayment": [
                (c, p)
                for c in issued
                for p in c.payments.values()
                if not p.reversed and not p.reserved
            ],
            "SubmitClaim": [c for c in issued if c.health] if self._claim_sequence < 999 else [],
            "AdvanceClaim": [
                claim for claim in self.claims.values() if not claim.busy and claim.next_step()
            ],
            "UpdateContactInformation": [c for c in issued if not c.contact_busy],
            "UpdateProfile": [c for c in logged_in if not c.contact_busy],
            "OpenDocument": logged_in,
            "RegisterOwner": [c for c in issued if not c.registered and not c.registering],
            "LogIn": [c for c in issued if c.registered and not c.registering],
        }

    def _covered(self, kind: str) -> bool:
        kinds = CLAIM_STEPS if kind == "AdvanceClaim" else (kind,)
        return all(self.counts[f"acknowledged:{k}"] for k in kinds)

    def _plan(self) -> tuple[str, Coroutine[Any, Any, list[Expectation]]]:
        rng = self.rng
        feasible = {k: targets for k, targets in self._feasible().items() if targets}
        uncovered = [k for k in feasible if not self._covered(k)]
        if uncovered and rng.random() < EXPLORE:
            kind = rng.choice(uncovered)
        else:
            kind = _weighted(rng, {k: WEIGHTS[k] for k in feasible})
        targets = feasible[kind]
        if kind == "AdvanceClaim":
            wanted = [c for c in targets if not self.counts[f"acknowledged:{c.next_step()}"]]
            claim = rng.choice(wanted or targets)
            return self._plan_claim_step(claim)
        target = rng.choice(targets)
        if kind == "IssueCertificate":
            return kind, self._issue(self._new_certificate())
        if kind == "RunBillingCycle":
            low, high = CYCLE_AS_OF_DAYS
            as_of = self.business_date + timedelta(days=rng.randint(low, high))
            self._cycle_busy = True
            return kind, self._billing_cycle(as_of)
        if kind == "RecordPayment":
            return kind, self._record_payment(target)
        if kind == "ReversePayment":
            certificate, payment = target
            payment.reserved = True
            return kind, self._reverse_payment(certificate, payment)
        if kind == "SubmitClaim":
            return kind, self._submit_claim(self._new_claim(target))
        if kind in ("UpdateContactInformation", "UpdateProfile"):
            target.contact_busy = True
            target.contact_version += 1
            contact = people.contact(rng, target.person, target.contact_version)
            via_portal = kind == "UpdateProfile"
            return kind, self._update_contact(target, contact, via_portal=via_portal)
        if kind == "OpenDocument":
            return kind, self._open_document(target)
        if kind == "RegisterOwner":
            target.registering = True
            return kind, self._register_then_log_in(target)
        return kind, self._log_in(target)

    def _new_claim(self, c: CertificateState) -> ClaimState:
        rng = self.rng
        self._claim_sequence += 1
        number = f"C{(self.first_certificate % 1_000_000) * 1000 + self._claim_sequence:09d}"
        index = len(self.claims)
        # The first claim is paid and issued, the second denied; then one in five is denied.
        denied = index == 1 or (index > 1 and rng.random() < 0.2)
        deny_at = (
            rng.choice(("Pending", "Review Complete", "Decision Rendered")) if denied else None
        )
        lines = rng.randint(0 if deny_at == "Pending" else 1, 3)
        claim = ClaimState(
            claim_number=number,
            certificate_number=c.number,
            patient=rng.choice(c.insureds)["insured_id"],
            service_date=c.effective + timedelta(days=rng.randrange(3, 60)),
            lines=[_money(Decimal(rng.randrange(5000, 60000)) / 100) for _ in range(lines)],
            deny_at=deny_at,
        )
        self.claims[number] = claim
        return claim

    def _plan_claim_step(
        self, claim: ClaimState
    ) -> tuple[str, Coroutine[Any, Any, list[Expectation]]]:
        step = claim.next_step()
        assert step is not None and claim.status_date is not None
        claim.busy = True
        on = claim.status_date + timedelta(days=self.rng.randrange(0, 8))
        return step, self._claim_step(claim, step, on)

    # --- commands -------------------------------------------------------------------------

    async def _issue(self, c: CertificateState) -> list[Expectation]:
        body = self._certificate_body(c)
        await self._send(
            "IssueCertificate",
            "POST",
            f"{self.endpoints.policy}/certificates",
            body=body,
            ok=(201,),
        )
        c.issued = True
        return [
            Expectation("IssueCertificate", "CertificateIssued", {"certificate_number": c.number})
        ]

    async def _await_account(self, c: CertificateState) -> None:
        """Setup: until billing has the account (a bounded wait, never an error)."""
        deadline = time.monotonic() + self.not_yet_timeout
        pause = 0.2
        while not c.account_known and time.monotonic() < deadline:
            await self._probe_account(c)
            if not c.account_known:
                await asyncio.sleep(pause)
                pause = min(2.0, pause * 1.5)

    async def _probe_account(self, c: CertificateState) -> None:
        assert self._client is not None
        try:
            answer = await self._client.get(f"{self.endpoints.billing}/accounts/{c.number}")
        except httpx.TransportError:
            return
        if answer.status_code == 200:
            c.account_known = True

    async def _billing_cycle(self, as_of: date) -> list[Expectation]:
        try:
            for c in list(self.certificates.values()):  # other commands add certificates
                if c.issued and not c.account_known:
                    await self._probe_account(c)
            # Every account open before the cycle bills its first premium (due on or before
            # as_of + 21 days), or an earlier cycle did.
            known = [c for c in list(self.certificates.values()) if c.account_known]
            await self._send(
                "RunBillingCycle",
                "POST",
                f"{self.endpoints.billing}/billing-cycles",
                body={"as_of": as_of.isoformat()},
                ok=(200,),
                timeout=max(self.timeout, 30.0),  # it goes over every account
            )
        finally:
            self._cycle_busy = False
        billed = [c for c in known if not c.billed_expected] or known[:1]
        for c in billed:
            c.billed_expected = True
        return [
            Expectation("RunBillingCycle", "PremiumBilled", {"certificate_number": c.number})
            for c in billed
        ]

    async def _record_payment(self, c: CertificateState) -> list[Expectation]:
        rng = self._jitter
        payment_id = f"P{c.number}-{c.next_payment}"
        c.next_payment += 1
        amount = c.premium * rng.randint(1, 3) if rng.random() < 0.8 else _money(c.premium / 2)
        on = c.effective + timedelta(days=rng.randrange(-5, 40))
        body = {"amount": str(amount), "transaction_date": on.isoformat(), "payment_id": payment_id}
        url = f"{self.endpoints.billing}/accounts/{c.number}/payments"
        await self._send("RecordPayment", "POST", url, body=body, ok=(201,), not_yet=_no_account)
        c.account_known = True
        c.payments[payment_id] = Payment(payment_id, amount, on)
        match = {"certificate_number": c.number, "payment_id": payment_id}
        return [Expectation("RecordPayment", "PaymentReceived", match)]

    async def _reverse_payment(self, c: CertificateState, payment: Payment) -> list[Expectation]:
        rng = self._jitter
        body = {
            "reversed_on": (payment.on + timedelta(days=rng.randrange(3, 12))).isoformat(),
            "reason": rng.choice(REVERSAL_REASONS),
        }
        url = f"{self.endpoints.billing}/accounts/{c.number}/payments/{payment.payment_id}/reversal"
        try:
            await self._send("ReversePayment", "POST", url, body=body, ok=(200,))
        finally:
            payment.reserved = False
        payment.reversed = True
        match = {"certificate_number": c.number, "payment_id": payment.payment_id}
        return [Expectation("ReversePayment", "PaymentReversed", match)]

    async def _submit_claim(self, claim: ClaimState) -> list[Expectation]:
        submitted_on = claim.service_date + timedelta(days=self._jitter.randrange(1, 5))
        body = {
            "certificate_number": claim.certificate_number,
            "claim_number": claim.claim_number,
            "patient_insured_id": claim.patient,
            "provider": self._jitter.choice(PROVIDERS),
            "service_date": claim.service_date.isoformat(),
            "submitted_amount": str(sum(claim.lines, Decimal("0.00")) or Decimal("75.00")),
            "submitted_on": submitted_on.isoformat(),
            "group_number": "G-2045",
            "account_number": "A-0031",
        }
        try:
            await self._send(
                "SubmitClaim",
                "POST",
                f"{self.endpoints.claims}/claims",
                body=body,
                ok=(201,),
                not_yet=_not_on_file,
            )
        except (_Rejected, _GaveUp):
            claim.lost = True
            raise
        finally:
            claim.busy = False
        claim.status, claim.status_date = "Pending", submitted_on
        match = {"certificate_number": claim.certificate_number, "claim_number": claim.claim_number}
        return [Expectation("SubmitClaim", "ClaimSubmitted", match)]

    async def _claim_step(self, claim: ClaimState, step: str, on: date) -> list[Expectation]:
        number, rng = claim.claim_number, self._jitter
        base = f"{self.endpoints.claims}/claims/{number}"
        status = None
        if step == "AdjudicateClaimLine":
            amount = claim.lines[claim.lines_done]
            excluded = _money(amount / 10) if rng.random() < 0.3 else Decimal("0.00")
            path, body = (
                "/lines",
                {
                    "line_id": f"L{claim.lines_done + 1}",
                    "date_of_service": claim.service_date.isoformat(),
                    "type_of_service": rng.choice(SERVICES),
                    "amount_claimed": str(amount),
                    "excluded_amount": str(excluded),
                },
            )
        elif step == "CompleteClaimReview":
            path, body, status = "/review-complete", {"on": on.isoformat()}, "Review Complete"
        elif step == "RenderClaimDecision":
            # At most a tenth of the smallest possible benefit (lines exclude up to 10 %), so
            # the claim still pays something.
            least_benefit = sum(claim.lines, Decimal("0.00")) * Decimal("0.9")
            deductible = Decimal("0.00")
            if rng.random() < 0.5:
                deductible = _money(min(Decimal("25.00"), least_benefit / 10))
            path, status = "/decision", "Decision Rendered"
            body = {"on": on.isoformat(), "deductible_applied": str(deductible)}
        elif step == "RecordClaimPayment":
            path, body, status = "/payment", {"on": on.isoformat()}, "Paid Not Issued"
        elif step == "IssueClaim":
            path, body, status = "/issue", {"on": on.isoformat()}, "Issued"
        else:
            status = "Not Covered" if rng.random() < 0.3 else "Denied"
            path = "/deny"
            body = {
                "on": on.isoformat(),
                "reason": rng.choice(DENIAL_REASONS),
                "not_covered": status == "Not Covered",
            }
        try:
            await self._send(step, "POST", base + path, body=body, ok=(200,))
        except (_Rejected, _GaveUp):
            claim.lost = True
            raise
        finally:
            claim.busy = False
        if step == "AdjudicateClaimLine":
            claim.lines_done += 1
            return [Expectation(step, "ClaimLineAdjudicated", {"claim_number": number})]
        assert status is not None
        claim.status, claim.status_date = status, on
        if step == "IssueClaim":
            return [Expectation(step, "ClaimIssued", {"claim_number": number})]
        if step == "DenyClaim":
            return [Expectation(step, "ClaimDenied", {"claim_number": number, "status": status})]
        match = {"claim_number": number, "status": status}
        return [Expectation(step, "ClaimStatusChanged", match)]

    async def _update_contact(
        self, c: CertificateState, contact: dict[str, Any], *, via_portal: bool
    ) -> list[Expectation]:
        kind = "UpdateProfile" if via_portal else "UpdateContactInformation"
        try:
            if via_portal:
                assert c.login is not None
                await self._send(
                    kind,
                    "PUT",
                    f"{self.endpoints.portal}/api/profile",
                    body=contact,
                    headers=c.login.headers,
                    ok=(200,),
                    not_yet=_unknown_session,
                )
            else:
                url = f"{self.endpoints.policy}/parties/{c.person.party_id}/contact"
                await self._send(kind, "PUT", url, body=contact, ok=(200,))
        finally:
            c.contact_busy = False
        match = {"certificate_number": c.number, "owner_party_id": c.person.party_id}
        return [Expectation(kind, "ContactInformationUpdated", match)]

    async def _open_document(self, c: CertificateState) -> list[Expectation]:
        assert c.login is not None
        kind, portal, headers = "OpenDocument", self.endpoints.portal, c.login.headers
        waiting_since = time.monotonic()
        while True:
            inbox = await self._send(
                kind,
                "GET",
                f"{portal}/api/documents?size=50",
                headers=headers,
                ok=(200,),
                not_yet=_unknown_session,
            )
            items = inbox.json()["items"]
            if items:
                break
            self.counts[f"not_yet:{kind}"] += 1  # the certificate's PDF has not arrived
            if time.monotonic() - waiting_since > self.not_yet_timeout:
                raise _GaveUp("no document in the inbox")
            await asyncio.sleep(1.0)
        unopened = [item for item in items if item["unopened"]]
        item = self._jitter.choice(unopened or items)
        await self._send(
            kind, "GET", portal + item["href"], headers=headers, ok=(200,), not_yet=_unknown_session
        )
        match = {
            "document_id": item["document_id"],
            "certificate_number": item["certificate_number"],
        }
        return [Expectation(kind, "DocumentOpened", match)]

    async def _security_questions(self) -> list[str]:
        if not self._questions:
            url = f"{self.endpoints.portal}/api/registration/security-questions"
            answer = await self._send("RegisterOwner", "GET", url, ok=(200,))
            self._questions = list(answer.json()["questions"])
        return self._questions

    async def _await_identity(self, c: CertificateState) -> None:
        """Until identity's registry holds the owner: step 1 before that would be a mismatch,
        and five of them throttle the certificate."""
        database = self.endpoints.database("identity")
        waiting_since = time.monotonic()
        while c.number not in await people.identity_knows(database, [c.number]):
            self.counts["not_yet:RegisterOwner"] += 1
            if time.monotonic() - waiting_since > self.not_yet_timeout:
                raise _GaveUp(f"identity does not know the owner of {c.number}")
            await asyncio.sleep(0.5)

    async def _register(self, c: CertificateState) -> list[Expectation]:
        """The three steps of the portal's registration; then the owner logs in (a command of
        its own)."""
        kind, portal = "RegisterOwner", f"{self.endpoints.portal}/api/registration"
        try:
            if c.maybe_registered and await self._confirm_registration(c):
                c.registered = True
                return [Expectation(kind, "UserRegistered", {"certificate_number": c.number})]
            await self._await_identity(c)
            questions = await self._security_questions()
            personal = people.personal_step(c.person, c.number)
            step1 = await self._send(
                kind, "POST", f"{portal}/personal", body=personal, ok=(201,), settled=()
            )
            registration_id = step1.json()["registration_id"]
            chosen = people.credentials_step(registration_id, c.user_id, c.password, questions)
            await self._send(
                kind, "POST", f"{portal}/credentials", body=chosen, ok=(200,), settled=()
            )
            c.maybe_registered = True
            done = await self._send(
                kind,
                "POST",
                f"{portal}/preferences",
                body=people.preferences_step(registration_id),
                ok=(201,),
                settled=(404, 409),
            )
            # 404/409 after an attempt that timed out: that attempt may have registered the
            # owner (and ended the draft); a log-in tells.
            if done.status_code != 201 and not await self._confirm_registration(c):
                raise _GaveUp(f"registration of {c.number} unconfirmed")
            c.registered, c.maybe_registered = True, False
        finally:
            c.registering = False
        return [Expectation(kind, "UserRegistered", {"certificate_number": c.number})]

    async def _register_then_log_in(self, c: CertificateState) -> list[Expectation]:
        """A new owner registers, then logs in at once (the log-in is a command of its own)."""
        expectations = await self._register(c)
        if c.login is None:
            await self._run_command("LogIn", self._log_in(c))
        return expectations

    async def _confirm_registration(self, c: CertificateState) -> bool:
        """Whether an earlier, unconfirmed attempt registered the owner: a log-in with the
        chosen credentials tells (401: not registered). A log-in that works counts as one."""
        answer = await self._send(
            "LogIn",
            "POST",
            f"{self.endpoints.portal}/api/session",
            body={"user_id": c.user_id, "password": c.password},
            ok=(201,),
            settled=(),
            accept=(401,),
        )
        if answer.status_code != 201:
            return False
        self.counts["sent:LogIn"] += 1
        self._acknowledge("LogIn", self._logged_in(c, answer.json()["token"]))
        return True

    async def _log_in(self, c: CertificateState) -> list[Expectation]:
        body = {"user_id": c.user_id, "password": c.password}
        answer = await self._send(
            "LogIn",
            "POST",
            f"{self.endpoints.portal}/api/session",
            body=body,
            ok=(201,),
            settled=(),
        )
        return self._logged_in(c, answer.json()["token"])

    def _logged_in(self, c: CertificateState, token: str) -> list[Expectation]:
        if c.login is None:
            c.login = OwnerLogin(c.user_id, c.password, c.number, token, c.person.party_id)
            self.owners.append(c.login)
        else:
            c.login.token = token
        c.registered = True
        digest = hashlib.sha256(token.encode()).hexdigest()
        return [Expectation("LogIn", "SessionStarted", {"token_digest": digest})]


def _detail(response: httpx.Response) -> str:
    try:
        return str(response.json().get("detail", ""))
    except (ValueError, AttributeError):
        return response.text


def _no_account(response: httpx.Response) -> bool:
    """Billing has not opened the account yet (it does on policy's CertificateIssued)."""
    return response.status_code == 404 and "no billing account" in _detail(response)


def _not_on_file(response: httpx.Response) -> bool:
    """Claims has not registered the certificate yet (it does on CertificateIssued)."""
    return response.status_code == 404 and "not on file" in _detail(response)


def _unknown_session(response: httpx.Response) -> bool:
    """The portal has not projected a fresh session yet (log-in waits only briefly)."""
    return response.status_code == 401
