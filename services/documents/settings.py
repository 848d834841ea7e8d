"""The documents service's own settings (environment), read by its composition root only."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.documents.core import DEFAULT_PORTAL_URL


class DocumentsSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore", frozen=True)

    # Where notification emails send the owner (the portal's My Documents page).
    portal_url: str = Field(DEFAULT_PORTAL_URL, alias="PORTAL_URL")
