"""Claim Inquiry (the owner's visible claims, filtered) and Claim Details, over the same
queries as the JSON API (`queries.claim_inquiry`, `queries.claim_detail`), so the guide's
visibility rule (the owner, or a dependent under 18, is the patient) holds here too.

EOB and claim correspondence: an available document links to its PDF
(/documents/{id}/pdf); one that is not available links to /claims/{n}/eob (or
/correspondence), which sends the browser back to the page with the query's own "not
available" message for that claim — the message is looked up again, never echoed.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from services.portal import queries
from services.portal.queries.claims import DocumentLink
from services.portal.web.context import WebContext
from services.portal.web.deps import Db, PageOwner
from services.portal.web.filters import page_number, page_size
from services.portal.web.formatting import DEFAULT_DATE_FORMAT, BadDate, parse_date
from services.portal.web.rendering import render
from shared.contracts.types import pad_certificate_number

KINDS = ("eob", "correspondence")
INQUIRY_CRUMBS = [("My Workspace", "/my-insurance"), ("My Insurance", "/my-insurance")]


def document_pdf(link: DocumentLink) -> str | None:
    """/documents/{id}/pdf for an available document."""
    return f"/documents/{link.document_id}/pdf" if link.available and link.document_id else None


def claim_number_of(value: str) -> str:
    return value.strip()[:40]


def routes(web: WebContext) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    def detail(db: Db, owner: PageOwner, claim_number: str) -> queries.ClaimDetail:
        number = claim_number_of(claim_number)
        today = web.clock.today()
        return db(queries.claim_detail, number, owner.party_id, today, web.open_sealed)

    @router.get("/claims")
    def claim_inquiry(
        request: Request,
        db: Db,
        owner: PageOwner,
        certificate: str = "",
        patient: str = "",
        status: str = "",
        service_date: str = "",
        page: str = "1",
        size: str = "10",
        missing: str = "",
        claim: str = "",
    ) -> Response:
        date_format = owner.preferred_date_format or DEFAULT_DATE_FORMAT
        number = None
        if certificate.strip():
            try:
                number = pad_certificate_number(certificate[:20])
            except ValueError:
                raise queries.NotFound("certificate not found") from None
        errors: dict[str, str] = {}
        try:
            when = parse_date(service_date[:20], date_format)
        except BadDate:
            when = None
            errors["service_date"] = f"Enter the service date as {date_format}."
        found = db(
            queries.claim_inquiry,
            owner.party_id,
            web.clock.today(),
            web.open_sealed,
            certificate_number=number,
            patient=patient[:250] or None,
            status=status[:40] or None,
            service_date=when,
            page=page_number(page),
            size=page_size(size),
        )
        message = None
        if missing in KINDS and claim:
            shown = detail(db, owner, claim)  # not the owner's (or hidden) → 404
            link = shown.eob if missing == "eob" else shown.correspondence
            if not link.available:
                message = f"Claim {shown.claim_number}: {link.message}"
        filters = {
            k: v
            for k, v in {
                "certificate": number or "",
                "patient": patient[:250],
                "status": status[:40],
                "service_date": service_date[:20],
            }.items()
            if v
        }
        context = {
            "title": "Claim Inquiry",
            "breadcrumbs": [*INQUIRY_CRUMBS, ("Claim Inquiry", None)],
            "found": found,
            "patient_options": [("", "All")] + [(p.insured_id, p.name) for p in found.patients],
            "status_options": [("", "All")] + [(x, x) for x in found.statuses],
            "filters": filters,
            "certificate": number or "",
            "patient": patient[:250],
            "status": status[:40],
            "service_date": service_date[:20],
            "date_label": f"Service Date ({date_format})",
            "message": message,
            "errors": errors,
            "pdf": document_pdf,
        }
        return render(request, "claims.html", context, owner=owner, status=422 if errors else 200)

    @router.get("/claims/{claim_number}")
    def claim_details(
        request: Request, db: Db, owner: PageOwner, claim_number: str, missing: str = ""
    ) -> Response:
        claim = detail(db, owner, claim_number)
        message = None
        if missing in KINDS:
            link = claim.eob if missing == "eob" else claim.correspondence
            message = None if link.available else link.message
        context = {
            "title": "Claim Details",
            "breadcrumbs": [
                *INQUIRY_CRUMBS,
                ("Claim Inquiry", "/claims"),
                ("Claim Details", None),
            ],
            "claim": claim,
            "message": message,
            "pdf": document_pdf,
        }
        return render(request, "claim_detail.html", context, owner=owner)

    def missing_document(kind: str):
        def go(db: Db, owner: PageOwner, claim_number: str, back: str = "") -> Response:
            claim = detail(db, owner, claim_number)
            link = claim.eob if kind == "eob" else claim.correspondence
            target = document_pdf(link)
            if target is None:
                n = claim.claim_number
                target = (
                    f"/claims/{n}?missing={kind}"
                    if back == "detail"
                    else f"/claims?missing={kind}&claim={n}"
                )
            return RedirectResponse(target, status_code=303)

        return go

    for kind in KINDS:
        router.add_api_route(
            f"/claims/{{claim_number}}/{kind}", missing_document(kind), methods=["GET"]
        )
    return router
