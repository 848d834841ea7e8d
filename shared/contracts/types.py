"""Field types shared by contracts and APIs."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, Field, PlainSerializer


def pad_certificate_number(value: object) -> str:
    """10 digits; shorter numbers are padded with leading zeros (as the guide says)."""
    text = str(value).strip().replace("-", "")
    if not text.isdigit() or not 1 <= len(text) <= 10:
        raise ValueError("a certificate number is up to 10 digits")
    return text.zfill(10)


CertificateNumber = Annotated[str, BeforeValidator(pad_certificate_number)]


def _two_places(value: Decimal) -> Decimal:
    if value != value.quantize(Decimal("0.01")):
        raise ValueError("money has at most two decimal places")
    return value.quantize(Decimal("0.01"))


Money = Annotated[
    Decimal,
    Field(allow_inf_nan=False, max_digits=14),
    AfterValidator(_two_places),
    PlainSerializer(lambda d: f"{d:.2f}", return_type=str, when_used="json"),
]
PositiveMoney = Annotated[Money, Field(gt=0)]


class PaymentFrequency(StrEnum):
    MONTHLY = "Monthly"
    QUARTERLY = "Quarterly"
    SEMI_ANNUAL = "Semi-Annual"
    ANNUAL = "Annual"

    @property
    def months(self) -> int:
        return {"Monthly": 1, "Quarterly": 3, "Semi-Annual": 6, "Annual": 12}[self.value]


class PaymentMethod(StrEnum):
    DIRECT_PREMIUM_NOTICE = "Direct Premium Notice"
    LIST_BILL = "List Bill"
    ACH = "ACH/EFT"
