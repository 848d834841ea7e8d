"""Registration in the guide's three steps, against the real application in memory.

Every refusal answers a clear message and records nothing in the event store.
"""

from datetime import date
from uuid import uuid4

import pytest

from services.identity.errors import (
    AlreadyRegistered,
    IdentityError,
    PasswordRejected,
    RecordsDoNotMatch,
    RegistrationIncomplete,
    RegistrationNotFound,
    SecurityQuestionsRejected,
    TooManyAttempts,
    UserIdTaken,
)
from services.identity.integration import to_integration
from shared.contracts import identity as contracts
from shared.contracts.envelope import parse_event
from shared.messaging.outbox import Outbox
from tests.unit.test_identity_support import (
    ANSWERS,
    AVERY,
    KEYED_HASH,
    PASSWORD,
    FakeClock,
    OwnerData,
    certificate_issued,
    contact_updated,
    deliver,
    issue,
    make_identity,
    personal,
    recorded,
    register,
)

MISMATCH = "The information entered does not match our records for this certificate."


def test_an_owner_registers_in_three_steps_and_only_the_last_records_anything() -> None:
    app = make_identity()
    issue(app, AVERY)

    # Step 1: personal information, validated against the owner policy issued the certificate to.
    draft = app.start_registration(**personal(AVERY))
    assert len(draft.registration_id) >= 43  # unguessable: 256 bits
    assert draft.party_id == AVERY.party_id
    assert recorded(app) == 0

    # Step 2: user ID, password, three security questions.
    app.choose_credentials(
        draft.registration_id, user_id="avery01", password=PASSWORD, security_questions=ANSWERS
    )
    assert recorded(app) == 0

    # Step 3: preferences; submit completes the registration.
    account = app.complete_registration(
        draft.registration_id, preferred_language="Spanish", preferred_date_format="dd/mm/yyyy"
    )
    assert recorded(app) == 2  # the account and the owner's claim, in one transaction
    assert (account.user_id, account.party_id) == ("avery01", AVERY.party_id)
    assert account.certificate_number == "0000100001"
    assert account.password_hash.startswith("$argon2id$")
    assert PASSWORD not in account.password_hash
    assert all(q["answer_hash"].startswith("$argon2id$") for q in account.security_questions)

    # The draft is gone: submitting again is refused.
    with pytest.raises(RegistrationNotFound):
        app.complete_registration(draft.registration_id)

    # Published: UserRegistered, with no secret in it.
    records, _ = Outbox(app, "identity.events", to_integration).read(0)
    assert [r.key for r in records] == ["0000100001"]
    envelope, event = parse_event(records[0].value)
    assert isinstance(event, contracts.UserRegistered)
    assert (event.user_id, event.party_id) == ("avery01", AVERY.party_id)
    assert (event.preferred_language, event.preferred_date_format) == ("Spanish", "dd/mm/yyyy")
    assert b"argon2" not in records[0].value
    # The user ID travels sealed under the owner's key (v2).
    assert envelope.schema_version == 2
    assert envelope.data["user_id"].startswith(f"pii:v1:{AVERY.party_id}:")
    assert b"avery01" not in records[0].value


def test_preferences_default_to_english_and_mm_dd_yyyy() -> None:
    app = make_identity()
    issue(app)
    account = register(app)
    assert (account.preferred_language, account.preferred_date_format) == (
        "English",
        "mm/dd/yyyy",
    )


@pytest.mark.parametrize(
    "overrides",
    [
        {"date_of_birth": date(1970, 3, 15)},  # wrong date of birth
        {"government_id": "123-45-6780"},  # wrong SSN
        {"last_name": "Smith"},  # wrong name
        {"certificate_number": "0000999999"},  # unknown certificate
    ],
    ids=["wrong-dob", "wrong-ssn", "wrong-name", "unknown-certificate"],
)
def test_personal_information_not_on_record_is_refused_with_one_message(overrides) -> None:
    app = make_identity()
    issue(app)
    with pytest.raises(RecordsDoNotMatch) as refused:
        app.start_registration(**personal(AVERY, **overrides))
    # The same words whatever was wrong, and whether or not the certificate exists.
    assert str(refused.value) == MISMATCH
    assert recorded(app) == 0


def test_names_match_case_insensitively_and_the_ssn_with_or_without_dashes() -> None:
    app = make_identity()
    issue(app)
    draft = app.start_registration(
        **personal(AVERY, first_name="  AVERY ", last_name="demo", government_id="123456789")
    )
    assert (draft.first_name, draft.last_name) == ("Avery", "Demo")  # the names on record


def test_an_organisation_owner_cannot_register_as_a_person() -> None:
    app = make_identity()
    company = OwnerData(certificate_number="0000200001", name_type="Organization")
    issue(app, company)
    with pytest.raises(RecordsDoNotMatch):
        app.start_registration(**personal(company))


def test_an_owner_registers_once_whichever_certificate_is_used() -> None:
    app = make_identity()
    issue(app, AVERY)
    issue(app, AVERY.also_owning("0000100003"))
    register(app)
    before = recorded(app)

    # Another registration of the same owner party, with the same or another certificate.
    for owner in (AVERY, AVERY.also_owning("0000100003")):
        with pytest.raises(AlreadyRegistered) as refused:
            app.start_registration(**personal(owner))
        assert "already registered" in str(refused.value)
    assert recorded(app) == before


def test_two_concurrent_registrations_of_one_owner_cannot_both_complete() -> None:
    app = make_identity()
    issue(app)
    # Two browsers pass steps 1 and 2 before either submits.
    first = app.start_registration(**personal())
    second = app.start_registration(**personal())
    for draft, user_id in ((first, "avery01"), (second, "avery02")):
        app.choose_credentials(
            draft.registration_id, user_id=user_id, password=PASSWORD, security_questions=ANSWERS
        )
    app.complete_registration(first.registration_id)
    before = recorded(app)
    with pytest.raises(AlreadyRegistered):
        app.complete_registration(second.registration_id)
    assert recorded(app) == before
    assert app.find_account("avery02") is None


def test_a_user_id_is_taken_case_insensitively() -> None:
    app = make_identity()
    issue(app, AVERY)
    blake = OwnerData(certificate_number="0000100002", first_name="Blake", emails=())
    issue(app, blake)
    register(app, AVERY, user_id="avery01")
    before = recorded(app)

    draft = app.start_registration(**personal(blake))
    with pytest.raises(UserIdTaken) as refused:
        app.choose_credentials(
            draft.registration_id, user_id="AVERY01", password=PASSWORD, security_questions=ANSWERS
        )
    assert refused.value.field == "user_id"
    assert str(refused.value) == "This user ID is already taken. Choose another one."
    assert recorded(app) == before


def test_a_user_id_taken_between_step_2_and_submit_is_refused_at_submit() -> None:
    app = make_identity()
    issue(app, AVERY)
    blake = OwnerData(certificate_number="0000100002", first_name="Blake")
    issue(app, blake)
    drafts = [app.start_registration(**personal(owner)) for owner in (AVERY, blake)]
    for draft in drafts:
        app.choose_credentials(
            draft.registration_id, user_id="sameid", password=PASSWORD, security_questions=ANSWERS
        )
    app.complete_registration(drafts[0].registration_id)
    before = recorded(app)
    with pytest.raises(UserIdTaken):
        app.complete_registration(drafts[1].registration_id)
    assert recorded(app) == before
    assert app.claim_of(blake.party_id) is None  # Blake may still register, with another ID


@pytest.mark.parametrize(
    ("password", "words"),
    [
        ("Sh0rt!", "at least 8 characters"),
        ("lettersonly!", "mix of letters, numbers"),
        ("12345678!", "mix of letters, numbers"),
        ("Letters1234", "mix of letters, numbers"),
        ("P@ssw0rd!", "too common"),
        ("Summer2025!", "too common"),
        ("my-avery01-pass9", "must not contain the user ID"),
    ],
)
def test_a_password_that_breaks_a_rule_is_refused_at_step_2(password: str, words: str) -> None:
    app = make_identity()
    issue(app)
    draft = app.start_registration(**personal())
    with pytest.raises(PasswordRejected) as refused:
        app.choose_credentials(
            draft.registration_id, user_id="avery01", password=password, security_questions=ANSWERS
        )
    assert words in str(refused.value)
    assert refused.value.field == "password"
    # Nothing recorded, and the draft is still at step 1.
    assert recorded(app) == 0
    with pytest.raises(RegistrationIncomplete):
        app.complete_registration(draft.registration_id)


@pytest.mark.parametrize(
    "questions",
    [
        ANSWERS[:2],
        [ANSWERS[0], ANSWERS[0], ANSWERS[1]],
        [("What is your favourite colour?", "Blue"), *ANSWERS[1:]],
        [(ANSWERS[0][0], " "), *ANSWERS[1:]],
    ],
    ids=["two", "repeated", "not-offered", "blank-answer"],
)
def test_three_different_offered_security_questions_are_required(questions) -> None:
    app = make_identity()
    issue(app)
    draft = app.start_registration(**personal())
    with pytest.raises(SecurityQuestionsRejected):
        app.choose_credentials(
            draft.registration_id,
            user_id="avery01",
            password=PASSWORD,
            security_questions=questions,
        )


@pytest.mark.parametrize("user_id", ["abc", "has space", "-leading", "x" * 51, "émile"])
def test_a_user_id_has_a_plain_format(user_id: str) -> None:
    app = make_identity()
    issue(app)
    draft = app.start_registration(**personal())
    with pytest.raises(IdentityError) as refused:
        app.choose_credentials(
            draft.registration_id, user_id=user_id, password=PASSWORD, security_questions=ANSWERS
        )
    assert refused.value.field == "user_id"


def test_a_draft_expires_30_minutes_after_step_1() -> None:
    clock = FakeClock()
    app = make_identity(clock)
    issue(app)
    draft = app.start_registration(**personal())
    clock.advance(minutes=29)
    app.choose_credentials(
        draft.registration_id, user_id="avery01", password=PASSWORD, security_questions=ANSWERS
    )
    clock.advance(minutes=1)
    with pytest.raises(RegistrationNotFound):
        app.complete_registration(draft.registration_id)
    assert recorded(app) == 0


def test_an_unknown_registration_id_is_refused() -> None:
    app = make_identity()
    with pytest.raises(RegistrationNotFound):
        app.choose_credentials(
            "not-a-draft", user_id="avery01", password=PASSWORD, security_questions=ANSWERS
        )


def test_step_1_is_throttled_after_5_mismatches_for_a_certificate() -> None:
    clock = FakeClock()
    app = make_identity(clock)
    issue(app)
    # Someone guesses dates of birth.
    for day in range(1, 6):
        with pytest.raises(RecordsDoNotMatch):
            app.start_registration(**personal(date_of_birth=date(1970, 1, day)))
    # Even the right answer is refused for 15 minutes.
    with pytest.raises(TooManyAttempts):
        app.start_registration(**personal())
    clock.advance(minutes=15)
    assert app.start_registration(**personal()).party_id == AVERY.party_id


def test_the_registry_follows_policy_contact_updates_and_ignores_redeliveries() -> None:
    app = make_identity()
    certificate_id = uuid4()
    assert deliver(app, certificate_issued(AVERY), certificate_id, version=1)
    assert deliver(app, contact_updated(AVERY, ("new@example.com",)), certificate_id, version=2)
    # The same event re-published by a relay that crashed: a no-op.
    assert not deliver(app, certificate_issued(AVERY), certificate_id, version=1)
    owner = app.registry.owner_of("0000100001")
    assert owner is not None
    new = {KEYED_HASH.digest("email", "new@example.com")}
    assert app.registry.email_digests_of(AVERY.party_id) == new
    assert owner.government_id_last4 == "6789"
    assert (owner.first_name, owner.last_name) == ("Avery", "Demo")  # opened from sealed
    # Only keyed hashes of the date of birth and the SSN are kept.
    assert "1970-03-14" not in repr(owner) and "123-45-6789" not in repr(owner)
