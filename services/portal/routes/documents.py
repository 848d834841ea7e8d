"""My Documents (eDelivery): the inbox, a document (opening it marks it opened), and the
delivery preferences — the last two are documents' commands, forwarded."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Query, Response
from pydantic import BaseModel, ConfigDict, EmailStr, Field, ValidationError
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from services.portal import owner_commands, queries
from services.portal.gateway import CommandGateway
from services.portal.queries.claims import visible_claim_documents
from services.portal.routes.common import Db, Owner, unprocessable
from shared.clock import Clock
from shared.contracts.documents import DeliveryMethod, DocumentType
from shared.contracts.types import CertificateNumber, pad_certificate_number
from shared.sqldb import in_thread


class PreferenceIn(BaseModel):
    """DESIGN.md §5: {certificate_number, document_type (or "all"), method, emails}."""

    model_config = ConfigDict(extra="forbid")
    certificate_number: CertificateNumber
    document_type: DocumentType | Literal["all"]
    method: DeliveryMethod
    emails: list[EmailStr] = Field(default_factory=list, max_length=5)


class PreferencesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    preferences: list[PreferenceIn] = Field(min_length=1, max_length=50)


def _parse_preferences(body: Any) -> list[PreferenceIn]:
    """One preference, a list of them, or {"preferences": [...]}."""
    if isinstance(body, list):
        body = {"preferences": body}
    elif isinstance(body, dict) and "preferences" not in body:
        body = {"preferences": [body]}
    return PreferencesIn.model_validate(body).preferences


def document_routes(
    engine: Engine,
    gateway: CommandGateway,
    open_sealed: Callable[[str], str | None],
    clock: Clock,
) -> APIRouter:
    router = APIRouter()

    def claim_documents(s: Session, owner: str) -> set[str]:
        return visible_claim_documents(s, owner, clock.today(), open_sealed)

    @router.get("/documents", response_model=queries.Inbox)
    def inbox(
        db: Db,
        owner: Owner,
        certificate: Annotated[str | None, Query(description="certificate number")] = None,
        type_: Annotated[DocumentType | None, Query(alias="type")] = None,
        from_: Annotated[date | None, Query(alias="from", description="YYYY-MM-DD")] = None,
        through: Annotated[date | None, Query(description="YYYY-MM-DD")] = None,
        page: Annotated[int, Query(ge=1, le=100_000)] = 1,
        size: Annotated[int, Query(ge=1, le=100)] = 10,
    ) -> Any:
        if from_ and through and from_ > through:
            return unprocessable("from", "must not be after through")
        number = None
        if certificate:
            try:
                number = pad_certificate_number(certificate)
            except ValueError:
                return unprocessable("certificate", "a certificate number is up to 10 digits")
        with db.session() as s:
            return queries.inbox(
                s,
                owner.party_id,
                certificate_number=number,
                document_type=type_,
                from_date=from_,
                through_date=through,
                page=page,
                size=size,
                claim_documents=claim_documents(s, owner.party_id),
            )

    @router.get("/documents/preferences", response_model=queries.Preferences)
    def get_preferences(db: Db, owner: Owner) -> queries.Preferences:
        return db(queries.preferences, owner.party_id)

    @router.put("/documents/preferences")
    async def put_preferences(owner: Owner, body: Annotated[Any, Body()]) -> Any:
        try:
            wanted = _parse_preferences(body)
        except ValidationError as exc:
            error = exc.errors()[0]
            field = ".".join(str(p) for p in error["loc"]) or "preferences"
            return unprocessable(field, error["msg"])
        await owner_commands.set_delivery_preferences(
            engine,
            gateway,
            owner.party_id,
            [(p.certificate_number, p.document_type, p.method, p.emails) for p in wanted],
        )
        return await in_thread(engine, queries.preferences, owner.party_id)

    @router.get("/documents/{document_id}")
    async def document(document_id: str, owner: Owner) -> Response:
        claim_docs = await in_thread(engine, claim_documents, owner.party_id)
        opened = await owner_commands.open_document(
            engine, gateway, owner.party_id, document_id, claim_docs
        )
        return Response(
            content=opened.content,
            media_type="application/pdf",
            headers={"Content-Disposition": f'inline; filename="{opened.file_name}"'},
        )

    return router
