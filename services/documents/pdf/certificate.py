"""Template `certificate`: the certificate of insurance, generated when policy issues one."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from services.documents.pdf.layout import INSURER, HarborviewPdf, money, us_date


@dataclass(frozen=True)
class BenefitLine:
    product_name: str
    status: str
    effective_date: date
    coverage_amount: Decimal | None
    insureds: tuple[str, ...] = ()


@dataclass(frozen=True)
class CertificateContent:
    certificate_number: str
    product_name: str
    owner_name: str
    effective_date: date
    premium: Decimal
    payment_frequency: str
    payment_method: str
    status: str
    issued_on: date
    benefits: tuple[BenefitLine, ...] = field(default_factory=tuple)


def render_certificate(content: CertificateContent) -> bytes:
    pdf = HarborviewPdf(f"Certificate of Insurance {content.certificate_number}", content.issued_on)
    pdf.heading("Certificate of Insurance")
    pdf.paragraph(
        f"{INSURER} certifies that the coverage described below is issued to the certificate "
        "owner named here, subject to the terms of the group policy and this certificate."
    )
    pdf.fields(
        [
            ("Certificate number", content.certificate_number),
            ("Product", content.product_name),
            ("Certificate owner", content.owner_name),
            ("Effective date", us_date(content.effective_date)),
            ("Premium", f"{money(content.premium)} {content.payment_frequency}"),
            ("Payment method", content.payment_method),
            ("Status", content.status),
            ("Issued on", us_date(content.issued_on)),
        ]
    )
    if content.benefits:
        pdf.subheading("Benefits")
        pdf.table_of(
            ("Benefit", "Insured", "Status", "Effective", "Coverage amount"),
            [
                (
                    b.product_name,
                    ", ".join(b.insureds) or "-",
                    b.status,
                    us_date(b.effective_date),
                    money(b.coverage_amount),
                )
                for b in content.benefits
            ],
        )
    pdf.ln(4)
    pdf.paragraph(
        "Keep this certificate with your important papers. Your premium, paid-to date and "
        "benefits are also shown in the Certificate Owner Portal."
    )
    return pdf.finish()
