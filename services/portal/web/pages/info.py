"""The pages anyone may read: Help, Customer Service, the eDelivery FAQ and the Glossary
(statuses and claim terms, as the guide defines them)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.portal.web.context import WebContext
from services.portal.web.deps import MaybeOwner
from services.portal.web.glossary import CLAIM_TERMS, SYSTEM_STATUSES
from services.portal.web.rendering import render


def routes(_: WebContext) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    def page(template: str, title: str, **context: object):
        def show(request: Request, owner: MaybeOwner) -> Response:
            crumbs = [("My Workspace", "/my-insurance" if owner else "/login"), (title, None)]
            return render(
                request,
                template,
                {"title": title, "breadcrumbs": crumbs, **context},
                owner=owner,
            )

        return show

    router.add_api_route("/help", page("help.html", "Help"), methods=["GET"])
    router.add_api_route(
        "/customer-service", page("customer_service.html", "Customer Service"), methods=["GET"]
    )
    router.add_api_route(
        "/faq", page("faq.html", "FAQ - Understanding electronic delivery"), methods=["GET"]
    )
    router.add_api_route(
        "/glossary",
        page("glossary.html", "Glossary", statuses=SYSTEM_STATUSES, claim_terms=CLAIM_TERMS),
        methods=["GET"],
    )
    return router
