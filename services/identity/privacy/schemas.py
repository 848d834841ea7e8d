"""Request and response bodies of the privacy office's HTTP API (unknown fields refused).

Personal values travel in bodies only, never in a URL; validation messages never repeat them.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, EmailStr, StringConstraints

from services.identity.schemas import Body, DateOfBirth, Name

Kind = Literal["know", "delete"]
Detail = Literal["categories", "specific"]
Status = Literal["received", "verified", "completed", "denied"]
Level = Literal["none", "categories", "specific"]
Cell = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[0-9+().\- ]{7,25}$")]
Line = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Zip = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^\d{5}(-?\d{4})?$")]


class Address(Body):
    street: Line | None = None
    city: Line | None = None
    state: Annotated[str, StringConstraints(strip_whitespace=True, max_length=30)] | None = None
    zip_code: Zip | None = None


class Requester(Body):
    """Who the request is about, as entered on the privacy page (each field optional; at
    least two of name, date of birth, email, cell number, address are needed)."""

    first_name: Name | None = None
    last_name: Name | None = None
    date_of_birth: DateOfBirth | None = None
    email: EmailStr | None = None
    cell: Cell | None = None
    address: Address | None = None


class Agent(Body):
    """An authorized agent acting with the consumer's written permission."""

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
    email: EmailStr
    # What the written permission says (its authority to make this request).
    permission: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)
    ]
    attested: bool


class PrivacyRequestBody(Body):
    kind: Kind
    detail: Detail = "specific"  # for a request to know
    requester: Requester
    agent: Agent | None = None


class AccountRequestBody(Body):
    account_id: UUID
    kind: Kind


class CompleteBody(Body):
    outcome: Annotated[str, StringConstraints(max_length=400)] | None = None


class RequestAnswer(BaseModel):
    """The answer to a request from the privacy page."""

    request_id: UUID
    kind: Kind
    detail: Detail
    status: Status
    matched_points: int  # 0 when denied (the count is never told then)
    level: Level
    by_agent: bool
    received_at: datetime
    due_by: date
    completed_at: datetime | None = None
    categories: list[dict[str, Any]] | None = None  # a request to know, verified
    message: str


class AccountRequestAnswer(BaseModel):
    request_id: UUID
    kind: Kind
    status: Status
    received_at: datetime
    due_by: date
    completed_at: datetime | None
    outcome: str | None
    party_id: UUID
    certificate_numbers: list[str]


class RequestOut(BaseModel):
    request_id: UUID
    kind: Kind
    detail: Detail
    channel: Literal["privacy_page", "account"]
    status: Status
    level: Level
    matched_points: int | None  # None for a signed-in owner's request; 0 when denied
    by_agent: bool
    received_at: datetime
    due_by: date
    completed_at: datetime | None
    outcome: str | None
    party_id: UUID | None
    certificate_numbers: list[str]


class RequestList(BaseModel):
    requests: list[RequestOut]


class LogEntry(BaseModel):
    """One line of the 24-month record (no personal data)."""

    request_id: UUID
    kind: Kind
    detail: Detail
    channel: Literal["privacy_page", "account"]
    by_agent: bool
    received_at: datetime
    due_by: date
    status: Status
    level: Level
    matched_points: int | None
    completed_at: datetime | None
    outcome: str | None
    answered_in_time: bool | None  # None while open


class PrivacyLogOut(BaseModel):
    since: datetime
    requests: list[LogEntry]


class SweepOut(BaseModel):
    swept_at: datetime
    deletions_resumed: int
    servicing_extended: int
    keys_shredded: int
    requests_purged: int


class AccountPersonalData(BaseModel):
    account_id: UUID
    user_id: str
    certificate_number: str
    registered_at: datetime
    preferred_language: str
    preferred_date_format: str
    security_questions: list[str]
    email: str | None
    last_login_at: datetime | None
