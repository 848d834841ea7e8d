"""The owner-facing API (DESIGN.md §5). Queries read only the read models, scoped to the
signed-in owner (another owner's record answers 404 like a missing one); owner commands are
forwarded to the owning service (`gateway.py`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, FastAPI, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from services.portal import queries
from services.portal.auth import (
    COOKIE_NAME,
    NotSignedIn,
    SignedInOwner,
    owner_for_token,
    presented_token,
    token_digest,
)
from services.portal.gateway import CommandGateway, ServiceUnavailable, read_your_write
from services.portal.readmodels import OwnerProfileView, PortalSessionView
from shared.clock import Clock
from shared.contracts.policy import ContactInformation
from shared.contracts.types import _pad_certificate_number
from shared.http import install_error_handlers
from shared.telemetry import instrument_http

SESSION_SECONDS = 8 * 3600


def session(request: Request) -> Iterator[Session]:
    with Session(request.app.state.engine) as s:
        yield s


def signed_in(request: Request, s: Annotated[Session, Depends(session)]) -> SignedInOwner:
    return owner_for_token(s, presented_token(request))


def certificate_number(number: Annotated[str, Path(description="up to 10 digits")]) -> str:
    try:
        return _pad_certificate_number(number)
    except ValueError as exc:
        raise queries.NotFound(f"certificate {number} not found") from exc


Db = Annotated[Session, Depends(session)]
Owner = Annotated[SignedInOwner, Depends(signed_in)]
Number = Annotated[str, Depends(certificate_number)]


def _relay(response: Any) -> JSONResponse | Response:
    """Answer with what the owning service answered."""
    if response.status_code == 204 or not response.content:
        return Response(status_code=response.status_code)
    return JSONResponse(status_code=response.status_code, content=response.json())


def create_portal_app(
    engine: Engine,
    gateway: CommandGateway,
    open_sealed: Callable[[str], str | None],
    clock: Clock | None = None,
    is_ready: Callable[[], bool] = lambda: True,
) -> FastAPI:
    app = FastAPI(title="Certificate Owner Portal API", version="1")
    app.state.engine = engine
    clock = clock or Clock()
    install_error_handlers(app, not_found=(queries.NotFound,))
    instrument_http(app, "portal")

    @app.exception_handler(NotSignedIn)
    async def _not_signed_in(_: Request, exc: NotSignedIn) -> JSONResponse:
        return JSONResponse(status_code=401, content={"detail": str(exc)})

    @app.exception_handler(ServiceUnavailable)
    async def _unavailable(_: Request, exc: ServiceUnavailable) -> JSONResponse:
        return JSONResponse(status_code=503, content={"detail": str(exc)})

    router = APIRouter(prefix="/api")

    # --- registration, log-in, recovery (identity's commands) --------------------------------

    for step in ("personal", "credentials", "preferences"):

        async def register(body: Annotated[dict, Body()], _step: str = step) -> Any:
            return _relay(await gateway.send("identity", "POST", f"/registration/{_step}", body))

        router.add_api_route(f"/registration/{step}", register, methods=["POST"])

    @router.get("/registration/security-questions")
    async def security_questions() -> Any:
        return _relay(await gateway.send("identity", "GET", "/registration/security-questions"))

    for path, target in (
        ("/recovery/user-id", "/recovery/user-id"),
        ("/recovery/password", "/recovery/password"),
        ("/recovery/password/reset", "/recovery/password/reset"),
    ):

        async def recover(body: Annotated[dict, Body()], _target: str = target) -> Any:
            return _relay(await gateway.send("identity", "POST", _target, body))

        router.add_api_route(path, recover, methods=["POST"])

    @router.post("/session")
    async def log_in(body: Annotated[dict, Body()]) -> Any:
        answer = await gateway.send("identity", "POST", "/sessions", body)
        if answer.status_code != 201:
            return _relay(answer)
        token = answer.json()["token"]
        digest = token_digest(token)

        def visible() -> bool:
            with Session(engine) as s:
                return s.get(PortalSessionView, digest) is not None

        await read_your_write(visible)
        response = JSONResponse(
            status_code=201,
            content={"token": token, "expires_at": answer.json().get("expires_at")},
        )
        response.set_cookie(
            COOKIE_NAME,
            token,
            max_age=SESSION_SECONDS,
            httponly=True,
            secure=True,
            samesite="strict",
        )
        return response

    @router.delete("/session", status_code=204)
    async def log_out(request: Request) -> Response:
        token = presented_token(request)
        if token:
            await gateway.send("identity", "POST", "/sessions/end", {"token": token})
            digest = token_digest(token)

            def ended() -> bool:
                with Session(engine) as s:
                    row = s.get(PortalSessionView, digest)
                    return row is None or row.ended

            await read_your_write(ended)
        response = Response(status_code=204)
        response.delete_cookie(COOKIE_NAME, httponly=True, secure=True, samesite="strict")
        return response

    # --- My Insurance and the certificate screens ---------------------------------------------

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
            return JSONResponse(
                status_code=422,
                content={
                    "detail": "from: must not be after through",
                    "errors": [{"field": "from", "message": "must not be after through"}],
                },
            )
        return queries.billing_detail(
            s,
            number,
            owner_party_id=owner.party_id,
            from_date=from_,
            through_date=through,
            page=page,
            size=size,
        )

    # --- Update Personal Information ------------------------------------------------------

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
            return _relay(answer)

        def shown() -> bool:
            with Session(engine) as s:
                row = s.get(OwnerProfileView, owner.party_id)
                return row is not None and row.contact == new_contact

        await read_your_write(shown)
        with Session(engine) as s:
            return queries.profile(s, owner.party_id, open_sealed)

    app.include_router(router)

    @app.get("/health")
    def health() -> JSONResponse:
        ready = is_ready()
        return JSONResponse(
            status_code=200 if ready else 503, content={"status": "ok" if ready else "starting"}
        )

    return app
