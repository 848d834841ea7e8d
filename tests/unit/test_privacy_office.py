"""The privacy office on identity's application, in memory, with a key store of each test's own:
verification by matching points, authorized agents, the 45-day due date, requests to delete
(what is shredded, what is kept, the account closed, identity's own copies purged, the events
published), the sweep (retentions extended or ended, the 24-month purge) and idempotency."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import date, timedelta
from uuid import UUID, uuid4

import pytest
from sqlalchemy import text

from services.identity.application import IdentityApplication
from services.identity.errors import (
    AccountNotFound,
    IdentityError,
    LoginRefused,
    NotAuthenticated,
    RecordsDoNotMatch,
    RequestNotFound,
)
from services.identity.integration import to_integration
from services.identity.privacy.commands import NOT_VERIFIED, VerificationThrottled
from services.identity.privacy.retention import SERVICING_REVIEW_DAYS, claims_retention_days
from shared.contracts import identity as identity_contracts
from shared.contracts import policy, privacy
from shared.contracts.envelope import parse_event
from shared.messaging.outbox import Outbox
from shared.personal_data import CLAIMS, PERSONAL, SERVICING, Vault
from tests.unit.test_identity_support import (
    PASSWORD,
    FakeClock,
    OwnerData,
    certificate_issued,
    deliver,
    fresh_vault,
    make_identity,
    personal,
    register,
)

CELL, STREET, ZIP = "(217) 555-0101", "12 North Harbor Street", "62701"


@dataclass(frozen=True)
class Person:
    """An owner as policy knows them, with a cell number and an address."""

    data: OwnerData
    cell: str = CELL
    street: str = STREET
    zip_code: str = ZIP

    @property
    def party_id(self) -> str:
        return str(self.data.party_id)

    def requester(self, *points: str, **wrong: str) -> dict:
        """What the person enters on the privacy page: the named points, right (or wrong)."""
        values: dict = {}
        if "name" in points:
            values.update(first_name=self.data.first_name.upper(), last_name=self.data.last_name)
        if "date_of_birth" in points:
            values["date_of_birth"] = self.data.date_of_birth.isoformat()
        if "email" in points:
            values["email"] = f"  {self.data.emails[0].upper()} "
        if "cell" in points:
            values["cell"] = "217.555.0101"
        if "address" in points:
            values["address"] = {"street": "12 N. Harbor St", "zip_code": self.zip_code}
        values.update(wrong)
        return values


def issue_to(app: IdentityApplication, person: Person, status: str = "Active Premium Paying"):
    event = certificate_issued(person.data)
    contact = event.owner.contact.model_copy(
        update={
            "phones": policy.Phones(cell=person.cell),
            "address": policy.Address(
                street=[person.street], city="Springfield", state="IL", zip_code=person.zip_code
            ),
        }
    )
    owner = event.owner.model_copy(update={"contact": contact})
    deliver(app, event.model_copy(update={"owner": owner, "status": status}), _aggregate(person))


def _aggregate(person: Person) -> UUID:
    return UUID(int=int(person.data.certificate_number))


_versions: dict[str, int] = {}


def change_status(app: IdentityApplication, person: Person, status: str) -> None:
    number = person.data.certificate_number
    _versions[number] = _versions.get(number, 1) + 1
    event = policy.CertificateStatusChanged(
        certificate_number=number,
        previous_status="Active Premium Paying",
        status=status,
        status_date=date(2024, 6, 1),
    )
    deliver(app, event, _aggregate(person), _versions[number])


def new_person(number: str = "0000700001", **data) -> Person:
    return Person(OwnerData(certificate_number=number, party_id=uuid4(), **data))


@pytest.fixture
def vault() -> Vault:
    return fresh_vault()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def app(vault: Vault, clock: FakeClock) -> IdentityApplication:
    return make_identity(clock)


@pytest.fixture
def person(app: IdentityApplication) -> Person:
    person = new_person()
    issue_to(app, person)
    return person


def know(app, requester: dict, detail: str = "specific", agent: dict | None = None):
    return app.submit_request(kind="know", detail=detail, requester=requester, agent=agent)


def delete(app, requester: dict, agent: dict | None = None):
    return app.submit_request(kind="delete", detail="specific", requester=requester, agent=agent)


def published(app: IdentityApplication) -> list:
    records, _ = Outbox(app, "identity.events", to_integration).read(0, limit=10_000)
    return records


def keys(vault: Vault, person: Person) -> dict[str, object]:
    return {k.key_class: k for k in vault.keys_of([person.party_id])}


def give_keys(vault: Vault, person: Person, *classes: str) -> None:
    """Other services sealed something of the person's under these key classes."""
    for key_class in classes:
        vault.seal(person.party_id, "something", key_class)


# --- verification -------------------------------------------------------------------------

POINTS = ["name", "date_of_birth", "email", "cell", "address"]


@pytest.mark.parametrize(
    ("right", "status", "level"),
    [
        ([], "denied", "none"),
        (["name"], "denied", "none"),
        (["name", "date_of_birth"], "completed", "categories"),
        (["email", "cell"], "completed", "categories"),
        (["name", "date_of_birth", "email"], "verified", "specific"),
        (["date_of_birth", "cell", "address", "email"], "verified", "specific"),
        (POINTS, "verified", "specific"),
    ],
)
def test_points_matched_give_the_level_of_verification(app, person, right, status, level):
    wrong = {k: v for p, values in WRONG.items() if p not in right for k, v in values.items()}
    answer = know(app, person.requester(*right, **wrong))
    request = answer.request
    assert (request.status, request.level) == (status, level)
    assert request.matched_points == len(right)
    assert answer.matched_points == (len(right) if status != "denied" else 0)
    if status == "denied":
        assert request.outcome == NOT_VERIFIED
        assert request.party_id is None  # nobody is named by a denied request
    else:
        assert request.party_id == person.data.party_id
        assert request.certificate_numbers == [person.data.certificate_number]
    if status == "verified":
        assert "by mail" in answer.message and request.completed_at is None


WRONG = {
    "name": {"first_name": "Morgan", "last_name": "Other"},
    "date_of_birth": {"date_of_birth": "1981-01-01"},
    "email": {"email": "someone@example.net"},
    "cell": {"cell": "312-555-0199"},
    "address": {"address": {"street": "9 Elm Road", "zip_code": "10001"}},
}


def test_a_request_for_categories_needs_2_points_and_a_deletion_3(app, person) -> None:
    answer = know(app, person.requester("cell", "address"), detail="categories")
    assert (answer.request.status, answer.request.level) == ("completed", "categories")
    denied = delete(app, person.requester("cell", "address"))
    assert (denied.request.status, denied.request.outcome) == ("denied", NOT_VERIFIED)
    assert denied.matched_points == 0


def test_the_name_is_one_point_and_only_with_both_names(app, person) -> None:
    only_first = {"first_name": person.data.first_name, "date_of_birth": "1970-03-14"}
    with pytest.raises(IdentityError) as refused:
        know(app, only_first)  # one usable identifier
    assert refused.value.status == 422 and refused.value.field == "requester"
    answer = know(app, person.requester("name", "date_of_birth"))
    assert answer.request.matched_points == 2


def test_two_people_as_well_matched_verify_nobody(app, person) -> None:
    twin = Person(
        OwnerData(certificate_number="0000700002", party_id=uuid4(), first_name="Robin"),
    )
    issue_to(app, twin)  # same address, cell, date of birth
    answer = know(app, person.requester("cell", "address", "date_of_birth"))
    assert answer.request.status == "denied"


def test_repeated_failures_lock_out_the_values_and_the_person(app, person, clock) -> None:
    guesses = [f"1970-01-{day:02d}" for day in range(1, 6)]
    for guess in guesses:  # the right name, a wrong date of birth: 1 point each time
        assert know(app, person.requester("name", date_of_birth=guess)).request.status == "denied"
    # The name entered has failed 5 times: refused before anything is matched.
    with pytest.raises(VerificationThrottled):
        know(app, person.requester("name", "date_of_birth"))
    # The person is locked out too: even all five points are denied, with the same answer.
    answer = know(app, person.requester("date_of_birth", "email", "cell", "address"))
    assert (answer.request.status, answer.request.outcome) == ("denied", NOT_VERIFIED)
    # A day later, it works again.
    clock.advance(hours=24, seconds=1)
    assert know(app, person.requester(*POINTS)).request.status == "verified"


# --- agents, due date, the record ---------------------------------------------------------

AGENT = {
    "name": "Jordan Agent",
    "email": "jordan@agents.example",
    "permission": "Signed authorization of 2024-05-01 to make CCPA requests for the consumer",
    "attested": True,
}


def test_an_agent_must_attest_and_is_recorded_sealed(app, person) -> None:
    with pytest.raises(IdentityError) as refused:
        know(app, person.requester(*POINTS), agent={**AGENT, "attested": False})
    assert (refused.value.status, refused.value.field) == (422, "agent.attested")

    answer = know(app, person.requester(*POINTS), agent=AGENT)
    assert answer.request.by_agent
    assert app.privacy_request(answer.request.id).by_agent
    updates = [parse_event(r.value)[1] for r in published(app)]
    assert [u.by_agent for u in updates if isinstance(u, privacy.PrivacyRequestUpdated)] == [True]
    # At rest: the agent's and the requester's details are sealed in the event store.
    stored = _event_store_bytes(app)
    for clear in ("Jordan Agent", "jordan@agents.example", "Signed authorization", "555.0101"):
        assert clear.encode() not in stored
    # … and open with the key store (the request's own key) for whoever may read them.
    [received] = [
        e
        for e in map(app.mapper.to_domain_event, app.recorder.select_notifications(1, 10_000))
        if type(e).__qualname__ == "PrivacyRequest.Received"
    ]
    assert received.agent["name"] == "Jordan Agent" and received.agent["attested"] is True
    assert received.requester["cell"] == "217.555.0101"


def test_every_request_is_due_45_days_after_receipt(app, person, clock) -> None:
    clock.advance(days=10, hours=3)
    answer = know(app, person.requester(*POINTS))
    assert answer.request.received_at == clock.now
    assert answer.request.due_by == clock.now.date() + timedelta(days=45)
    record = app.privacy_requests_of(person.party_id)[0]
    assert (record.status, record.due_by) == ("verified", date(2024, 7, 28))


def test_a_verified_request_to_know_is_completed_by_the_back_office(app, person) -> None:
    answer = know(app, person.requester(*POINTS))
    with pytest.raises(IdentityError):
        app.complete_request(know(app, {"email": "x@y.z", "cell": "5555555"}).request.id, None)
    request = app.complete_request(answer.request.id, None)
    assert request.status == "completed" and "by mail" in (request.outcome or "")
    assert app.complete_request(answer.request.id, None).version == request.version


# --- requests to delete -------------------------------------------------------------------


def test_a_deletion_with_a_certificate_in_force_keeps_servicing_data(app, person, vault, clock):
    give_keys(vault, person, PERSONAL, SERVICING)
    answer = delete(app, person.requester(*POINTS))
    assert answer.request.status == "completed"
    state = keys(vault, person)
    assert state[PERSONAL].shredded
    assert not state[SERVICING].shredded
    assert state[SERVICING].retain_until == clock.now + timedelta(days=SERVICING_REVIEW_DAYS)
    assert "in force" in (state[SERVICING].exemption or "")
    assert "until 2025-06-03" in (answer.request.outcome or "")


def test_a_deletion_without_a_certificate_in_force_shreds_servicing_keeps_claims(
    app, person, vault, clock
) -> None:
    change_status(app, person, "Lapsed")
    give_keys(vault, person, PERSONAL, SERVICING, CLAIMS)
    answer = delete(app, person.requester(*POINTS))
    state = keys(vault, person)
    assert state[PERSONAL].shredded and state[SERVICING].shredded
    assert not state[CLAIMS].shredded
    assert state[CLAIMS].retain_until == clock.now + timedelta(days=claims_retention_days())
    assert "claims" in (answer.request.outcome or "")
    assert answer.request.erased == [PERSONAL, SERVICING]


def test_a_deletion_closes_the_account_and_purges_identitys_copies(app, person, clock) -> None:
    account = register(app, person.data, user_id="person01")
    session = app.log_in("person01", PASSWORD)
    app.request_password_reset("person01")  # a mail queued for the owner
    draft = app.drafts.start(
        clock(),
        certificate_number=person.data.certificate_number,
        party_id=person.data.party_id,
        first_name="Avery",
        last_name="Demo",
        email="avery@example.com",
    )

    answer = delete(app, person.requester(*POINTS))
    assert answer.request.status == "completed"

    # No more log-in, session, recovery or export.
    with pytest.raises(LoginRefused):
        app.log_in("person01", PASSWORD)
    with pytest.raises(NotAuthenticated):
        app.authenticate(session.token)
    assert app.request_password_reset("person01") == app._decoy_question("person01")
    with pytest.raises(AccountNotFound):
        app.personal_data_of(account.id)
    closed = app.get_account(account.id)
    assert closed.closed and closed.user_id == "" and closed.email == ""
    assert closed.security_questions == []
    # Identity's own copies: the registry row keeps only the certificate, party and status.
    assert app.registry.owner_of(person.data.certificate_number) is None
    assert app.registry.email_digests_of(person.party_id) == set()
    with pytest.raises(IdentityError):
        app.drafts.get(draft.registration_id, clock())
    assert all(m.recipient == "" and m.body is None for m in app.mail.all())
    # The owner's records no longer match: no new registration.
    with pytest.raises(RecordsDoNotMatch):
        app.start_registration(**personal(person.data))
    # Nothing of the person left in clear in identity's tables.
    dump = _tables_dump(app)
    for clear in ("Avery", "avery@example.com", "person01", "6789"):
        assert clear not in dump


def test_a_deletion_publishes_one_erasure_per_certificate_and_no_personal_data(
    app, person, vault
) -> None:
    second = Person(person.data.also_owning("0000700009"))
    issue_to(app, second)
    register(app, person.data, user_id="person01")
    give_keys(vault, person, SERVICING)
    answer = delete(app, person.requester(*POINTS), agent=AGENT)
    records = [r for r in published(app) if b"UserRegistered" not in r.value]
    events = [parse_event(r.value)[1] for r in records]
    erased = [e for e in events if isinstance(e, privacy.PersonalDataErased)]
    assert sorted(e.certificate_number for e in erased) == ["0000700001", "0000700009"]
    assert {r.key for r in records} == {"0000700001", "0000700009"}
    assert all(e.request_id == answer.request.id for e in erased)
    assert erased[0].erased == [PERSONAL, CLAIMS]
    assert [r.key_class for r in erased[0].retained] == [SERVICING]
    assert erased[0].retained[0].until == date(2025, 6, 3)
    updates = [e for e in events if isinstance(e, privacy.PrivacyRequestUpdated)]
    assert [u.status for u in updates] == ["verified", "verified", "completed", "completed"]
    assert all(u.by_agent and u.kind == "delete" for u in updates)
    ended = [e for e in events if isinstance(e, identity_contracts.SessionEnded)]
    assert ended == []  # no session was live
    payloads = b"".join(r.value for r in published(app))
    for clear in ("Avery", "avery@example.com", "555-0101", "Harbor", "1970-03-14", "person01"):
        assert clear.encode() not in payloads, clear


def test_a_signed_in_owners_requests(app, person) -> None:
    account = register(app, person.data, user_id="person01")
    session = app.log_in("person01", PASSWORD)
    request = app.submit_account_request(account.id, "know")
    assert (request.status, request.channel, request.party_id) == (
        "completed",
        "account",
        person.data.party_id,
    )
    pieces = app.personal_data_of(account.id, session.token)
    assert pieces["user_id"] == "person01" and pieces["email"] == "avery@example.com"
    assert len(pieces["security_questions"]) == 3
    assert pieces["last_login_at"] is not None and pieces["registered_at"] is not None

    deletion = app.submit_account_request(account.id, "delete")
    assert deletion.status == "completed"
    # A retried request to delete answers the same request; the account is gone otherwise.
    assert app.submit_account_request(account.id, "delete").id == deletion.id
    with pytest.raises(AccountNotFound):
        app.submit_account_request(account.id, "know")
    updates = [
        e
        for e in (parse_event(r.value)[1] for r in published(app))
        if isinstance(e, identity_contracts.SessionEnded)
    ]
    assert [u.reason for u in updates] == ["account_closed"]


def test_personal_data_of_another_accounts_token_is_not_found(app, person) -> None:
    account = register(app, person.data, user_id="person01")
    other = new_person("0000700003")
    issue_to(app, other)
    register(app, other.data, user_id="other001")
    token = app.log_in("other001", PASSWORD).token
    with pytest.raises(AccountNotFound):
        app.personal_data_of(account.id, token)
    with pytest.raises(AccountNotFound):
        app.personal_data_of(uuid4())
    # Nor can another owner's session make a request for this account.
    with pytest.raises(AccountNotFound):
        app.submit_account_request(account.id, "delete", token)
    assert not app.get_account(account.id).closed


def test_carrying_out_a_deletion_again_changes_nothing(app, person, vault) -> None:
    give_keys(vault, person, SERVICING)
    answer = delete(app, person.requester(*POINTS))
    before = (published(app), keys(vault, person))
    again = app.carry_out_deletion(answer.request.id)
    assert again.version == answer.request.version
    assert (published(app), keys(vault, person)) == before


def test_an_interrupted_deletion_is_resumed_by_the_sweep_once(app, person, vault, clock):
    give_keys(vault, person, SERVICING)
    original = app.carry_out_deletion

    def crash(request_id):  # the process stops after the keys were shredded
        request = app.privacy_request(request_id)
        request.plan_erasure([PERSONAL, CLAIMS], [])
        app._save_request(request)
        vault.erase([person.party_id], [])
        raise RuntimeError("crash")

    app.carry_out_deletion = crash  # type: ignore[method-assign]
    with pytest.raises(RuntimeError):
        delete(app, person.requester(*POINTS))
    app.carry_out_deletion = original  # type: ignore[method-assign]
    [record] = app.privacy_requests_of(person.party_id)
    assert record.status == "verified"
    assert app.privacy_sweep().deletions_resumed == 0  # not yet: it might still be running
    clock.advance(minutes=11)
    assert app.privacy_sweep().deletions_resumed == 1
    assert app.privacy_sweep().deletions_resumed == 0
    request = app.privacy_request(record.request_id)
    assert request.status == "completed"
    erased = [
        e
        for e in (parse_event(r.value)[1] for r in published(app))
        if isinstance(e, privacy.PersonalDataErased)
    ]
    assert len(erased) == 1 and erased[0].retained == []  # the plan recorded first is kept


# --- the sweep ----------------------------------------------------------------------------


def test_the_sweep_extends_servicing_while_in_force_then_shreds_it(app, person, vault, clock):
    give_keys(vault, person, SERVICING, CLAIMS)
    answer = delete(app, person.requester(*POINTS))
    erased_at = clock.now

    clock.advance(days=SERVICING_REVIEW_DAYS + 1)
    report = app.privacy_sweep()
    assert report.servicing_extended == [person.party_id] and report.keys_shredded == 0
    state = keys(vault, person)
    assert not state[SERVICING].shredded
    assert state[SERVICING].retain_until == clock.now + timedelta(days=SERVICING_REVIEW_DAYS)
    request = app.privacy_request(answer.request.id)
    [servicing] = [r for r in request.retained or () if r["key_class"] == SERVICING]
    assert servicing["until"] == state[SERVICING].retain_until

    change_status(app, person, "Cash Surrender")
    clock.advance(days=SERVICING_REVIEW_DAYS + 1)
    report = app.privacy_sweep()
    assert report.servicing_extended == [] and report.keys_shredded == 1
    assert keys(vault, person)[SERVICING].shredded
    assert not keys(vault, person)[CLAIMS].shredded
    # Recorded on the request (whose record is by now older than 24 months: purged).
    assert report.requests_purged == 1
    request = app.repository.get(answer.request.id)
    assert request.purged and SERVICING in request.erased

    clock.now = erased_at + timedelta(days=claims_retention_days(), seconds=1)
    assert app.privacy_sweep().keys_shredded == 1
    assert keys(vault, person)[CLAIMS].shredded


async def test_the_scheduled_sweep_shreds_a_claims_key_once_its_retention_ends(
    app, person, vault, clock
) -> None:
    """No one calls the sweep by hand: identity's schedule does (`privacy_sweep_schedule`)."""
    from services.identity.privacy.schedule import SweepSchedule

    give_keys(vault, person, CLAIMS)
    delete(app, person.requester(*POINTS))
    schedule = SweepSchedule(app.privacy_sweep, interval=3600)
    assert (await schedule.run_once()).keys_shredded == 0  # type: ignore[union-attr]
    clock.advance(days=claims_retention_days() + 1)
    assert (await schedule.run_once()).keys_shredded == 1  # type: ignore[union-attr]
    assert keys(vault, person)[CLAIMS].shredded


def test_the_sweep_purges_records_older_than_24_months(app, person, vault, clock) -> None:
    old = know(app, person.requester(*POINTS))
    clock.advance(days=400)
    recent = know(app, person.requester(*POINTS))
    clock.advance(days=331)  # 731 days after the first: more than 24 months
    report = app.privacy_sweep()
    assert report.requests_purged == 1
    with pytest.raises(RequestNotFound):
        app.privacy_request(old.request.id)
    assert [r.request_id for r in app.privacy_requests_of(person.party_id)] == [
        str(recent.request.id)
    ]
    assert [r.request_id for r in app.privacy_log_since(None)] == [str(recent.request.id)]
    # The requester's details of the purged request can no longer be opened.
    assert vault.keys_of([str(old.request.id)])[0].shredded
    assert not vault.keys_of([str(recent.request.id)])[0].shredded
    assert app.privacy_sweep().requests_purged == 0


# --- at rest ------------------------------------------------------------------------------


def test_identity_keeps_no_personal_value_in_clear_at_rest(app, person) -> None:
    account = register(app, person.data, user_id="person01")
    know(app, person.requester(*POINTS), agent=AGENT)
    app.take_snapshot(account.id)
    snapshots = b"".join(s.state for s in app.snapshots.recorder.select_events(account.id))
    assert snapshots  # sealed, and opened again when the account is loaded from it
    assert app.repository.get(account.id).user_id == "person01"
    stored = _event_store_bytes(app) + snapshots + _tables_dump(app).encode()
    for clear in ("Avery", "avery@example.com", "person01", "555-0101", "555.0101", "Harbor"):
        assert clear.encode() not in stored, clear
    assert b"1970-03-14" not in stored


def _event_store_bytes(app: IdentityApplication) -> bytes:
    notifications = app.recorder.select_notifications(start=1, limit=100_000)
    return b"\n".join(n.state for n in notifications)


def _tables_dump(app: IdentityApplication) -> str:
    lines = []
    with app.engine.connect() as connection:
        names = connection.execute(text("SELECT name FROM sqlite_master WHERE type='table'"))
        for (name,) in list(names):
            if name.startswith("stored_events") or name in ("notification_tracking",):
                continue
            with contextlib.suppress(Exception):
                rows = connection.execute(text(f'SELECT * FROM "{name}"'))
                lines += [repr(tuple(row)) for row in rows]
    return "\n".join(lines)
