"""Billing/Payment Detail (guide p. 14): payor, billing information and the payment history,
filtered by dates typed in the owner's date format (GET form, so a filter can be bookmarked)
and paged; a link to the most recent statement when there is one.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.portal import queries
from services.portal.routes.common import Number
from services.portal.web.context import WebContext
from services.portal.web.deps import Db, PageOwner
from services.portal.web.filters import date_range, page_number, page_size
from services.portal.web.formatting import DEFAULT_DATE_FORMAT
from services.portal.web.rendering import render
from shared.metrics import projection_freshness


def _billing_events_applied_at(web: WebContext) -> datetime | None:
    """When the newest billing event the portal has applied happened: the history is complete
    up to then (in the distributed mode the projection may trail the back office a little)."""
    for topic, progress in projection_freshness(web.engine).items():
        if topic.endswith("billing.events"):
            return progress.get("last_event_at")
    return None


def routes(web: WebContext) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/certificates/{number}/billing")
    def billing(
        request: Request,
        owner: PageOwner,
        db: Db,
        number: Number,
        from_date: str = "",
        through_date: str = "",
        page: str = "1",
        size: str = "10",
    ) -> Response:
        date_format = owner.preferred_date_format or DEFAULT_DATE_FORMAT
        typed = {"from_date": from_date.strip()[:20], "through_date": through_date.strip()[:20]}
        start, end, errors = date_range(typed, date_format)
        entries = page_size(size)
        # With a bad filter the history is shown unfiltered, and the page says so.
        detail = db(
            queries.billing_detail,
            number,
            owner_party_id=owner.party_id,
            from_date=None if errors else start,
            through_date=None if errors else end,
            page=page_number(page),
            size=entries,
        )
        kept = {k: v for k, v in typed.items() if v and not errors}
        return render(
            request,
            "billing.html",
            {
                "title": "Billing/Payment Detail",
                "breadcrumbs": [
                    ("My Workspace", "/my-insurance"),
                    ("My Insurance", "/my-insurance"),
                    ("Billing/Payment Detail", None),
                ],
                "detail": detail,
                "applied_as_of": _billing_events_applied_at(web),
                "typed": typed,
                "errors": errors,
                "pager_query": kept,
                "owner_date_format": date_format,
                "path": f"/certificates/{number}/billing",
            },
            owner=owner,
            status=422 if errors else 200,
        )

    return router
