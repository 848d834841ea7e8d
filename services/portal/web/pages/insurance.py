"""My Insurance, Certificate/Policy Detail and Benefit Detail (guide pp. 10-12).

The pages show what the JSON API's queries answer; the query's actions point at the API, so
My Insurance maps each action label to the page that does it.
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.portal import queries
from services.portal.routes.common import Number
from services.portal.web.context import WebContext
from services.portal.web.deps import Db, PageOwner
from services.portal.web.rendering import render

MY_INSURANCE = ("My Insurance", "/my-insurance")
WORKSPACE = ("My Workspace", "/my-insurance")


def action_href(label: str, number: str) -> str | None:
    """The page for one of the query's "I Would Like To" actions (None: not a page action)."""
    pages = {
        "Update Personal Information": "/profile",
        "View Billing/Payments": f"/certificates/{number}/billing",
        "View Certificate Details": f"/certificates/{number}",
        "View Claims": f"/claims?certificate={quote(number)}",
    }
    return pages.get(label)


def routes(web: WebContext) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/my-insurance")
    def my_insurance(request: Request, owner: PageOwner, db: Db) -> Response:
        found = db(queries.my_insurance, owner.party_id)
        products = []
        for group in found.products:
            certificates = []
            for c in group.certificates:
                menu = [
                    (a.label, href)
                    for a in c.actions
                    if (href := action_href(a.label, c.certificate_number))
                ]
                certificates.append({"summary": c, "menu": menu})
            products.append({"name": group.product_name, "certificates": certificates})
        return render(
            request,
            "my_insurance.html",
            {
                "title": "My Insurance",
                "breadcrumbs": [WORKSPACE, ("My Insurance", None)],
                "products": products,
            },
            owner=owner,
        )

    @router.get("/certificates/{number}")
    def certificate(request: Request, owner: PageOwner, db: Db, number: Number) -> Response:
        detail = db(queries.certificate_detail, number, owner.party_id, web.clock.today())
        return render(
            request,
            "certificate.html",
            {
                "title": "Certificate/Policy Detail",
                "breadcrumbs": [WORKSPACE, MY_INSURANCE, ("Certificate/Policy Detail", None)],
                "detail": detail,
            },
            owner=owner,
        )

    @router.get("/certificates/{number}/benefits/{benefit_id}")
    def benefit(
        request: Request, owner: PageOwner, db: Db, number: Number, benefit_id: str
    ) -> Response:
        detail = db(queries.benefit_detail, number, benefit_id, owner.party_id, web.open_sealed)
        return render(
            request,
            "benefit.html",
            {
                "title": "Benefit Detail",
                "breadcrumbs": [
                    WORKSPACE,
                    MY_INSURANCE,
                    ("Certificate/Policy Detail", f"/certificates/{number}"),
                    ("Benefit Detail", None),
                ],
                "detail": detail,
            },
            owner=owner,
        )

    return router
