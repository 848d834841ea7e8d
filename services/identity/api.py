"""Identity's HTTP command API: registration, sessions, recovery, and the privacy office's
routes (`privacy/api.py`).

Errors: 422 with the field for bad input (`install_error_handlers`) and for refused passwords
or user IDs; 422 without a field when the personal information does not match the records;
409 when already registered or the user ID is taken; 404 for an expired registration; 429
when step 1 is throttled; 401 with one message for every failed log-in or reset.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import FastAPI, Header, Response

from services.identity.application import IdentityApplication
from services.identity.credentials import SECURITY_QUESTIONS
from services.identity.errors import IdentityError
from services.identity.privacy.api import add_privacy_routes
from services.identity.schemas import (
    Accepted,
    LogIn,
    LoginAndSecurity,
    LogOut,
    PasswordRecovery,
    PasswordReset,
    PersonalInformation,
    PreferenceInformation,
    Preferences,
    Registered,
    RegistrationStep,
    SecurityQuestion,
    SessionOut,
    UserIdRecovery,
)
from shared.eventstore import caused_by
from shared.http import install_error_handlers, install_refusal_handler
from shared.telemetry import instrument_http

USER_ID_SENT = (
    "If the information entered matches our records, we have sent your user ID to the email "
    "address on file."
)
CODE_SENT = (
    "If the user ID exists, we have sent a one-time code to the email address on file. It "
    "expires in 15 minutes. Enter it with the answer to the security question."
)
PASSWORD_CHANGED = "Your password has been changed. Log in with your new password."


def _bearer(authorization: str | None) -> str | None:
    scheme, _, token = (authorization or "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


def create_identity_api(identity: IdentityApplication) -> FastAPI:
    app = FastAPI(title="Identity service", version="1")
    install_error_handlers(app)
    instrument_http(app, "identity")

    install_refusal_handler(app)

    # --- registration -------------------------------------------------------------------

    @app.get("/registration/security-questions")
    def security_questions() -> dict[str, list[str]]:
        return {"questions": list(SECURITY_QUESTIONS)}

    @app.post("/registration/personal", status_code=201)
    def personal_information(body: PersonalInformation) -> RegistrationStep:
        with caused_by("command", "StartRegistration"):
            draft = identity.start_registration(
                certificate_number=body.certificate_number,
                first_name=body.first_name,
                last_name=body.last_name,
                email=str(body.email),
                date_of_birth=body.date_of_birth,
                government_id=body.government_id,
            )
        return RegistrationStep(
            registration_id=draft.registration_id,
            expires_at=draft.expires_at,
            next_step="credentials",
        )

    @app.post("/registration/credentials")
    def login_and_security(body: LoginAndSecurity) -> RegistrationStep:
        with caused_by("command", "ChooseCredentials"):
            draft = identity.choose_credentials(
                body.registration_id,
                user_id=body.user_id,
                password=body.password,
                security_questions=[(q.question, q.answer) for q in body.security_questions],
            )
        return RegistrationStep(
            registration_id=draft.registration_id,
            expires_at=draft.expires_at,
            next_step="preferences",
        )

    @app.post("/registration/preferences", status_code=201)
    def preference_information(body: PreferenceInformation) -> Registered:
        with caused_by("command", "CompleteRegistration"):
            account = identity.complete_registration(
                body.registration_id,
                preferred_language=body.preferred_language,
                preferred_date_format=body.preferred_date_format,
            )
        return Registered(
            account_id=account.id,
            user_id=account.user_id,
            party_id=account.party_id,
            certificate_number=account.certificate_number,
            preferred_language=account.preferred_language,
            preferred_date_format=account.preferred_date_format,
        )

    # --- sessions -----------------------------------------------------------------------

    @app.post("/sessions", status_code=201)
    def log_in(body: LogIn) -> SessionOut:
        with caused_by("command", "LogIn"):
            started = identity.log_in(body.user_id, body.password, body.previous_token)
        return SessionOut(
            token=started.token,
            session_id=started.session_id,
            account_id=started.account_id,
            party_id=started.party_id,
            expires_at=started.expires_at,
        )

    @app.post("/sessions/end", status_code=204)
    def log_out(body: LogOut) -> Response:
        with caused_by("command", "LogOut"):
            identity.log_out(body.token)
        return Response(status_code=204)

    @app.put("/preferences")
    def change_preferences(
        body: Preferences, authorization: Annotated[str | None, Header()] = None
    ) -> Preferences:
        with caused_by("command", "ChangePreferences"):
            account = identity.change_preferences(
                _bearer(authorization),
                preferred_language=body.preferred_language,
                preferred_date_format=body.preferred_date_format,
            )
        return Preferences(
            preferred_language=account.preferred_language,  # type: ignore[arg-type]
            preferred_date_format=account.preferred_date_format,  # type: ignore[arg-type]
        )

    # --- recovery -----------------------------------------------------------------------

    @app.post("/recovery/user-id", status_code=202)
    def forgot_user_id(body: UserIdRecovery) -> Accepted:
        if body.email is None and body.certificate_number is None:
            raise IdentityError("Enter your email address or a certificate number.", field="email")
        with caused_by("command", "RecoverUserId"):
            identity.recover_user_id(
                first_name=body.first_name,
                last_name=body.last_name,
                date_of_birth=body.date_of_birth,
                email=str(body.email) if body.email else None,
                certificate_number=body.certificate_number,
            )
        return Accepted(detail=USER_ID_SENT)

    @app.post("/recovery/password", status_code=202)
    def forgot_password(body: PasswordRecovery) -> SecurityQuestion:
        with caused_by("command", "RequestPasswordReset"):
            question = identity.request_password_reset(body.user_id)
        return SecurityQuestion(detail=CODE_SENT, question=question)

    @app.post("/recovery/password/reset")
    def reset_password(body: PasswordReset) -> dict[str, str]:
        with caused_by("command", "ResetPassword"):
            identity.reset_password(
                body.user_id, answer=body.answer, code=body.code, new_password=body.new_password
            )
        return {"detail": PASSWORD_CHANGED}

    # --- the privacy office ---------------------------------------------------------------

    add_privacy_routes(app, identity)

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    return app
