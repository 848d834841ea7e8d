"""(being written)"""

from fastapi import APIRouter

from services.portal.web.context import WebContext


def routes(_: WebContext) -> APIRouter:
    return APIRouter(include_in_schema=False)
