"""Owner-scoped read models (SQLAlchemy 2). Written only by projections, read only by queries."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, Boolean, Date, DateTime, ForeignKey, Index, Integer, Numeric, String
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
    payor_name: Mapped[str | None] = mapped_column(String(200))
    primary_dividend_option: Mapped[str | None] = mapped_column(String(80))
    net_cash_value: Mapped[Decimal | None] = mapped_column(MONEY)
    cash_value_as_of: Mapped[date | None] = mapped_column(Date)
    paid_up_additions_amount: Mapped[Decimal | None] = mapped_column(MONEY)
    paid_up_additions_expiration_date: Mapped[date | None] = mapped_column(Date)


class BenefitView(ReadModel):
    __tablename__ = "benefits"

    certificate_number: Mapped[str] = mapped_column(String(10), primary_key=True)
    benefit_id: Mapped[str] = mapped_column(String(20), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    product_name: Mapped[str] = mapped_column(String(120))
    coverage_code: Mapped[str] = mapped_column(String(4))
    status: Mapped[str] = mapped_column(String(40))
    effective_date: Mapped[date] = mapped_column(Date)
    coverage_amount: Mapped[Decimal | None] = mapped_column(MONEY)
    net_benefit_value: Mapped[Decimal | None] = mapped_column(MONEY)


class InsuredView(ReadModel):
    """An insured person on a benefit (the owner or a dependent); DOB stays sealed at rest."""

    __tablename__ = "insureds"

    certificate_number: Mapped[str] = mapped_column(String(10), primary_key=True)
    benefit_id: Mapped[str] = mapped_column(String(20), primary_key=True)
    insured_id: Mapped[str] = mapped_column(String(20), primary_key=True)
    first_name: Mapped[str] = mapped_column(String(120))
    last_name: Mapped[str] = mapped_column(String(120))
    relationship: Mapped[str] = mapped_column(String(20))
    date_of_birth_sealed: Mapped[str] = mapped_column(String(400))
    birth_year_month: Mapped[str] = mapped_column(String(7))


class LoanView(ReadModel):
    __tablename__ = "loans"

    certificate_number: Mapped[str] = mapped_column(String(10), primary_key=True)
    benefit_id: Mapped[str] = mapped_column(String(20), primary_key=True)
    loan_id: Mapped[str] = mapped_column(String(20), primary_key=True)
    taken_on: Mapped[date] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column(MONEY)
    interest_rate: Mapped[Decimal] = mapped_column(MONEY)
    balance: Mapped[Decimal] = mapped_column(MONEY)
    last_repaid_on: Mapped[date | None] = mapped_column(Date)


class AgentView(ReadModel):
    __tablename__ = "agents"

    certificate_number: Mapped[str] = mapped_column(String(10), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    phone: Mapped[str | None] = mapped_column(String(20))
    email: Mapped[str | None] = mapped_column(String(200))


class OwnerProfileView(ReadModel):
    """Personal Information (read-only) and Contact Information of one owner party."""

    __tablename__ = "owner_profiles"

    party_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name_type: Mapped[str] = mapped_column(String(20))
    first_name: Mapped[str] = mapped_column(String(120))
    last_name: Mapped[str] = mapped_column(String(120))
    gender: Mapped[str | None] = mapped_column(String(20))
    relationship: Mapped[str] = mapped_column(String(20))
    date_of_birth_sealed: Mapped[str] = mapped_column(String(400))
    government_id_last4: Mapped[str] = mapped_column(String(4))
    contact: Mapped[dict] = mapped_column(JSON)


class PortalUserView(ReadModel):
    """A registered portal user (from identity's events): who owns which party."""

    __tablename__ = "portal_users"

    account_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(64), index=True)
    party_id: Mapped[str] = mapped_column(String(36), index=True)
    preferred_language: Mapped[str] = mapped_column(String(20))
    preferred_date_format: Mapped[str] = mapped_column(String(12))


class PortalSessionView(ReadModel):
    """A signed-in session, known by the SHA-256 digest of its token only."""

    __tablename__ = "portal_sessions"

    token_digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    session_id: Mapped[str] = mapped_column(String(36), unique=True)
    account_id: Mapped[str] = mapped_column(String(36), index=True)
    party_id: Mapped[str] = mapped_column(String(36))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ended: Mapped[bool] = mapped_column(Boolean, default=False)


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


class DocumentView(ReadModel):
    """One document of the eDelivery inbox (My Documents)."""

    __tablename__ = "documents"
    __table_args__ = (Index("ix_documents_inbox", "owner_party_id", "created_on"),)

    document_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    certificate_number: Mapped[str] = mapped_column(String(10), index=True)
    owner_party_id: Mapped[str] = mapped_column(String(36))
    document_type: Mapped[str] = mapped_column(String(20))
    description: Mapped[str | None] = mapped_column(String(200))
    created_on: Mapped[date] = mapped_column(Date)
    delivery_method: Mapped[str] = mapped_column(String(10))
    size_bytes: Mapped[int] = mapped_column(Integer)
    opened_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    notified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    mailed_on: Mapped[date | None] = mapped_column(Date)


class DeliveryPreferenceView(ReadModel):
    """eDelivery User Preferences: one row per certificate and document type."""

    __tablename__ = "delivery_preferences"

    certificate_number: Mapped[str] = mapped_column(String(10), primary_key=True)
    document_type: Mapped[str] = mapped_column(String(20), primary_key=True)
    owner_party_id: Mapped[str] = mapped_column(String(36), index=True)
    method: Mapped[str] = mapped_column(String(10))
    emails: Mapped[list] = mapped_column(JSON)


class ClaimView(ReadModel):
    """One claim (Claim Inquiry / Claim Details), from claims' events. The totals are the Claim
    Summary grid. `eob_document_id` / `correspondence_document_id`: the id documents gives the
    EOB / denial letter the claim's ClaimIssued / ClaimDenied makes (deterministic, see
    `projections/claims.py`); the link is shown once that document is in the inbox."""

    __tablename__ = "claims"
    __table_args__ = (Index("ix_claims_certificate", "certificate_number", "service_date"),)

    claim_number: Mapped[str] = mapped_column(String(20), primary_key=True)
    certificate_number: Mapped[str] = mapped_column(String(10))
    group_number: Mapped[str | None] = mapped_column(String(40))
    account_number: Mapped[str | None] = mapped_column(String(40))
    member_id: Mapped[str | None] = mapped_column(String(40))
    patient_insured_id: Mapped[str | None] = mapped_column(String(20))
    patient_first_name: Mapped[str | None] = mapped_column(String(120))
    patient_last_name: Mapped[str | None] = mapped_column(String(120))
    relationship: Mapped[str | None] = mapped_column(String(20))
    provider: Mapped[str | None] = mapped_column(String(200))
    service_date: Mapped[date | None] = mapped_column(Date)
    submitted_amount: Mapped[Decimal | None] = mapped_column(MONEY)
    status: Mapped[str | None] = mapped_column(String(40))
    status_date: Mapped[date | None] = mapped_column(Date)
    amount_claimed: Mapped[Decimal | None] = mapped_column(MONEY)
    excluded_amount: Mapped[Decimal | None] = mapped_column(MONEY)
    deductible_applied: Mapped[Decimal | None] = mapped_column(MONEY)
    coinsurance_copay: Mapped[Decimal | None] = mapped_column(MONEY)
    other_carrier_paid: Mapped[Decimal | None] = mapped_column(MONEY)
    patient_responsibility: Mapped[Decimal | None] = mapped_column(MONEY)
    total_amount_paid: Mapped[Decimal | None] = mapped_column(MONEY)
    paid_to: Mapped[str | None] = mapped_column(String(200))
    currency: Mapped[str | None] = mapped_column(String(3))
    submitted_on: Mapped[date | None] = mapped_column(Date)
    eob_document_id: Mapped[str | None] = mapped_column(String(36))
    correspondence_document_id: Mapped[str | None] = mapped_column(String(36))


class ClaimLineView(ReadModel):
    """One benefit processed for a claim (the Claim Details grid)."""

    __tablename__ = "claim_lines"

    claim_number: Mapped[str] = mapped_column(String(20), primary_key=True)
    line_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    date_of_service: Mapped[date] = mapped_column(Date)
    type_of_service: Mapped[str] = mapped_column(String(200))
    amount_claimed: Mapped[Decimal] = mapped_column(MONEY)
    excluded_amount: Mapped[Decimal] = mapped_column(MONEY)
    benefit_amount: Mapped[Decimal] = mapped_column(MONEY)
    reason: Mapped[str | None] = mapped_column(String(400))


class ClaimStatusView(ReadModel):
    """A claim's status history, in the order claims published it (`sequence`)."""

    __tablename__ = "claim_status_history"

    claim_number: Mapped[str] = mapped_column(String(20), primary_key=True)
    sequence: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[str] = mapped_column(String(40))
    status_date: Mapped[date] = mapped_column(Date)


class PrivacyRequestView(ReadModel):
    """A privacy request (to know, or to delete) about an owner, as the privacy office last
    published it (PrivacyRequestUpdated, one per certificate the person owns: a row per
    request and certificate): what the owner's privacy page lists. No personal data: the
    person is named by party id; `outcome` is the sentence the owner is told."""

    __tablename__ = "privacy_requests"

    request_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    certificate_number: Mapped[str] = mapped_column(String(10), primary_key=True)
    party_id: Mapped[str] = mapped_column(String(36), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(20))
    by_agent: Mapped[bool] = mapped_column(Boolean, default=False)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    due_by: Mapped[date] = mapped_column(Date)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    outcome: Mapped[str | None] = mapped_column(String(400))


class ErasedPartyView(ReadModel):
    """A party whose personal data was erased (PersonalDataErased): the read models hold none
    of it in clear, and what arrives about them later is purged as it is projected
    (`projections/erasure.py`). The party id only."""

    __tablename__ = "erased_parties"

    party_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    request_id: Mapped[str] = mapped_column(String(36))
    erased_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
