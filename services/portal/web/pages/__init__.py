"""One module per area of the portal guide; each has `routes(WebContext) -> APIRouter`."""

from services.portal.web.pages import (
    account,
    billing,
    claims,
    documents,
    info,
    insurance,
    login,
    privacy,
    profile,
    recovery,
    registration,
)

PAGE_MODULES = [
    login,
    registration,
    recovery,
    account,
    insurance,
    profile,
    billing,
    claims,
    documents,
    privacy,
    info,
]
