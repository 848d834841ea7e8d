"""The documents service's HTTP command API (owners' commands arrive through the portal).

| method and path                                   | answers                                   |
|---------------------------------------------------|-------------------------------------------|
| `PUT /certificates/{number}/preferences`          | 200 the resulting 7 preferences           |
| `GET /certificates/{number}/preferences?owner_party_id=` | 200 the current 7 (Mail by default) |
| `POST /documents/{id}/opened`                     | 204 (DocumentOpened, the first time only) |
| `GET /documents/{id}/content?owner_party_id=`     | 200 the PDF; 410 once erased              |
| `POST /letters` (back office)                     | 201 `{document_id}`                       |
| `GET /health`                                     | 200                                       |

Errors: 422 with the field for bad input (`install_error_handlers`) and for refused
preferences (a Portal selection without email: `preferences.<n>.emails`; EOB by Portal: the
FAQ's reason, `preferences.<n>.method`); 404, the same, for an unknown certificate or
document and for another owner's; 410 for a document whose content was erased at its owner's
request (the key its PDF was sealed with is shredded, or the blob deleted with it).
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import FastAPI, Query, Response

from services.documents.application import DocumentsApplication, Selection
from services.documents.content import ContentStore, key_class_of, key_shredded
from services.documents.core import normalized_number
from services.documents.errors import ContentErased, DocumentNotFound
from services.documents.schemas import (
    GenerateLetter,
    LetterOut,
    Opened,
    PreferencesOut,
    SetPreferences,
)
from shared.contracts.documents import DOCUMENT_TYPES, Preference
from shared.eventstore import caused_by
from shared.http import install_error_handlers, install_refusal_handler
from shared.telemetry import instrument_http


def _listed(number: str, preferences: dict[str, Preference]) -> PreferencesOut:
    return PreferencesOut(
        certificate_number=number, preferences=[preferences[t] for t in DOCUMENT_TYPES]
    )


def create_documents_api(
    documents: DocumentsApplication, content_store: ContentStore | None = None
) -> FastAPI:
    """`content_store`: where PDFs are read from (the application's own by default)."""
    store = content_store or documents.content_store
    app = FastAPI(title="Documents service (eDelivery)", version="1")
    install_error_handlers(app)
    instrument_http(app, "documents")

    install_refusal_handler(app)

    @app.put("/certificates/{number}/preferences")
    def set_preferences(number: str, body: SetPreferences) -> PreferencesOut:
        selections = [
            Selection(p.document_type, p.method, tuple(str(e) for e in p.emails))
            for p in body.preferences
        ]
        with caused_by("command", "SetDeliveryPreferences"):
            result = documents.set_preferences(number, body.owner_party_id, selections)
        return _listed(normalized_number(number) or number, result)

    @app.get("/certificates/{number}/preferences")
    def get_preferences(number: str, owner_party_id: Annotated[UUID, Query()]) -> PreferencesOut:
        preferences = documents.delivery_preferences(number, owner_party_id)
        return _listed(normalized_number(number) or number, preferences)

    @app.post("/documents/{document_id}/opened", status_code=204)
    def opened(document_id: str, body: Opened) -> Response:
        with caused_by("command", "OpenDocument"):
            documents.mark_opened(document_id, body.owner_party_id)
        return Response(status_code=204)

    @app.get("/documents/{document_id}/content")
    def content(document_id: str, owner_party_id: Annotated[UUID, Query()]) -> Response:
        document = documents.owned_document(document_id, owner_party_id)
        try:
            pdf = store.get(document.content_hash)
        except LookupError:
            key_class = key_class_of(document.document_type)
            if key_shredded(document.owner_party_id, key_class):
                raise ContentErased() from None
            raise DocumentNotFound("The document's content is not available.") from None
        if pdf is None:
            raise ContentErased()
        name = f"{document.document_type}-{document.document_date.isoformat()}.pdf"
        return Response(
            pdf,
            media_type="application/pdf",
            headers={
                "Content-Disposition": f'inline; filename="{name}"',
                "Cache-Control": "private, no-store",
                "ETag": f'"{document.content_hash}"',
            },
        )

    @app.post("/letters", status_code=201)
    def generate_letter(body: GenerateLetter) -> LetterOut:
        with caused_by("command", "GenerateLetter"):
            document = documents.generate_letter(
                body.certificate_number,
                description=body.description,
                paragraphs=body.paragraphs,
                created_on=body.created_on,
                request_id=body.request_id,
            )
        return LetterOut(document_id=document.id)

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    return app
