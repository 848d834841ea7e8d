"""Templates `eob` and `denial_letter`: claims' documents for the certificate owner.

- `eob`: the Explanation of Benefits of an issued claim — claim number, patient, provider,
  service date, the lines (date of service, type of service, amount claimed, excluded,
  benefit amount), the Claim Summary totals and whom it was paid to. EOBs are always mailed
  (the guide's eDelivery FAQ); a copy is in the portal inbox.
- `denial_letter`: a claim denied or not covered — the status, the reason, and how to ask
  for a review (appeal) or call Customer Service.

Claims decides every figure; the templates only show them. Personal data: the owner's and
the patient's names only (no address, no government ID, no date of birth).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from services.documents.pdf.layout import INSURER, HarborviewPdf, money, us_date

CURRENCY_NOTE = "All currency values expressed in DOLLAR (US)"
CUSTOMER_SERVICE_PHONE = "1-844-975-7522"


@dataclass(frozen=True)
class EobLine:
    date_of_service: date
    type_of_service: str
    amount_claimed: Decimal
    excluded_amount: Decimal
    benefit_amount: Decimal


@dataclass(frozen=True)
class EobContent:
    certificate_number: str
    owner_name: str
    claim_number: str
    issued_on: date
    patient_name: str
    provider: str
    service_date: date
    paid_to: str
    amount_claimed: Decimal
    excluded_amount: Decimal
    deductible_applied: Decimal
    coinsurance_copay: Decimal
    other_carrier_paid: Decimal
    patient_responsibility: Decimal
    total_amount_paid: Decimal
    lines: tuple[EobLine, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class DenialContent:
    certificate_number: str
    owner_name: str
    claim_number: str
    denied_on: date
    status: str
    reason: str
    patient_name: str
    provider: str
    service_date: date
    submitted_amount: Decimal
    description: str | None = None


def render_eob(content: EobContent) -> bytes:
    pdf = HarborviewPdf(f"Explanation of Benefits {content.claim_number}", content.issued_on)
    pdf.heading("Explanation of Benefits")
    pdf.paragraph("This is not a bill.")
    pdf.fields(
        [
            ("Date", us_date(content.issued_on)),
            ("Certificate number", content.certificate_number),
            ("Certificate owner", content.owner_name),
            ("Claim number", content.claim_number),
            ("Patient", content.patient_name),
            ("Doctor / Facility", content.provider),
            ("Service date", us_date(content.service_date)),
        ]
    )
    pdf.paragraph(CURRENCY_NOTE)
    pdf.subheading("Details")
    rows = [
        (us_date(line.date_of_service), line.type_of_service, money(line.amount_claimed),
         money(line.excluded_amount), money(line.benefit_amount))
        for line in content.lines
    ]  # fmt: skip
    pdf.table_of(
        ("Date of Service", "Type of Service", "Amount Claimed", "Excluded Amount",
         "Benefit Amount"),
        rows,
    )  # fmt: skip
    pdf.subheading("Claim Summary")
    pdf.fields(
        [
            ("Amount claimed", money(content.amount_claimed)),
            ("Excluded amount", money(content.excluded_amount)),
            ("Deductible applied", money(content.deductible_applied)),
            ("Coinsurance / copay", money(content.coinsurance_copay)),
            ("Other carrier paid", money(content.other_carrier_paid)),
            ("Patient responsibility", money(content.patient_responsibility)),
            ("Total amount paid", money(content.total_amount_paid)),
            ("Paid to", content.paid_to),
        ]
    )
    pdf.ln(2)
    pdf.paragraph(
        "Explanations of Benefits and checks are always mailed to the address on file with your "
        f"certificate. Questions about this claim: call {INSURER} Customer Service at "
        f"{CUSTOMER_SERVICE_PHONE}."
    )
    return pdf.finish()


def render_denial_letter(content: DenialContent) -> bytes:
    title = "Claim Denied" if content.status == "Denied" else "Claim Not Covered"
    pdf = HarborviewPdf(f"{title} {content.claim_number}", content.denied_on)
    pdf.fields(
        [("Date", us_date(content.denied_on)), ("Certificate number", content.certificate_number)],
        label_width=40,
    )
    if content.description:
        pdf.fields([("Re", content.description)], label_width=40)
    pdf.ln(4)
    pdf.heading(title)
    pdf.paragraph(f"Dear {content.owner_name or 'Certificate Owner'},")
    pdf.paragraph("We have completed our review of the following claim:")
    pdf.fields(
        [
            ("Claim number", content.claim_number),
            ("Patient", content.patient_name),
            ("Doctor / Facility", content.provider),
            ("Service date", us_date(content.service_date)),
            ("Amount claimed", money(content.submitted_amount)),
            ("Status", content.status),
            ("Reason", content.reason),
        ]
    )
    pdf.ln(2)
    pdf.paragraph(
        "No benefit is payable for this claim. If you disagree with this decision, you may ask "
        "us to review it (appeal): write to us with your claim number and any information "
        "that supports your claim, or call Customer "
        f"Service at {CUSTOMER_SERVICE_PHONE} and Press 1."
    )
    pdf.paragraph(CURRENCY_NOTE)
    pdf.paragraph(f"Sincerely,\n\nClaims Department\n{INSURER}")
    return pdf.finish()
