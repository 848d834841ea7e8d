"""Templates `bill` and `annual_statement`: billing's statements for the certificate owner.

- `bill`: the billing statement / premium notice — the amount due and its due date, the
  premiums billed (the billing period), the premium and its frequency, the paid-to and
  billed-to dates, and the payments (and reversals) since the previous statement.
- `annual_statement`: the certificate year — its payments (and reversals), the total paid,
  and where the certificate stands (paid-to, billed-to, anything still due).

Billing decides every figure (see `services/billing/statements.py`); the templates only show
them. A reversal is a line with a negative amount.

Personal data: the owner's name only (no address, no government ID, no date of birth).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from services.documents.pdf.layout import INSURER, HarborviewPdf, money, us_date

ZERO = Decimal("0.00")
GRACE_DAYS = 31


@dataclass(frozen=True)
class StatementLine:
    transaction_date: date
    apply_date: date
    description: str
    amount: Decimal


@dataclass(frozen=True)
class StatementContent:
    certificate_number: str
    owner_name: str
    statement_id: str
    issued_on: date
    period_start: date
    period_end: date
    premium: Decimal
    payment_frequency: str
    amount_due: Decimal
    due_date: date | None
    paid_to_date: date
    billed_to_date: date
    total_paid: Decimal
    lines: tuple[StatementLine, ...] = field(default_factory=tuple)


def _period(content: StatementContent) -> str:
    return f"{us_date(content.period_start)} - {us_date(content.period_end)}"


def _payments(pdf: HarborviewPdf, content: StatementContent, heading: str, none: str) -> None:
    pdf.subheading(heading)
    if not content.lines:
        pdf.paragraph(none)
        return
    rows = [
        (us_date(line.transaction_date), us_date(line.apply_date), line.description,
         money(line.amount))
        for line in content.lines
    ]  # fmt: skip
    rows.append(("", "", "Total paid", money(content.total_paid)))
    pdf.table_of(("Transaction date", "Apply date", "Description", "Amount"), rows)


def render_bill(content: StatementContent) -> bytes:
    pdf = HarborviewPdf(f"Premium Notice {content.certificate_number}", content.issued_on)
    pdf.heading("Billing Statement - Premium Notice")
    due = content.amount_due > ZERO
    pdf.fields(
        [
            ("Statement date", us_date(content.issued_on)),
            ("Certificate number", content.certificate_number),
            ("Certificate owner", content.owner_name),
            ("Billing period", _period(content)),
            ("Amount due", money(content.amount_due)),
            ("Due date", us_date(content.due_date) if due else "Nothing is due"),
            ("Premium", f"{money(content.premium)} {content.payment_frequency}"),
            ("Paid to date", us_date(content.paid_to_date)),
            ("Billed to date", us_date(content.billed_to_date)),
        ]
    )
    _payments(
        pdf,
        content,
        "Payments since your last statement",
        "No payments were received since your last statement.",
    )
    pdf.ln(2)
    if due:
        pdf.paragraph(
            f"Please pay {money(content.amount_due)} by {us_date(content.due_date)}. If you "
            "have paid since the statement date, thank you: the payment is not shown here. A "
            f"premium still unpaid {GRACE_DAYS} days after its due date (the grace period) "
            "ends the premium-paying status of your certificate."
        )
    else:
        pdf.paragraph("No payment is due. Thank you for your payments.")
    pdf.paragraph(
        f"Your paid-to date, billing information and payment history are also shown in the "
        f"{INSURER} Certificate Owner Portal (Billing/Payment Detail)."
    )
    return pdf.finish()


def render_annual_statement(content: StatementContent) -> bytes:
    pdf = HarborviewPdf(f"Annual Statement {content.certificate_number}", content.issued_on)
    pdf.heading("Annual Statement")
    rows = [
        ("Statement date", us_date(content.issued_on)),
        ("Certificate number", content.certificate_number),
        ("Certificate owner", content.owner_name),
        ("Certificate year", _period(content)),
        ("Premium", f"{money(content.premium)} {content.payment_frequency}"),
        ("Total paid this year", money(content.total_paid)),
        ("Paid to date", us_date(content.paid_to_date)),
        ("Billed to date", us_date(content.billed_to_date)),
    ]
    if content.amount_due > ZERO:
        rows += [
            ("Amount due", money(content.amount_due)),
            ("Due date", us_date(content.due_date)),
        ]
    pdf.fields(rows)
    _payments(
        pdf,
        content,
        "Payments in this certificate year",
        "No payments were received in this certificate year.",
    )
    pdf.ln(2)
    pdf.paragraph(
        "This statement summarizes the premiums received for your certificate during the "
        "certificate year shown. Keep it with your important papers."
    )
    return pdf.finish()
