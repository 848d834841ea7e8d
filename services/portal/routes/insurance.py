"""My Insurance, certificate and benefit detail, billing, and Update Personal Information."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query
from sqlalchemy.engine import Engine

from services.portal import owner_commands, queries
from services.portal.gateway import CommandGateway
from services.portal.routes.common import Db, Number, Owner, unprocessable
from shared.clock import Clock
from shared.contracts.policy import ContactInformation
from shared.sqldb import in_thread


def insurance_routes(
    engine: Engine,
    gateway: CommandGateway,
    open_sealed: Callable[[str], str | None],
    clock: Clock,
) -> APIRouter:
    router = APIRouter()

    @router.get("/certificates", response_model=queries.MyInsurance)
    def my_insurance(db: Db, owner: Owner) -> queries.MyInsurance:
        return db(queries.my_insurance, owner.party_id)

    @router.get("/certificates/{number}", response_model=queries.CertificateDetail)
    def certificate(db: Db, owner: Owner, number: Number) -> queries.CertificateDetail:
        return db(queries.certificate_detail, number, owner.party_id, clock.today())

    @router.get(
        "/certificates/{number}/benefits/{benefit_id}", response_model=queries.BenefitDetail
    )
    def benefit(db: Db, owner: Owner, number: Number, benefit_id: str) -> queries.BenefitDetail:
        return db(queries.benefit_detail, number, benefit_id, owner.party_id, open_sealed)

    @router.get("/certificates/{number}/billing", response_model=queries.BillingDetail)
    def billing(
        db: Db,
        owner: Owner,
        number: Number,
        from_: Annotated[date | None, Query(alias="from", description="YYYY-MM-DD")] = None,
        through: Annotated[date | None, Query(description="YYYY-MM-DD")] = None,
        page: Annotated[int, Query(ge=1, le=100_000)] = 1,
        size: Annotated[int, Query(ge=1, le=100)] = 10,
    ) -> Any:
        if from_ and through and from_ > through:
            return unprocessable("from", "must not be after through")
        return db(
            queries.billing_detail,
            number,
            owner_party_id=owner.party_id,
            from_date=from_,
            through_date=through,
            page=page,
            size=size,
        )

    @router.get("/profile", response_model=queries.Profile)
    def get_profile(db: Db, owner: Owner) -> queries.Profile:
        return db(queries.profile, owner.party_id, open_sealed)

    @router.put("/profile", response_model=queries.Profile)
    async def put_profile(owner: Owner, contact: ContactInformation) -> queries.Profile:
        new_contact = contact.model_dump(mode="json")
        await owner_commands.update_contact(engine, gateway, owner.party_id, new_contact)
        return await in_thread(engine, queries.profile, owner.party_id, open_sealed)

    return router
