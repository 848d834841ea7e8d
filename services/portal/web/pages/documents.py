"""My Documents (the eDelivery home: the inbox, bold = unopened), opening a document (its PDF;
opening marks it opened), and User Preferences (Portal or Mail per certificate and document
type, with the notification emails).

Claim documents (EOBs, denial letters) follow the claims' visibility rule, exactly as the JSON
API does: only those of claims the owner may see are listed or opened.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from services.portal import owner_commands, queries
from services.portal.auth import SignedInOwner
from services.portal.queries.claims import visible_claim_documents
from services.portal.queries.documents import DOCUMENT_TYPE_NAMES, CertificatePreferences
from services.portal.web.context import WebContext
from services.portal.web.deps import Db, Form, PageOwner
from services.portal.web.filters import date_range, page_number, page_size
from services.portal.web.formatting import DEFAULT_DATE_FORMAT
from services.portal.web.pages.delivery_form import (
    CertificateForm,
    certificate_forms,
    changed_selections,
    map_refusal,
    posted_forms,
    validate,
)
from services.portal.web.rendering import render
from shared.contracts.types import pad_certificate_number
from shared.sqldb import in_thread

DOCUMENTS_CRUMBS = [("My Workspace", "/my-insurance"), ("My Documents", "/documents")]
NOTICES = {
    "saved": "Your preferences were saved.",
    "unchanged": "You did not change any preference.",
}


def policy_label(policy: CertificatePreferences) -> str:
    name = policy.product_name
    return f"{policy.certificate_number} – {name}" if name else policy.certificate_number


def routes(web: WebContext) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    def claim_documents(s: Session, party_id: str) -> set[str]:
        return visible_claim_documents(s, party_id, web.clock.today(), web.open_sealed)

    @router.get("/documents")
    def my_documents(
        request: Request,
        db: Db,
        owner: PageOwner,
        certificate: str = "",
        type: str = "",
        through: str = "",
        page: str = "1",
        size: str = "10",
    ) -> Response:
        date_format = owner.preferred_date_format or DEFAULT_DATE_FORMAT
        from_ = request.query_params.get("from", "")[:20]
        through = through[:20]
        policies = db(queries.preferences, owner.party_id).certificates
        numbers = [p.certificate_number for p in policies]
        errors: dict[str, str] = {}
        number = None
        if certificate:
            try:
                number = pad_certificate_number(certificate[:20])
            except ValueError:
                number = None
            if number not in numbers:
                errors["certificate"] = "Choose one of your policies."
                number = None
        kind = type if type in DOCUMENT_TYPE_NAMES else None
        if type and kind is None:
            errors["type"] = "Choose a document type from the list."
        start, end, date_errors = date_range({"from": from_, "through": through}, date_format)
        if date_errors:
            errors.update(date_errors)
            start = end = None
        with db.session() as s:
            found = queries.inbox(
                s,
                owner.party_id,
                certificate_number=number,
                document_type=kind,
                from_date=start,
                through_date=end,
                page=page_number(page),
                size=page_size(size),
                claim_documents=claim_documents(s, owner.party_id),
            )
        filters = {
            k: v
            for k, v in {
                "certificate": number or "",
                "type": kind or "",
                "from": from_,
                "through": through,
            }.items()
            if v
        }
        context = {
            "title": "My Documents",
            "breadcrumbs": [DOCUMENTS_CRUMBS[0], ("My Documents", None)],
            "found": found,
            "filters": filters,
            "policy_options": [("", "All")]
            + [(p.certificate_number, policy_label(p)) for p in policies],
            "type_options": [("", "All"), *DOCUMENT_TYPE_NAMES.items()],
            "certificate": number or "",
            "type": kind or "",
            "from_date": from_,
            "through_date": through,
            "date_format": date_format,
            "errors": errors,
        }
        return render(
            request, "documents.html", context, owner=owner, status=422 if errors else 200
        )

    @router.get("/documents/preferences")
    def preferences(request: Request, db: Db, owner: PageOwner, done: str = "") -> Response:
        current = db(queries.preferences, owner.party_id)
        return show_preferences(
            request, owner, certificate_forms(current), notice=NOTICES.get(done)
        )

    @router.post("/documents/preferences")
    async def save_preferences(request: Request, owner: PageOwner, form: Form) -> Response:
        current = await in_thread(web.engine, queries.preferences, owner.party_id)
        forms = posted_forms(current, form)
        errors = validate(forms)
        if errors:
            return show_preferences(request, owner, forms, errors=errors, status=422)
        changes = changed_selections(current, forms)
        if not changes:
            return RedirectResponse("/documents/preferences?done=unchanged", status_code=303)
        saved: list[str] = []
        for number, rows in changes.items():
            try:
                await owner_commands.set_delivery_preferences(
                    web.engine,
                    web.gateway,
                    owner.party_id,
                    [(number, key, method, emails) for key, method, emails in rows],
                )
            except owner_commands.CommandRefused as refused:
                errors, message = map_refusal(number, [key for key, _, _ in rows], refused)
                status = refused.status if 400 <= refused.status < 500 else 422
                if saved:  # an earlier policy's changes did go through
                    done = ", ".join(saved)
                    message = f"{message or 'Not everything was saved.'} Policy {done}: saved."
                return show_preferences(
                    request, owner, forms, errors=errors, message=message, status=status
                )
            saved.append(number)
        return RedirectResponse("/documents/preferences?done=saved", status_code=303)

    def show_preferences(
        request: Request,
        owner: SignedInOwner,
        forms: list[CertificateForm],
        *,
        errors: dict[str, str] | None = None,
        message: str | None = None,
        notice: str | None = None,
        status: int = 200,
    ) -> Response:
        context = {
            "title": "User Preferences",
            "breadcrumbs": [*DOCUMENTS_CRUMBS, ("User Preferences", None)],
            "certificates": forms,
            "errors": errors or {},
            "message": message,
            "notice": notice,
        }
        return render(request, "preferences.html", context, owner=owner, status=status)

    @router.get("/documents/{document_id}/pdf")
    async def open_document(document_id: str, owner: PageOwner) -> Response:
        visible = await in_thread(web.engine, claim_documents, owner.party_id)
        opened = await owner_commands.open_document(
            web.engine, web.gateway, owner.party_id, document_id[:64], visible
        )
        return Response(
            content=opened.content,
            media_type="application/pdf",
            headers={"Content-Disposition": f'inline; filename="{opened.file_name}"'},
        )

    return router
