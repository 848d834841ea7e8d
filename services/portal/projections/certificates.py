"""Policy's events → My Insurance, Certificate Detail, Benefit Detail and the owner profile."""

from __future__ import annotations

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from services.portal.readmodels import (
    AgentView,
    BenefitView,
    CertificateView,
    InsuredView,
    LoanView,
    OwnerProfileView,
)
from shared.contracts import policy
from shared.contracts.envelope import Envelope


def certificate_row(session: Session, number: str) -> CertificateView:
    row = session.get(CertificateView, number)
    if row is None:
        row = CertificateView(certificate_number=number)
        session.add(row)
    return row


def certificate_issued(session: Session, _: Envelope, event: policy.CertificateIssued) -> None:
    number = event.certificate_number
    row = certificate_row(session, number)
    row.owner_party_id = str(event.owner_party_id)
    row.product_code = event.product_code
    row.product_name = event.product_name
    row.status = event.status
    row.status_date = event.effective_date
    row.currency = event.currency
    row.application_date = event.application_date
    row.effective_date = event.effective_date
    row.premium = event.premium
    row.payment_frequency = event.payment_frequency.value
    row.payment_method = event.payment_method.value
    row.payor_name = event.payor_name
    row.primary_dividend_option = event.primary_dividend_option
    row.net_cash_value = event.net_cash_value
    row.paid_up_additions_amount = event.paid_up_additions_amount
    row.paid_up_additions_expiration_date = event.paid_up_additions_expiration_date
    for table in (BenefitView, InsuredView, AgentView):
        session.execute(delete(table).where(table.certificate_number == number))
    for position, b in enumerate(event.benefits):
        session.add(
            BenefitView(
                certificate_number=number,
                benefit_id=b.benefit_id,
                position=position,
                product_name=b.product_name,
                coverage_code=b.coverage_code,
                status=b.status,
                effective_date=b.effective_date,
                coverage_amount=b.coverage_amount,
                net_benefit_value=b.net_benefit_value,
            )
        )
        for i in b.insureds:
            session.add(
                InsuredView(
                    certificate_number=number,
                    benefit_id=b.benefit_id,
                    insured_id=i.insured_id,
                    first_name=i.first_name,
                    last_name=i.last_name,
                    relationship=i.relationship,
                    date_of_birth_sealed=i.date_of_birth,
                    birth_year_month=i.birth_year_month,
                )
            )
    for position, a in enumerate(event.agents):
        session.add(
            AgentView(
                certificate_number=number,
                position=position,
                name=a.name,
                phone=a.phone,
                email=str(a.email) if a.email else None,
            )
        )
    owner = event.owner
    session.merge(
        OwnerProfileView(
            party_id=str(owner.party_id),
            name_type=owner.name_type,
            first_name=owner.first_name,
            last_name=owner.last_name,
            gender=owner.gender,
            relationship=owner.relationship,
            date_of_birth_sealed=owner.date_of_birth,
            government_id_last4=owner.government_id_last4,
            contact=owner.contact.model_dump(mode="json"),
        )
    )


def certificate_status_changed(
    session: Session, _: Envelope, event: policy.CertificateStatusChanged
) -> None:
    row = certificate_row(session, event.certificate_number)
    row.status = event.status
    row.status_date = event.status_date
    session.execute(
        update(BenefitView)
        .where(
            BenefitView.certificate_number == event.certificate_number,
            BenefitView.status == event.previous_status,
        )
        .values(status=event.status)
    )


def contact_updated(session: Session, _: Envelope, event: policy.ContactInformationUpdated) -> None:
    session.execute(
        update(OwnerProfileView)
        .where(OwnerProfileView.party_id == str(event.owner_party_id))
        .values(contact=event.contact.model_dump(mode="json"))
    )


def cash_value_updated(session: Session, _: Envelope, event: policy.CashValueUpdated) -> None:
    row = certificate_row(session, event.certificate_number)
    row.net_cash_value = event.net_cash_value
    row.cash_value_as_of = event.as_of
    for benefit_id, value in event.benefit_values.items():
        session.execute(
            update(BenefitView)
            .where(
                BenefitView.certificate_number == event.certificate_number,
                BenefitView.benefit_id == benefit_id,
            )
            .values(net_benefit_value=value)
        )


def dividend_credited(session: Session, _: Envelope, event: policy.DividendCredited) -> None:
    row = certificate_row(session, event.certificate_number)
    row.paid_up_additions_amount = event.paid_up_additions_amount
    row.paid_up_additions_expiration_date = event.paid_up_additions_expiration_date


def loan_taken(session: Session, _: Envelope, event: policy.LoanTaken) -> None:
    session.merge(
        LoanView(
            certificate_number=event.certificate_number,
            benefit_id=event.benefit_id,
            loan_id=event.loan_id,
            taken_on=event.taken_on,
            amount=event.amount,
            interest_rate=event.interest_rate,
            balance=event.balance,
            last_repaid_on=None,
        )
    )


def loan_repaid(session: Session, _: Envelope, event: policy.LoanRepaid) -> None:
    loan = session.scalar(
        select(LoanView).where(
            LoanView.certificate_number == event.certificate_number,
            LoanView.loan_id == event.loan_id,
        )
    )
    if loan is not None:
        loan.balance = event.balance
        loan.last_repaid_on = event.repaid_on


PROJECTORS = {
    policy.CertificateIssued: certificate_issued,
    policy.CertificateStatusChanged: certificate_status_changed,
    policy.ContactInformationUpdated: contact_updated,
    policy.CashValueUpdated: cash_value_updated,
    policy.DividendCredited: dividend_credited,
    policy.LoanTaken: loan_taken,
    policy.LoanRepaid: loan_repaid,
}
