"""My Insurance, certificate and benefit detail, billing, and Update Personal Information."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from services.portal import queries
from services.portal.gateway import CommandGateway, read_your_write
from services.portal.readmodels import OwnerProfileView
from services.portal.routes.common import Db, Number, Owner, relay, unprocessable
from shared.clock import Clock
from shared.contracts.policy import ContactInformation


def insurance_routes(
    engine: Engine,
    gateway: CommandGateway,
    open_sealed: Callable[[str], str | None],
    clock: Clock,
) -> APIRouter:
    router = APIRouter()

    @router.get("/certificates", response_model=queries.MyInsurance)
    def my_insurance(s: Db, owner: Owner) -> queries.MyInsurance:
        return queries.my_insurance(s, owner.party_id)

    @router.get("/certificates/{number}", response_model=queries.CertificateDetail)
    def certificate(s: Db, owner: Owner, number: Number) -> queries.CertificateDetail:
        return queries.certificate_detail(s, number, owner.party_id, clock.today())

    @router.get(
        "/certificates/{number}/benefits/{benefit_id}", response_model=queries.BenefitDetail
    )
    def benefit(s: Db, owner: Owner, number: Number, benefit_id: str) -> queries.BenefitDetail:
        return queries.benefit_detail(s, number, benefit_id, owner.party_id, open_sealed)

    @router.get("/certificates/{number}/billing", response_model=queries.BillingDetail)
    def billing(
        s: Db,
        owner: Owner,
        number: Number,
        from_: Annotated[date | None, Query(alias="from", description="YYYY-MM-DD")] = None,
        through: Annotated[date | None, Query(description="YYYY-MM-DD")] = None,
        page: Annotated[int, Query(ge=1, le=100_000)] = 1,
        size: Annotated[int, Query(ge=1, le=100)] = 10,
    ) -> Any:
        if from_ and through and from_ > through:
            return unprocessable("from", "must not be after through")
        return queries.billing_detail(
            s,
            number,
            owner_party_id=owner.party_id,
            from_date=from_,
            through_date=through,
            page=page,
            size=size,
        )

    @router.get("/profile", response_model=queries.Profile)
    def get_profile(s: Db, owner: Owner) -> queries.Profile:
        return queries.profile(s, owner.party_id, open_sealed)

    @router.put("/profile")
    async def put_profile(owner: Owner, contact: ContactInformation) -> Any:
        new_contact = contact.model_dump(mode="json")
        answer = await gateway.send(
            "policy", "PUT", f"/parties/{owner.party_id}/contact", new_contact
        )
        if answer.status_code != 200:
            return relay(answer)

        def shown() -> bool:
            with Session(engine) as s:
                row = s.get(OwnerProfileView, owner.party_id)
                return row is not None and row.contact == new_contact

        await read_your_write(shown)
        with Session(engine) as s:
            return queries.profile(s, owner.party_id, open_sealed)

    return router
