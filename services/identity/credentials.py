"""Passwords, security answers and one-time codes: the rules and the hashing.

Rules (the guide, then OWASP ASVS L2): 8 to 128 characters, never truncated; a mix of letters,
numbers and at least one special character (anything that is neither); not a common password
(`common-passwords.txt`, compared case-insensitively, also after removing leading and trailing
digits and symbols and undoing the usual letter substitutions: "P@ssw0rd2024!" is
"password"); not containing the user ID (of 5+ characters); on reset, not one of the last 5
passwords (checked by the application against the account's history). Passwords are
NFKC-normalised before hashing, so the same password typed on another keyboard still matches.

Hashing: argon2id (argon2-cffi's defaults, RFC 9106's low-memory profile: t=3, m=64 MiB, p=4);
tests inject `Credentials.for_tests()` with the cheapest parameters. Security answers are
trimmed, case-folded and whitespace-collapsed, then hashed the same way; so are reset codes.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from functools import cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from services.identity.errors import PasswordRejected

MIN_LENGTH = 8
MAX_LENGTH = 128
COMMON_PASSWORDS_FILE = Path(__file__).with_name("common-passwords.txt")

SECURITY_QUESTIONS = (
    "What was the name of your first pet?",
    "What was the make of your first car?",
    "What was the name of the street you grew up on?",
    "What was the name of your elementary school?",
    "What is the middle name of your oldest sibling?",
    "In what city did your parents meet?",
    "What was your childhood nickname?",
    "What was the name of your favorite teacher?",
)

_LEET = str.maketrans({"@": "a", "4": "a", "0": "o", "1": "i", "!": "i", "3": "e", "$": "s"})
_EDGES = re.compile(r"^[\W\d_]+|[\W\d_]+$")


@cache
def common_passwords() -> frozenset[str]:
    lines = COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().casefold() for line in lines if line and line[0] != "#")


@cache
def common_words() -> frozenset[str]:
    """The purely alphabetic common passwords (4+ letters): the cores of predictable ones."""
    return frozenset(p for p in common_passwords() if p.isalpha() and len(p) >= 4)


def normalise_password(password: str) -> str:
    return unicodedata.normalize("NFKC", password)


def normalise_answer(answer: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", answer).casefold().split())


def is_common(password: str) -> bool:
    folded = password.casefold()
    if folded in common_passwords():
        return True
    core = _EDGES.sub("", folded)
    return core.translate(_LEET) in common_words() or core in common_words()


# User IDs shorter than this are not looked for inside passwords: a 2-4 letter ID matches
# ordinary words by chance ("ann" in "Banner") and would refuse good passwords.
MIN_CONTEXT_LENGTH = 5


def password_problem(password: str, user_id: str | None = None) -> str | None:
    """Why `password` is refused (a sentence for the owner), or None when it is acceptable."""
    password = normalise_password(password)
    if len(password) < MIN_LENGTH:
        return f"The password must be at least {MIN_LENGTH} characters."
    if len(password) > MAX_LENGTH:
        return f"The password must be at most {MAX_LENGTH} characters."
    has_letter = any(ch.isalpha() for ch in password)
    has_digit = any(ch.isdigit() for ch in password)
    has_special = any(not ch.isalnum() for ch in password)
    if not (has_letter and has_digit and has_special):
        return (
            "The password must contain a mix of letters, numbers and at least one special "
            "character."
        )
    context = (user_id or "").strip().casefold()
    if len(context) >= MIN_CONTEXT_LENGTH and context in password.casefold():
        return "The password must not contain the user ID."
    if is_common(password):
        return "This password is too common and easy to guess. Choose another one."
    return None


def check_password(password: str, user_id: str | None = None, field: str = "password") -> None:
    problem = password_problem(password, user_id)
    if problem:
        raise PasswordRejected(problem, field=field)


class Credentials:
    """argon2id hashing and verification of passwords, answers and codes."""

    def __init__(self, hasher: PasswordHasher | None = None) -> None:
        self.hasher = hasher or PasswordHasher()
        # Verified against when there is no account (or it is locked), so the answer takes
        # as long as a real verification: the response time does not reveal accounts.
        self._dummy = self.hasher.hash(secrets.token_urlsafe(16))

    @classmethod
    def for_tests(cls) -> Credentials:
        return cls(PasswordHasher(time_cost=1, memory_cost=8, parallelism=1, hash_len=16))

    def hash_password(self, password: str) -> str:
        return self.hasher.hash(normalise_password(password))

    def verify_password(self, password_hash: str, password: str) -> bool:
        return self._verify(password_hash, normalise_password(password))

    def hash_answer(self, answer: str) -> str:
        return self.hasher.hash(normalise_answer(answer))

    def verify_answer(self, answer_hash: str, answer: str) -> bool:
        return self._verify(answer_hash, normalise_answer(answer))

    def hash_code(self, code: str) -> str:
        return self.hasher.hash(code.strip())

    def verify_code(self, code_hash: str, code: str) -> bool:
        return self._verify(code_hash, code.strip())

    def needs_rehash(self, password_hash: str) -> bool:
        return self.hasher.check_needs_rehash(password_hash)

    def waste_time(self, secret: str) -> None:
        """One verification's worth of work, for answers that must look like the others."""
        self._verify(self._dummy, secret)

    def _verify(self, hashed: str, secret: str) -> bool:
        try:
            return self.hasher.verify(hashed, secret)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False


def new_code() -> str:
    """An 8-digit one-time code."""
    return f"{secrets.randbelow(10**8):08d}"
