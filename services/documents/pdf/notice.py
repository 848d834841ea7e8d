"""Template `notice`: the premium default notice, when billing reports that a premium was still
unpaid at the end of its 31-day grace period (PremiumDefaulted).

It states the unpaid premium, its due date, the end of the grace period and the paid-to date,
and what happens next. The documents service does not know the certificate's cash value or
nonforfeiture option (policy decides the new status), so "what happens next" states the rule
for both cases and points to the portal, where the certificate's status shows the outcome.
Personal data: the owner's name only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from services.documents.pdf.layout import INSURER, HarborviewPdf, money, us_date


@dataclass(frozen=True)
class PremiumDefaultContent:
    certificate_number: str
    owner_name: str
    created_on: date
    amount_due: Decimal
    due_date: date
    grace_ended_on: date
    paid_to_date: date


def render_premium_default_notice(content: PremiumDefaultContent) -> bytes:
    pdf = HarborviewPdf(f"Notice {content.certificate_number}", content.created_on)
    pdf.heading("Notice: premium past due - grace period ended")
    pdf.fields(
        [
            ("Notice date", us_date(content.created_on)),
            ("Certificate number", content.certificate_number),
            ("Certificate owner", content.owner_name),
            ("Unpaid premium", money(content.amount_due)),
            ("Premium due date", us_date(content.due_date)),
            ("Grace period ended", us_date(content.grace_ended_on)),
            ("Paid to date", us_date(content.paid_to_date)),
        ]
    )
    pdf.ln(4)
    pdf.paragraph(f"Dear {content.owner_name or 'Certificate Owner'},")
    pdf.paragraph(
        f"We have not received the premium of {money(content.amount_due)} that was due on "
        f"{us_date(content.due_date)}. The 31-day grace period for this premium ended on "
        f"{us_date(content.grace_ended_on)}. Your premiums are paid to "
        f"{us_date(content.paid_to_date)}."
    )
    pdf.subheading("What happens next")
    pdf.paragraph(
        "Your certificate is no longer premium paying. If it is Whole Life coverage with cash "
        "value, it continues under its nonforfeiture option: Reduced Paid Up (paid-up coverage "
        "of a reduced amount) or Extended Term (the full amount, for a period the cash value "
        "buys). Otherwise the coverage has lapsed for non-payment of premium."
    )
    pdf.paragraph(
        "Your certificate's status is shown in the Certificate Owner Portal (Certificate "
        f"Detail). To ask about reinstating your certificate, please call {INSURER} Customer "
        "Service."
    )
    pdf.paragraph(f"Sincerely,\n\nCustomer Service\n{INSURER}")
    return pdf.finish()
