"""Request and response bodies of the documents command API."""

from __future__ import annotations

from datetime import date
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from shared.contracts.documents import DeliveryMethod, DocumentType, Preference


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PreferenceIn(_Body):
    document_type: Literal[DocumentType, "all"]  # type: ignore[valid-type]
    method: DeliveryMethod
    emails: list[EmailStr] = Field(default_factory=list, max_length=5)


class SetPreferences(_Body):
    owner_party_id: UUID
    preferences: list[PreferenceIn] = Field(min_length=1, max_length=20)


class PreferencesOut(BaseModel):
    certificate_number: str
    preferences: list[Preference]


class Opened(_Body):
    owner_party_id: UUID


class GenerateLetter(_Body):
    certificate_number: str = Field(min_length=1, max_length=12)
    description: str = Field(min_length=1, max_length=120)
    paragraphs: list[str] = Field(min_length=1, max_length=30)
    # For letters loaded from an older system; today when omitted.
    created_on: date | None = None
    # The same request id answers the same letter (a retried POST makes no second letter).
    request_id: str | None = Field(None, min_length=1, max_length=64, pattern=r"^[\w.:-]+$")


class LetterOut(BaseModel):
    document_id: UUID
