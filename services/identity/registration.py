"""Registration in the guide's three steps; only step 3 records anything in the event store.

1. Personal information: the certificate's owner as identity knows it from policy's events
   (the `owners` registry) must have the name entered (case-insensitive), and the keyed hashes
   of the date of birth and government ID entered must equal the ones policy published. Any
   mismatch — or an unknown certificate — answers one message, so the answer never tells which
   part was wrong nor whether the certificate exists. A matching owner who already has an
   account is told so (only after the match, so it reveals nothing to a stranger).
2. User ID, password and 3 security questions (hashed at once; the draft never holds them in
   clear). A user ID is unique case-insensitively.
3. Preferences; submit creates the account and the owner's claim in one transaction, so two
   concurrent registrations of one owner or one user ID cannot both succeed.
"""

from __future__ import annotations

import hmac
import re
from datetime import date
from typing import get_args

from eventsourcing.persistence import IntegrityError

from services.identity.core import IdentityCore
from services.identity.credentials import SECURITY_QUESTIONS, check_password, normalise_answer
from services.identity.domain import OwnerClaim, UserAccount
from services.identity.drafts import Draft
from services.identity.errors import (
    AlreadyRegistered,
    IdentityError,
    RecordsDoNotMatch,
    RegistrationIncomplete,
    SecurityQuestionsRejected,
    UserIdTaken,
)
from services.identity.matching import EMAIL, email_key
from services.identity.registry import OwnerRecord, same_name
from shared.contracts.identity import DateFormat, Language

QUESTIONS_REQUIRED = 3
USER_ID_MIN, USER_ID_MAX = 4, 50
USER_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._@-]*$"


class RegistrationCommands(IdentityCore):
    def start_registration(
        self,
        *,
        certificate_number: str,
        first_name: str,
        last_name: str,
        email: str,
        date_of_birth: date,
        government_id: str,
    ) -> Draft:
        """Step 1. Answers the draft (with its registration id) or refuses."""
        now = self.clock()
        self.drafts.check_throttle(certificate_number, now)
        owner = self.registry.owner_of(certificate_number)
        if not self._is_owner(owner, first_name, last_name, date_of_birth, government_id):
            self.drafts.record_failure(certificate_number, now)
            raise RecordsDoNotMatch()
        assert owner is not None
        if self.claim_of(owner.party_id) is not None:
            raise AlreadyRegistered()
        self.drafts.clear_failures(certificate_number)
        return self.drafts.start(
            now,
            certificate_number=certificate_number,
            party_id=owner.party_id,
            first_name=owner.first_name,
            last_name=owner.last_name,
            email=email.strip(),
        )

    def choose_credentials(
        self,
        registration_id: str,
        *,
        user_id: str,
        password: str,
        security_questions: list[tuple[str, str]],
    ) -> Draft:
        """Step 2 (may be repeated with 'Previous'). Answers the updated draft."""
        self.drafts.get(registration_id, self.clock())
        user_id = user_id.strip()
        check_user_id(user_id)
        if self.find_account(user_id) is not None:
            raise UserIdTaken()
        check_password(password, user_id)
        check_security_questions(security_questions)
        return self.drafts.set_credentials(
            registration_id,
            user_id=user_id,
            password_hash=self.credentials.hash_password(password),
            security_questions=[
                {"question": question, "answer_hash": self.credentials.hash_answer(answer)}
                for question, answer in security_questions
            ],
        )

    def complete_registration(
        self,
        registration_id: str,
        *,
        preferred_language: str = "English",
        preferred_date_format: str = "mm/dd/yyyy",
    ) -> UserAccount:
        """Step 3, submit: the account exists from here on."""
        draft = self.drafts.get(registration_id, self.clock())
        if not (draft.user_id and draft.password_hash and draft.security_questions):
            raise RegistrationIncomplete()
        check_preferences(preferred_language, preferred_date_format)
        account = UserAccount(
            user_id=draft.user_id,
            party_id=draft.party_id,
            certificate_number=draft.certificate_number,
            first_name=draft.first_name,
            last_name=draft.last_name,
            email=draft.email,
            password_hash=draft.password_hash,
            security_questions=draft.security_questions,
            preferred_language=preferred_language,
            preferred_date_format=preferred_date_format,
        )
        claim = OwnerClaim(
            party_id=draft.party_id,
            account_id=account.id,
            certificate_number=draft.certificate_number,
        )
        try:
            self.save(account, claim)
        except IntegrityError:
            if self.find_account(draft.user_id) is not None:
                raise UserIdTaken() from None
            raise AlreadyRegistered() from None
        self.drafts.finish(registration_id)
        entered = email_key(draft.email)
        if entered:  # the privacy office matches a requester's email on it too
            self.registry.add_account_email(draft.party_id, self.keyed_hash.digest(EMAIL, entered))
        return account

    def _is_owner(
        self,
        owner: OwnerRecord | None,
        first_name: str,
        last_name: str,
        date_of_birth: date,
        government_id: str,
    ) -> bool:
        # Both digests are computed even for an unknown certificate: no shortcut to time.
        dob = self.keyed_hash.digest("date_of_birth", date_of_birth.isoformat())
        gid = self.keyed_hash.digest("government_id", government_id)
        if owner is None:
            return False
        checks = (
            owner.name_type == "Person",
            same_name(owner.first_name, first_name),
            same_name(owner.last_name, last_name),
            hmac.compare_digest(owner.date_of_birth_digest, dob),
            hmac.compare_digest(owner.government_id_digest, gid),
        )
        return all(checks)


def check_user_id(user_id: str) -> None:
    if not USER_ID_MIN <= len(user_id) <= USER_ID_MAX or not re.match(USER_ID_PATTERN, user_id):
        raise IdentityError(
            f"A user ID is {USER_ID_MIN} to {USER_ID_MAX} characters: letters, numbers and "
            ". _ @ - (starting with a letter or a number).",
            field="user_id",
        )


def check_security_questions(pairs: list[tuple[str, str]]) -> None:
    questions = [question for question, _ in pairs]
    if len(pairs) != QUESTIONS_REQUIRED or len(set(questions)) != QUESTIONS_REQUIRED:
        raise SecurityQuestionsRejected(
            f"Choose {QUESTIONS_REQUIRED} different security questions.",
            field="security_questions",
        )
    if any(question not in SECURITY_QUESTIONS for question in questions):
        raise SecurityQuestionsRejected(
            "Choose the security questions from the list offered.", field="security_questions"
        )
    if any(len(normalise_answer(answer)) < 2 for _, answer in pairs):
        raise SecurityQuestionsRejected(
            "Each security answer must have at least 2 characters.", field="security_questions"
        )


def check_preferences(language: str, date_format: str) -> None:
    if language not in get_args(Language):
        raise IdentityError("Choose English or Spanish.", field="preferred_language")
    if date_format not in get_args(DateFormat):
        raise IdentityError(
            f"Choose one of the date formats {', '.join(get_args(DateFormat))}.",
            field="preferred_date_format",
        )
