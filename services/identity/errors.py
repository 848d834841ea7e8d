"""The identity service's refusals, each with its HTTP status and (when there is one) field.

Messages are written for the owner and never contain what was entered: no personal data
ends up in a response, a log line or a span through an exception.
"""

from __future__ import annotations

from shared.http import Refusal


class IdentityError(Refusal):
    """Every refusal of the identity service (status, message, field: see `Refusal`)."""


class RecordsDoNotMatch(IdentityError):
    """Unknown certificate, or name / date of birth / government ID not those on record."""

    status = 422
    default_message = "The information entered does not match our records for this certificate."


class AlreadyRegistered(IdentityError):
    status = 409
    default_message = (
        "This certificate owner is already registered for the portal. Log in, or use "
        "'Forgot User ID' or 'Forgot Your Password'."
    )


class TooManyAttempts(IdentityError):
    status = 429
    default_message = (
        "Too many registration attempts for this certificate. Try again in 15 minutes."
    )


class RegistrationNotFound(IdentityError):
    status = 404
    default_message = "This registration has expired or does not exist. Please start again."


class RegistrationIncomplete(IdentityError):
    status = 409
    default_message = "Complete the 'Login & Security Information' step before the preferences."


class UserIdTaken(IdentityError):
    status = 409
    default_message = "This user ID is already taken. Choose another one."

    def __init__(self, message: str | None = None, *, field: str | None = "user_id") -> None:
        super().__init__(message, field=field)


class PasswordRejected(IdentityError):
    status = 422


class SecurityQuestionsRejected(IdentityError):
    status = 422


class LoginRefused(IdentityError):
    """Unknown user ID, wrong password, or a locked account: one answer for all three."""

    status = 401
    default_message = "The user ID or password is incorrect."


class RecoveryRefused(IdentityError):
    """Unknown user ID, wrong answer, wrong/expired/used-up code: one answer for all."""

    status = 401
    default_message = (
        "The answer or the code is not correct, or the code has expired. Check them, or "
        "request a new code."
    )


class NotAuthenticated(IdentityError):
    status = 401
    default_message = "Log in to continue."


class AccountNotFound(IdentityError):
    """Unknown or closed account (the same answer for both)."""

    status = 404
    default_message = "No such account."


class RequestNotFound(IdentityError):
    status = 404
    default_message = "No such privacy request."
