"""Password rules and hashing: the guide's rules, then OWASP ASVS L2's."""

import pytest
from argon2 import PasswordHasher
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from services.identity.credentials import (
    Credentials,
    common_passwords,
    is_common,
    new_code,
    normalise_answer,
    normalise_password,
    password_problem,
)
from tests.unit.test_identity_support import CREDENTIALS


@pytest.mark.parametrize(
    "password",
    [
        "Correct-Horse-Battery-9",
        "Harbor-Light-42",
        "Contraseña segura 7",  # letters beyond ASCII, a space as the special character
        "Tide-" + "harbor" * 20 + "-42",  # 128 characters
        "8chars!a",
    ],
)
def test_passwords_that_follow_the_rules(password: str) -> None:
    assert password_problem(password, user_id="avery01") is None


@pytest.mark.parametrize(
    ("password", "words"),
    [
        ("Ab1!", "at least 8"),
        ("Ab1!" * 32 + "x", "at most 128"),
        ("abcdefgh", "mix of letters"),
        ("abcdefg1", "mix of letters"),
        ("abcdefg!", "mix of letters"),
        ("1234567!", "mix of letters"),
        ("Avery01-secret!", "user ID"),
        ("Password1!", "too common"),
        ("P@ssw0rd2024!", "too common"),
        ("Qwerty123!", "too common"),
        ("!!Monkey99", "too common"),
        ("Welcome@123", "too common"),
    ],
)
def test_passwords_that_break_a_rule(password: str, words: str) -> None:
    problem = password_problem(password, user_id="avery01")
    assert problem is not None and words in problem


def test_the_common_password_list_is_shipped_and_about_a_thousand_long() -> None:
    assert 900 <= len(common_passwords()) <= 1500
    assert {"123456", "password", "qwerty", "iloveyou"} <= common_passwords()
    assert is_common("PASSWORD") and is_common("Dragon2025!") and not is_common("Dragonfly-Tea-8")


def test_hashes_are_argon2id_with_rfc_9106_parameters_by_default() -> None:
    hashed = Credentials().hash_password("Harbor-Light-42")
    assert hashed.startswith("$argon2id$v=19$m=65536,t=3,p=4$")


def test_a_password_typed_in_another_unicode_form_still_matches() -> None:
    composed, decomposed = "Caf\u00e9-Harbor-42", "Cafe\u0301-Harbor-42"
    assert CREDENTIALS.verify_password(CREDENTIALS.hash_password(composed), decomposed)


def test_security_answers_are_trimmed_case_folded_and_space_collapsed() -> None:
    assert normalise_answer("  Elm   STREET ") == "elm street"
    hashed = CREDENTIALS.hash_answer("Elm Street")
    assert CREDENTIALS.verify_answer(hashed, " elm  street")
    assert not CREDENTIALS.verify_answer(hashed, "Elm Road")


def test_reset_codes_have_8_digits() -> None:
    codes = {new_code() for _ in range(50)}
    assert all(len(c) == 8 and c.isdigit() for c in codes)
    assert len(codes) > 45


def test_a_corrupt_hash_never_verifies() -> None:
    assert not CREDENTIALS.verify_password("not-a-hash", "Harbor-Light-42")


@settings(max_examples=60, deadline=None)
@given(st.text(min_size=1, max_size=128), st.integers(min_value=0, max_value=127))
def test_any_password_verifies_and_a_one_character_change_does_not(text: str, at: int) -> None:
    hasher = Credentials(PasswordHasher(time_cost=1, memory_cost=8, parallelism=1, hash_len=16))
    hashed = hasher.hash_password(text)
    assert hasher.verify_password(hashed, text)
    at = at % len(text)
    changed = text[:at] + ("a" if text[at] != "a" else "b") + text[at + 1 :]
    assume(normalise_password(changed) != normalise_password(text))
    assert not hasher.verify_password(hashed, changed)
