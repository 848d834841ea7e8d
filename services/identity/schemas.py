"""Request and response bodies of identity's HTTP API (pydantic, unknown fields refused).

Dates of birth are written as the guide shows them, mm/dd/yyyy (ISO yyyy-mm-dd is accepted
too); a government ID as xxx-xx-xxxx (9 digits without dashes accepted). Every personal value
travels in a body, never in a URL. Validation messages never repeat what was entered.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    Field,
    StringConstraints,
)
from pydantic_core import PydanticCustomError

from services.identity.credentials import MAX_LENGTH, SECURITY_QUESTIONS
from services.identity.registration import USER_ID_MAX, USER_ID_MIN, USER_ID_PATTERN
from shared.contracts.identity import DateFormat, Language
from shared.contracts.types import CertificateNumber

_US_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_SSN = re.compile(r"^(\d{3})-?(\d{2})-?(\d{4})$")


def _parse_date_of_birth(value: object) -> date:
    if isinstance(value, date):
        return value
    text = str(value).strip()
    if match := _US_DATE.match(text):
        month, day, year = (int(g) for g in match.groups())
    elif match := _ISO_DATE.match(text):
        year, month, day = (int(g) for g in match.groups())
    else:
        raise PydanticCustomError("dob_format", "expected a date as mm/dd/yyyy")
    try:
        return date(year, month, day)
    except ValueError:
        raise PydanticCustomError("dob_format", "not a valid calendar date (mm/dd/yyyy)") from None


def _plausible_birth(value: date) -> date:
    if not date(1900, 1, 1) <= value <= date.today():
        raise PydanticCustomError("dob_range", "a date of birth is between 1900 and today")
    return value


def _parse_government_id(value: object) -> str:
    match = _SSN.match(str(value).strip())
    if not match:
        raise PydanticCustomError("government_id_format", "expected xxx-xx-xxxx (9 digits)")
    return "-".join(match.groups())


DateOfBirth = Annotated[
    date, BeforeValidator(_parse_date_of_birth), AfterValidator(_plausible_birth)
]
GovernmentId = Annotated[str, BeforeValidator(_parse_government_id)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60)]
NewUserId = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True,
        min_length=USER_ID_MIN,
        max_length=USER_ID_MAX,
        pattern=USER_ID_PATTERN,
    ),
]
PresentedUserId = Annotated[str, StringConstraints(min_length=1, max_length=200)]
NewPassword = Annotated[str, StringConstraints(min_length=1, max_length=MAX_LENGTH)]
PresentedPassword = Annotated[str, StringConstraints(min_length=1, max_length=1024)]
Token = Annotated[str, StringConstraints(min_length=1, max_length=200)]
RegistrationId = Annotated[str, StringConstraints(min_length=1, max_length=100)]
Question = Literal[SECURITY_QUESTIONS]  # type: ignore[valid-type]
Answer = Annotated[str, StringConstraints(min_length=1, max_length=100)]
Code = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^\d{8}$")]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- registration -----------------------------------------------------------------------


class PersonalInformation(Body):
    user_type: Literal["Certificate Owner"] = "Certificate Owner"
    certificate_number: CertificateNumber
    name_type: Literal["Person"] = "Person"
    first_name: Name
    last_name: Name
    email: EmailStr
    date_of_birth: DateOfBirth
    government_id: GovernmentId


class SecurityAnswer(Body):
    question: Question
    answer: Answer


class LoginAndSecurity(Body):
    registration_id: RegistrationId
    user_id: NewUserId
    password: NewPassword
    security_questions: list[SecurityAnswer] = Field(min_length=3, max_length=3)


class PreferenceInformation(Body):
    registration_id: RegistrationId
    preferred_language: Language = "English"
    preferred_date_format: DateFormat = "mm/dd/yyyy"


class RegistrationStep(BaseModel):
    registration_id: str
    expires_at: datetime
    next_step: Literal["credentials", "preferences"]


class Registered(BaseModel):
    account_id: UUID
    user_id: str
    party_id: UUID
    certificate_number: str
    preferred_language: str
    preferred_date_format: str
    message: str = (
        "Congratulations! Your registration is complete. Click 'Log In' to access the portal."
    )


# --- sessions and preferences -----------------------------------------------------------


class LogIn(Body):
    user_id: PresentedUserId
    password: PresentedPassword
    # The token this browser held, if any: it is ended ("rotated") by the new log-in.
    previous_token: Token | None = None


class LogOut(Body):
    token: Annotated[str, StringConstraints(max_length=1000)]


class SessionOut(BaseModel):
    token: str
    session_id: UUID
    account_id: UUID
    party_id: UUID
    expires_at: datetime


class Preferences(Body):
    preferred_language: Language
    preferred_date_format: DateFormat


# --- recovery ---------------------------------------------------------------------------


class UserIdRecovery(Body):
    first_name: Name
    last_name: Name
    date_of_birth: DateOfBirth
    email: EmailStr | None = None
    certificate_number: CertificateNumber | None = None


class PasswordRecovery(Body):
    user_id: PresentedUserId


class PasswordReset(Body):
    user_id: PresentedUserId
    answer: Answer
    code: Code
    new_password: NewPassword


class Accepted(BaseModel):
    detail: str


class SecurityQuestion(BaseModel):
    detail: str
    question: str
