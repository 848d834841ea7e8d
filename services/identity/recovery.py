"""Forgot User ID and Forgot Your Password: answers that never tell whether an account exists.

- Forgot User ID: first and last name, date of birth, and the email or a certificate number;
  the owners registry finds the owner parties, their claims the accounts (emails compare by
  keyed hash); the user ID goes by email to the account's address only. The caller always
  gets the same answer. Closed accounts are never found.
- Forgot Your Password, step 1: the account's first security question, and an 8-digit
  one-time code (argon2id-hashed on the account; 15 minutes, 5 attempts) by email. An unknown
  user ID gets a question too, chosen by a keyed hash of the user ID — the same one every
  time, and unpredictable without the secret — and no email.
  Step 2: the code and the answer together (one answer, 401, whichever is wrong), then the new
  password's rules (422), then the change: every live session ends ("password_changed"), the
  lock and the failure streak are cleared, and the owner is told by email.
A new code or user-ID email is not issued within 60 seconds of the previous one (the answer
is the same), so the endpoints cannot flood an owner's mailbox.
"""

from __future__ import annotations

from datetime import date
from uuid import UUID

from services.identity import mails
from services.identity.core import IdentityCore
from services.identity.credentials import SECURITY_QUESTIONS, check_password, new_code
from services.identity.domain import CODE_LIFETIME, UserAccount
from services.identity.errors import PasswordRejected, RecoveryRefused
from services.identity.matching import EMAIL, email_key
from services.identity.registry import OwnerRecord, same_name


class RecoveryCommands(IdentityCore):
    def recover_user_id(
        self,
        *,
        first_name: str,
        last_name: str,
        date_of_birth: date,
        email: str | None = None,
        certificate_number: str | None = None,
    ) -> int:
        """Email the user ID of every matching account; answers how many (never shown)."""
        now = self.clock()
        born = self.registry.owners_born(
            self.keyed_hash.digest("date_of_birth", date_of_birth.isoformat())
        )
        parties: dict[UUID, list[OwnerRecord]] = {}
        for owner in born:
            if same_name(owner.first_name, first_name) and same_name(owner.last_name, last_name):
                parties.setdefault(owner.party_id, []).append(owner)
        sent = 0
        entered = email_key(email)
        entered_digest = self.keyed_hash.digest(EMAIL, entered) if entered else None
        for party_id, certificates in parties.items():
            claim = self.claim_of(party_id)
            if claim is None:
                continue
            account = self.get_account(claim.account_id)
            if account.closed:
                continue
            emails = self.registry.email_digests_of(party_id)
            if email_key(account.email):
                emails.add(self.keyed_hash.digest(EMAIL, email_key(account.email) or ""))
            numbers = {c.certificate_number for c in certificates}
            by_email = entered_digest is not None and entered_digest in emails
            by_certificate = certificate_number in numbers
            if not (by_email or by_certificate) or not account.may_send_user_id(now):
                continue
            account = self.update_account(account.id, lambda a: a.record_user_id_sent(now))
            self.send(account, mails.user_id_reminder(account.first_name, account.user_id))
            sent += 1
        return sent

    def request_password_reset(self, user_id: str) -> str:
        """Step 1: answers the security question to ask (a decoy for unknown user IDs)."""
        now = self.clock()
        code = new_code()
        code_hash = self.credentials.hash_code(code)  # the same work whatever follows
        account = self.find_account(user_id.strip())
        if account is None or account.closed:
            return self._decoy_question(user_id)
        if account.may_issue_code(now):
            account = self.update_account(
                account.id, lambda a: a.issue_recovery_code(code_hash, now)
            )
            minutes = int(CODE_LIFETIME.total_seconds() // 60)
            self.send(account, mails.reset_code(account.first_name, code, minutes))
        return account.security_questions[0]["question"]

    def reset_password(
        self, user_id: str, *, answer: str, code: str, new_password: str
    ) -> UserAccount:
        """Step 2: the new password, if the code and the answer are right."""
        now = self.clock()
        check_password(new_password, user_id.strip(), field="new_password")
        account = self.find_account(user_id.strip())
        if account is None or not account.has_live_code(now):
            self.credentials.waste_time(code)
            self.credentials.waste_time(answer)
            raise RecoveryRefused()
        verified_code_hash = account.code_hash
        assert verified_code_hash is not None
        code_ok = self.credentials.verify_code(verified_code_hash, code)
        answer_ok = self.credentials.verify_answer(
            account.security_questions[0]["answer_hash"], answer
        )
        if not (code_ok and answer_ok):
            self.update_account(account.id, lambda a: a.reject_recovery_attempt())
            raise RecoveryRefused()
        if any(self.credentials.verify_password(h, new_password) for h in account.password_hashes):
            raise PasswordRejected(
                "The new password must not be one of your last 5 passwords.",
                field="new_password",
            )
        new_hash = self.credentials.hash_password(new_password)

        def change(account: UserAccount) -> list:
            if account.code_hash != verified_code_hash or not account.has_live_code(now):
                raise RecoveryRefused()  # used or replaced meanwhile
            sessions = self.live_sessions(account.id, now)
            account.change_password(new_hash, reason="reset")
            for session in sessions:
                session.end("password_changed")
            return sessions

        account = self.update_account(account.id, change)
        self.send(account, mails.password_changed(account.first_name))
        return account

    def _decoy_question(self, user_id: str) -> str:
        digest = self.keyed_hash.digest("security_question_decoy", user_id.strip().casefold())
        return SECURITY_QUESTIONS[int(digest[:8], 16) % len(SECURITY_QUESTIONS)]
