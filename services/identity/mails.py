"""The emails identity sends. Never in them: a password, a government ID, a date of birth."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

INSURER = "Harborview Mutual"
SIGNATURE = f"\n\n{INSURER} — Certificate Owner Portal\nThis is an automated message; do not reply."
NOT_YOU = "If you did not ask for this, you can ignore this email; your account is unchanged."


@dataclass(frozen=True)
class Letter:
    subject: str
    body: str


def user_id_reminder(first_name: str, user_id: str) -> Letter:
    return Letter(
        f"Your {INSURER} portal user ID",
        f"Hello {first_name},\n\nYou asked for your portal user ID. It is:\n\n    {user_id}\n\n"
        f"Use it with your password to log in.\n\n{NOT_YOU}{SIGNATURE}",
    )


def reset_code(first_name: str, code: str, minutes: int) -> Letter:
    return Letter(
        f"Your {INSURER} password reset code",
        f"Hello {first_name},\n\nYour one-time code to reset your portal password is:\n\n"
        f"    {code}\n\nIt expires in {minutes} minutes and can be used once. You will also be "
        f"asked the answer to your security question.\n\n{NOT_YOU}{SIGNATURE}",
    )


def password_changed(first_name: str) -> Letter:
    return Letter(
        f"Your {INSURER} portal password was changed",
        f"Hello {first_name},\n\nThe password of your portal account was just changed, and "
        f"every signed-in session was ended.\n\nIf you did not change it, reset your password "
        f"with 'Forgot Your Password' and call customer service.{SIGNATURE}",
    )


def account_locked(first_name: str, locked_until: datetime) -> Letter:
    until = locked_until.strftime("%H:%M UTC")
    return Letter(
        f"Your {INSURER} portal account is locked for 15 minutes",
        f"Hello {first_name},\n\nAfter 5 unsuccessful log-in attempts in a row, your portal "
        f"account is locked until {until}. You can log in again after that time, or reset your "
        f"password with 'Forgot Your Password'.\n\nIf these attempts were not yours, consider "
        f"changing your password.{SIGNATURE}",
    )
