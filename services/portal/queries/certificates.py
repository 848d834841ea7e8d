"""My Insurance, Certificate/Policy Detail and Benefit Detail."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.portal.queries.common import NotFound, Out, owned_certificate
from services.portal.readmodels import (
    AgentView,
    BenefitView,
    BillingView,
    CertificateView,
    InsuredView,
    LoanView,
    OwnerProfileView,
)
from shared.contracts.types import Money

OpenSealed = Callable[[str], str | None]
LIFE_COVERAGES = ("WL", "UL")  # the guide: coverage amount is shown for WL and UL only
CLAIM_COVERAGES = ("CI", "AC")  # "View Claims if Critical Illness or Accident are elected"
CURRENCY_NAMES = {"USD": "DOLLAR (US)"}


class Action(Out):
    label: str
    href: str


class CertificateSummary(Out):
    certificate_number: str
    product_name: str
    coverage_amount: Money | None
    effective_date: date
    premium: Money
    payment_frequency: str
    status: str
    actions: list[Action]


class ProductGroup(Out):
    product_name: str
    certificates: list[CertificateSummary]


class MyInsurance(Out):
    products: list[ProductGroup]


def _benefits(session: Session, number: str) -> list[BenefitView]:
    return list(
        session.scalars(
            select(BenefitView)
            .where(BenefitView.certificate_number == number)
            .order_by(BenefitView.position)
        )
    )


def _actions(certificate: CertificateView, benefits: list[BenefitView]) -> list[Action]:
    number = certificate.certificate_number
    actions = [
        Action(label="Update Personal Information", href="/api/profile"),
        Action(label="View Billing/Payments", href=f"/api/certificates/{number}/billing"),
        Action(label="View Certificate Details", href=f"/api/certificates/{number}"),
    ]
    codes = {b.coverage_code for b in benefits} | {certificate.product_code}
    if codes & set(CLAIM_COVERAGES):
        actions.append(Action(label="View Claims", href=f"/api/claims?certificate={number}"))
    return actions


def _coverage_amount(benefits: list[BenefitView]) -> Decimal | None:
    amounts = [
        b.coverage_amount
        for b in benefits
        if b.coverage_code in LIFE_COVERAGES and b.coverage_amount is not None
    ]
    return sum(amounts, Decimal("0.00")) if amounts else None


def my_insurance(session: Session, owner_party_id: str) -> MyInsurance:
    certificates = session.scalars(
        select(CertificateView)
        .where(CertificateView.owner_party_id == owner_party_id)
        .order_by(CertificateView.product_name, CertificateView.certificate_number)
    ).all()
    groups: dict[str, list[CertificateSummary]] = {}
    for c in certificates:
        if c.product_name is None or c.effective_date is None or c.premium is None:
            continue  # not fully projected yet
        benefits = _benefits(session, c.certificate_number)
        groups.setdefault(c.product_name, []).append(
            CertificateSummary(
                certificate_number=c.certificate_number,
                product_name=c.product_name,
                coverage_amount=_coverage_amount(benefits),
                effective_date=c.effective_date,
                premium=c.premium,
                payment_frequency=c.payment_frequency or "",
                status=c.status or "",
                actions=_actions(c, benefits),
            )
        )
    return MyInsurance(
        products=[ProductGroup(product_name=n, certificates=cs) for n, cs in groups.items()]
    )


class Insured(Out):
    insured_id: str
    name: str
    relationship: str


class BenefitRow(Out):
    benefit_id: str
    product_name: str
    status: str
    effective_date: date
    coverage_amount: Money | None
    net_benefit_value: Money | None
    insureds: list[Insured]


class Agent(Out):
    name: str
    phone: str | None
    email: str | None


class OwnerAddress(Out):
    name: str
    street: list[str]
    city: str
    state: str
    zip_code: str
    country: str


class DividendSummary(Out):
    paid_up_additions_amount: Money | None
    paid_up_additions_expiration_date: date | None


class CertificateInformation(Out):
    status: str
    currency: str
    currency_name: str
    application_date: date
    effective_date: date
    paid_to_date: date | None
    premium: Money
    payment_method: str
    payment_frequency: str
    last_payment_date: date | None
    primary_dividend_option: str | None
    dividend_summary: DividendSummary
    net_cash_value: Money | None


class CertificateDetail(Out):
    certificate_number: str
    current_as_of: date
    owner_address: OwnerAddress | None
    agents: list[Agent]
    information: CertificateInformation
    benefits: list[BenefitRow]


def _insureds(session: Session, number: str, benefit_id: str) -> list[InsuredView]:
    return list(
        session.scalars(
            select(InsuredView)
            .where(InsuredView.certificate_number == number, InsuredView.benefit_id == benefit_id)
            .order_by(InsuredView.insured_id)
        )
    )


def _benefit_row(session: Session, b: BenefitView) -> BenefitRow:
    return BenefitRow(
        benefit_id=b.benefit_id,
        product_name=b.product_name,
        status=b.status,
        effective_date=b.effective_date,
        coverage_amount=b.coverage_amount if b.coverage_code in LIFE_COVERAGES else None,
        net_benefit_value=b.net_benefit_value,
        insureds=[
            Insured(
                insured_id=i.insured_id,
                name=f"{i.first_name} {i.last_name}",
                relationship=i.relationship,
            )
            for i in _insureds(session, b.certificate_number, b.benefit_id)
        ],
    )


def certificate_detail(
    session: Session, number: str, owner_party_id: str | None, today: date
) -> CertificateDetail:
    c = owned_certificate(session, number, owner_party_id)
    billing = session.get(BillingView, number)
    owner = session.get(OwnerProfileView, c.owner_party_id)
    address = None
    if owner is not None:
        a = owner.contact["address"]
        address = OwnerAddress(
            name=f"{owner.first_name} {owner.last_name}",
            street=a["street"],
            city=a["city"],
            state=a["state"],
            zip_code=a["zip_code"],
            country=a.get("country", "US"),
        )
    agents = session.scalars(
        select(AgentView).where(AgentView.certificate_number == number).order_by(AgentView.position)
    )
    currency = c.currency or "USD"
    return CertificateDetail(
        certificate_number=number,
        current_as_of=today,
        owner_address=address,
        agents=[Agent(name=a.name, phone=a.phone, email=a.email) for a in agents],
        information=CertificateInformation(
            status=c.status or "",
            currency=currency,
            currency_name=CURRENCY_NAMES.get(currency, currency),
            application_date=c.application_date,
            effective_date=c.effective_date,
            paid_to_date=billing.paid_to_date if billing else None,
            premium=c.premium,
            payment_method=c.payment_method or "",
            payment_frequency=c.payment_frequency or "",
            last_payment_date=billing.last_payment_date if billing else None,
            primary_dividend_option=c.primary_dividend_option,
            dividend_summary=DividendSummary(
                paid_up_additions_amount=c.paid_up_additions_amount,
                paid_up_additions_expiration_date=c.paid_up_additions_expiration_date,
            ),
            net_cash_value=c.net_cash_value,
        ),
        benefits=[_benefit_row(session, b) for b in _benefits(session, number)],
    )


class InsuredDetail(Insured):
    date_of_birth: date | None


class Loan(Out):
    loan_id: str
    taken_on: date
    amount: Money
    interest_rate: Money
    balance: Money
    last_repaid_on: date | None


class BenefitDetail(Out):
    certificate_number: str
    benefit: BenefitRow
    certificate_status: str
    premium: Money
    payment_frequency: str
    payment_method: str
    paid_to_date: date | None
    net_cash_value: Money | None
    loan_balance: Money
    loan_value_available: Money | None
    loans: list[Loan]
    insureds: list[InsuredDetail]


def benefit_detail(
    session: Session,
    number: str,
    benefit_id: str,
    owner_party_id: str | None,
    open_sealed: OpenSealed,
) -> BenefitDetail:
    c = owned_certificate(session, number, owner_party_id)
    b = session.get(BenefitView, (number, benefit_id))
    if b is None:
        raise NotFound(f"benefit {benefit_id} not found")
    billing = session.get(BillingView, number)
    loans = session.scalars(
        select(LoanView)
        .where(LoanView.certificate_number == number, LoanView.benefit_id == benefit_id)
        .order_by(LoanView.taken_on, LoanView.loan_id)
    ).all()
    balance = sum((loan.balance for loan in loans), Decimal("0.00"))
    insureds = []
    for i in _insureds(session, number, benefit_id):
        opened = open_sealed(i.date_of_birth_sealed)
        insureds.append(
            InsuredDetail(
                insured_id=i.insured_id,
                name=f"{i.first_name} {i.last_name}",
                relationship=i.relationship,
                date_of_birth=date.fromisoformat(opened) if opened else None,
            )
        )
    return BenefitDetail(
        certificate_number=number,
        benefit=_benefit_row(session, b),
        certificate_status=c.status or "",
        premium=c.premium,
        payment_frequency=c.payment_frequency or "",
        payment_method=c.payment_method or "",
        paid_to_date=billing.paid_to_date if billing else None,
        net_cash_value=b.net_benefit_value,
        loan_balance=balance,
        loan_value_available=(
            b.net_benefit_value - balance if b.net_benefit_value is not None else None
        ),
        loans=[Loan.model_validate(loan) for loan in loans],
        insureds=insureds,
    )
