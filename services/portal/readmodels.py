"""Owner-scoped read models (SQLAlchemy 2). Written only by projections, read only by queries."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import Date, ForeignKey, Index, Numeric, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

MONEY = Numeric(14, 2)


class ReadModel(DeclarativeBase):
    pass


class CertificateView(ReadModel):
    """One row per certificate; filled by policy's events (and billing's, for billing dates)."""

    __tablename__ = "certificates"

    certificate_number: Mapped[str] = mapped_column(String(10), primary_key=True)
    owner_party_id: Mapped[str | None] = mapped_column(String(36), index=True)
    product_code: Mapped[str | None] = mapped_column(String(4))
    product_name: Mapped[str | None] = mapped_column(String(120))
    status: Mapped[str | None] = mapped_column(String(40))
    status_date: Mapped[date | None] = mapped_column(Date)
    currency: Mapped[str | None] = mapped_column(String(3))
    application_date: Mapped[date | None] = mapped_column(Date)
    effective_date: Mapped[date | None] = mapped_column(Date)
    premium: Mapped[Decimal | None] = mapped_column(MONEY)
    payment_frequency: Mapped[str | None] = mapped_column(String(20))
    payment_method: Mapped[str | None] = mapped_column(String(40))


class BillingView(ReadModel):
    """Billing/Payment Detail: payor and billing information of one certificate."""

    __tablename__ = "billing_accounts"

    certificate_number: Mapped[str] = mapped_column(String(10), primary_key=True)
    payor_name: Mapped[str] = mapped_column(String(200))
    effective_date: Mapped[date] = mapped_column(Date)
    paid_to_date: Mapped[date] = mapped_column(Date)
    billed_to_date: Mapped[date] = mapped_column(Date)
    payment_frequency: Mapped[str] = mapped_column(String(20))
    premium: Mapped[Decimal] = mapped_column(MONEY)
    payment_method: Mapped[str] = mapped_column(String(40))
    suspense_balance: Mapped[Decimal] = mapped_column(MONEY)
    last_payment_date: Mapped[date | None] = mapped_column(Date)


class PaymentView(ReadModel):
    """One row of the Payment History grid."""

    __tablename__ = "payments"
    __table_args__ = (Index("ix_payments_history", "certificate_number", "transaction_date"),)

    certificate_number: Mapped[str] = mapped_column(
        String(10), ForeignKey("billing_accounts.certificate_number"), primary_key=True
    )
    payment_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    transaction_date: Mapped[date] = mapped_column(Date)
    apply_date: Mapped[date] = mapped_column(Date)
    payment_method: Mapped[str] = mapped_column(String(40))
    payment_frequency: Mapped[str] = mapped_column(String(20))
    amount: Mapped[Decimal] = mapped_column(MONEY)
    # "Applied" once it advanced the paid-to date, "In Suspense" while it waits for a whole premium.
    state: Mapped[str] = mapped_column(String(20))
    sequence: Mapped[int] = mapped_column()
