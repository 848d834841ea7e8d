"""The product catalogue of the (fictional) insurer, Harborview Mutual."""

from __future__ import annotations

from enum import StrEnum

INSURER_NAME = "Harborview Mutual"


class ProductCode(StrEnum):
    WHOLE_LIFE = "WL"
    UNIVERSAL_LIFE = "UL"
    CRITICAL_ILLNESS = "CI"
    ACCIDENT = "AC"


PRODUCT_NAMES: dict[ProductCode, str] = {
    ProductCode.WHOLE_LIFE: "Harborview@Work Whole Life",
    ProductCode.UNIVERSAL_LIFE: "Harborview@Work Universal Life",
    ProductCode.CRITICAL_ILLNESS: "Harborview@Work Critical Illness",
    ProductCode.ACCIDENT: "Harborview@Work Accident",
}
