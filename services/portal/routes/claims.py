"""Claim Inquiry (the owner's visible claims, filtered) and Claim Details."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query

from services.portal import queries
from services.portal.routes.common import Db, Owner, unprocessable
from shared.clock import Clock
from shared.contracts.types import pad_certificate_number


def claim_routes(open_sealed: Callable[[str], str | None], clock: Clock) -> APIRouter:
    router = APIRouter()

    @router.get("/claims", response_model=queries.ClaimInquiry)
    def claim_inquiry(
        db: Db,
        owner: Owner,
        certificate: Annotated[str | None, Query(description="certificate number")] = None,
        patient: Annotated[
            str | None, Query(max_length=250, description="insured id or full name")
        ] = None,
        status: Annotated[str | None, Query(max_length=40)] = None,
        service_date: Annotated[date | None, Query(description="YYYY-MM-DD")] = None,
        page: Annotated[int, Query(ge=1, le=100_000)] = 1,
        size: Annotated[int, Query(ge=1, le=100)] = 10,
    ) -> Any:
        number = None
        if certificate:
            try:
                number = pad_certificate_number(certificate)
            except ValueError:
                return unprocessable("certificate", "a certificate number is up to 10 digits")
        return db(
            queries.claim_inquiry,
            owner.party_id,
            clock.today(),
            open_sealed,
            certificate_number=number,
            patient=patient,
            status=status,
            service_date=service_date,
            page=page,
            size=size,
        )

    @router.get("/claims/{claim_number}", response_model=queries.ClaimDetail)
    def claim_detail(db: Db, owner: Owner, claim_number: str) -> queries.ClaimDetail:
        return db(queries.claim_detail, claim_number, owner.party_id, clock.today(), open_sealed)

    return router
