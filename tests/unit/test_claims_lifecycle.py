"""The Claim aggregate and its commands, against the real Application in memory."""

from datetime import date
from decimal import Decimal
from uuid import NAMESPACE_URL, uuid5

import pytest

from services.claims.application import ClaimsApplication
from services.claims.domain import (
    CertificateNotOnFile,
    ClaimAlreadyExists,
    ClaimRefused,
    IllegalClaimTransition,
    NotClaimable,
    UnknownPatient,
    claim_id,
)
from services.claims.integration import to_integration
from shared.contracts.envelope import IntegrationEvent, parse_event
from shared.messaging.outbox import Outbox

CERT = "0000200001"
D = Decimal


def on_file(
    app: ClaimsApplication | None = None, number: str = CERT, codes: tuple[str, ...] = ("CI",)
) -> ClaimsApplication:
    app = app or ClaimsApplication()
    owner = {"insured_id": "I1", "first_name": "Avery", "last_name": "Demo"}
    benefits = [
        {
            "coverage_code": code,
            "insureds": [
                {**owner, "relationship": "Owner"},
                {
                    "insured_id": "I2",
                    "first_name": "Sam",
                    "last_name": "Demo",
                    "relationship": "Child",
                },
            ],
        }
        for code in codes
    ]
    benefits.append(
        {
            "coverage_code": "WL",
            "insureds": [
                {
                    "insured_id": "I9",
                    "first_name": "Lee",
                    "last_name": "Demo",
                    "relationship": "Spouse",
                }
            ],
        }
    )
    app.save(
        *app.register_certificate(
            certificate_number=number,
            owner_party_id=uuid5(NAMESPACE_URL, "/tests/parties/avery"),
            owner_name="Avery Demo",
            benefits=benefits,
        )
    )
    return app


def submit(app: ClaimsApplication, number: str = "C000000001", **overrides):
    kwargs = {
        "certificate_number": CERT,
        "claim_number": number,
        "patient_insured_id": "I1",
        "provider": "Universal Provider",
        "service_date": date(2023, 11, 9),
        "submitted_amount": D("175.00"),
        "submitted_on": date(2023, 11, 20),
        **overrides,
    }
    return app.submit_claim(**kwargs)


def adjudicated(app: ClaimsApplication, number: str = "C000000001") -> ClaimsApplication:
    """A submitted claim with the guide's two lines (125.00 + 50.00)."""
    submit(app, number)
    app.adjudicate_line(
        number,
        date_of_service=date(2023, 11, 9),
        type_of_service="Urgent Care or Emer Physician Treatment",
        amount_claimed=D("125.00"),
    )
    app.adjudicate_line(
        number, date_of_service=date(2023, 11, 9), type_of_service="X-Ray", amount_claimed=D("50")
    )
    return app


def recorded(app: ClaimsApplication) -> int:
    return app.recorder.max_notification_id() or 0


def published(app: ClaimsApplication, event_type: str | None = None) -> list[IntegrationEvent]:
    records, _ = Outbox(app, "claims.events", to_integration).read(0, 1_000_000)
    events = [parse_event(record.value)[1] for record in records]
    return [e for e in events if e and (event_type is None or e.event_type == event_type)]


def check_totals(claim) -> None:
    lines = claim.lines.values()
    totals = claim.totals
    assert totals["amount_claimed"] == sum((x["amount_claimed"] for x in lines), D(0))
    assert totals["excluded_amount"] == sum((x["excluded_amount"] for x in lines), D(0))
    benefits = sum((x["benefit_amount"] for x in lines), D(0))
    adjustments = (
        totals["deductible_applied"] + totals["coinsurance_copay"] + totals["other_carrier_paid"]
    )
    assert totals["total_amount_paid"] == max(D(0), benefits - adjustments)
    assert totals["patient_responsibility"] == max(
        D(0),
        totals["amount_claimed"] - totals["total_amount_paid"] - totals["other_carrier_paid"],
    )


def test_a_claim_goes_from_pending_to_issued_with_every_status_dated() -> None:
    app = adjudicated(on_file())
    app.complete_review("C000000001", date(2023, 12, 1))
    app.render_decision("C000000001", date(2023, 12, 5))
    app.record_payment("C000000001", date(2024, 1, 20))
    claim = app.issue("C000000001", date(2024, 1, 25))
    assert claim.id == claim_id("C000000001")
    assert (claim.status, claim.status_date) == ("Issued", date(2024, 1, 25))
    assert [(h["status"], h["status_date"]) for h in claim.status_history] == [
        ("Pending", date(2023, 11, 20)),
        ("Review Complete", date(2023, 12, 1)),
        ("Decision Rendered", date(2023, 12, 5)),
        ("Paid Not Issued", date(2024, 1, 20)),
        ("Issued", date(2024, 1, 25)),
    ]
    assert claim.totals["amount_claimed"] == D("175.00")
    assert claim.totals["total_amount_paid"] == D("175.00")
    assert claim.totals["patient_responsibility"] == D("0.00")
    assert claim.paid_to == "Avery Demo"
    assert claim.patient == {
        "insured_id": "I1",
        "first_name": "Avery",
        "last_name": "Demo",
        "relationship": "Owner",
    }
    check_totals(claim)


@pytest.mark.parametrize("stage", [0, 1, 2])
@pytest.mark.parametrize("not_covered", [False, True])
def test_denied_or_not_covered_from_pending_review_complete_or_decision_rendered(
    stage: int, not_covered: bool
) -> None:
    app = adjudicated(on_file())
    if stage >= 1:
        app.complete_review("C000000001", date(2023, 12, 1))
    if stage >= 2:
        app.render_decision("C000000001", date(2023, 12, 5))
    claim = app.deny("C000000001", date(2023, 12, 10), "Plan limitations", not_covered=not_covered)
    assert claim.status == ("Not Covered" if not_covered else "Denied")
    assert claim.denial_reason == "Plan limitations"
    [denied] = published(app, "ClaimDenied")
    assert (denied.status, denied.reason, denied.denied_on) == (
        claim.status,
        "Plan limitations",
        date(2023, 12, 10),
    )


def _to(app: ClaimsApplication, status: str) -> None:
    n = "C000000001"
    steps = ["Review Complete", "Decision Rendered", "Paid Not Issued", "Issued"]
    if status in ("Denied", "Not Covered"):
        app.deny(n, date(2023, 12, 1), "x", not_covered=status == "Not Covered")
        return
    for step in steps[: steps.index(status) + 1] if status != "Pending" else []:
        {
            "Review Complete": lambda: app.complete_review(n, date(2023, 12, 1)),
            "Decision Rendered": lambda: app.render_decision(n, date(2023, 12, 2)),
            "Paid Not Issued": lambda: app.record_payment(n, date(2023, 12, 3)),
            "Issued": lambda: app.issue(n, date(2023, 12, 4)),
        }[step]()


ON = date(2024, 1, 1)
ILLEGAL = [
    ("Pending", "decision", lambda a: a.render_decision("C000000001", ON)),
    ("Pending", "payment", lambda a: a.record_payment("C000000001", ON)),
    ("Pending", "issue", lambda a: a.issue("C000000001", ON)),
    ("Review Complete", "review", lambda a: a.complete_review("C000000001", ON)),
    ("Review Complete", "payment", lambda a: a.record_payment("C000000001", ON)),
    ("Decision Rendered", "issue", lambda a: a.issue("C000000001", ON)),
    (
        "Decision Rendered",
        "line",
        lambda a: a.adjudicate_line(
            "C000000001", date_of_service=ON, type_of_service="X-Ray", amount_claimed=D("1")
        ),
    ),
    ("Paid Not Issued", "deny", lambda a: a.deny("C000000001", ON, "late")),
    ("Paid Not Issued", "review", lambda a: a.complete_review("C000000001", ON)),
    ("Issued", "deny", lambda a: a.deny("C000000001", ON, "late")),
    ("Issued", "issue", lambda a: a.issue("C000000001", ON)),
    ("Denied", "review", lambda a: a.complete_review("C000000001", ON)),
    ("Denied", "deny", lambda a: a.deny("C000000001", ON, "again", not_covered=True)),
    ("Not Covered", "payment", lambda a: a.record_payment("C000000001", ON)),
    (
        "Not Covered",
        "line",
        lambda a: a.adjudicate_line(
            "C000000001", date_of_service=ON, type_of_service="X-Ray", amount_claimed=D("1")
        ),
    ),
]


@pytest.mark.parametrize(
    ("status", "name", "command"), ILLEGAL, ids=[f"{s}-{n}" for s, n, _ in ILLEGAL]
)
def test_an_illegal_transition_is_refused_and_records_nothing(status, name, command) -> None:
    app = adjudicated(on_file())
    _to(app, status)
    before = recorded(app)
    with pytest.raises(IllegalClaimTransition):
        command(app)
    assert recorded(app) == before
    assert app.get_claim("C000000001").status == status


def test_a_status_date_before_the_current_one_is_refused() -> None:
    app = adjudicated(on_file())
    before = recorded(app)
    with pytest.raises(ClaimRefused, match="before"):
        app.complete_review("C000000001", date(2023, 11, 1))
    assert recorded(app) == before


def test_review_needs_a_line_and_payment_needs_something_payable() -> None:
    app = on_file()
    submit(app)
    with pytest.raises(ClaimRefused, match="no benefit line"):
        app.complete_review("C000000001", date(2023, 12, 1))
    app.adjudicate_line(
        "C000000001",
        date_of_service=date(2023, 11, 9),
        type_of_service="X-Ray",
        amount_claimed=D("50.00"),
        excluded_amount=D("50.00"),
        reason="Not a covered service",
    )
    app.complete_review("C000000001", date(2023, 12, 1))
    app.render_decision("C000000001", date(2023, 12, 2))
    with pytest.raises(ClaimRefused, match="pays nothing"):
        app.record_payment("C000000001", date(2023, 12, 3))


@pytest.mark.parametrize(
    ("lines", "adjustments"),
    [
        ([("125.00", "0", None), ("50.00", "0", None)], {}),
        ([("125.00", "25.00", None), ("50.00", "0", "30.00")], {"deductible_applied": D("20")}),
        ([("100.00", "0", None)], {"coinsurance_copay": D("10"), "other_carrier_paid": D("40")}),
        ([("100.00", "0", None)], {"other_carrier_paid": D("150.00")}),  # other carrier paid it
        ([("80.00", "80.00", "0")], {"deductible_applied": D("50")}),
    ],
)
def test_totals_always_equal_the_sums_of_the_lines(lines, adjustments) -> None:
    app = on_file()
    submit(app)
    for i, (claimed, excluded, benefit) in enumerate(lines, start=1):
        claim = app.adjudicate_line(
            "C000000001",
            line_id=f"L{i}",
            date_of_service=date(2023, 11, 9),
            type_of_service="X-Ray",
            amount_claimed=D(claimed),
            excluded_amount=D(excluded),
            benefit_amount=D(benefit) if benefit else None,
        )
        check_totals(claim)
    app.complete_review("C000000001", date(2023, 12, 1))
    claim = app.render_decision("C000000001", date(2023, 12, 2), **adjustments)
    check_totals(claim)
    # replaying the claim from its events gives the same totals
    assert app.get_claim("C000000001").totals == claim.totals
    # every published total matches the lines published with it
    last = published(app, "ClaimStatusChanged")[-1]
    assert last.totals.model_dump() == claim.totals


def test_a_line_adjudicated_again_replaces_it() -> None:
    app = adjudicated(on_file())
    claim = app.adjudicate_line(
        "C000000001",
        line_id="L2",
        date_of_service=date(2023, 11, 9),
        type_of_service="X-Ray",
        amount_claimed=D("60.00"),
        benefit_amount=D("45.00"),
    )
    assert len(claim.lines) == 2
    assert claim.totals["amount_claimed"] == D("185.00")
    assert claim.totals["total_amount_paid"] == D("170.00")
    assert claim.totals["patient_responsibility"] == D("15.00")


@pytest.mark.parametrize(
    ("claimed", "excluded", "benefit"),
    [("50.00", "0", "50.01"), ("50.00", "20.00", "30.01"), ("50.00", "60.00", None)],
)
def test_a_benefit_above_the_amount_claimed_minus_excluded_is_refused(
    claimed, excluded, benefit
) -> None:
    app = on_file()
    submit(app)
    before = recorded(app)
    with pytest.raises(ClaimRefused):
        app.adjudicate_line(
            "C000000001",
            date_of_service=date(2023, 11, 9),
            type_of_service="X-Ray",
            amount_claimed=D(claimed),
            excluded_amount=D(excluded),
            benefit_amount=D(benefit) if benefit else None,
        )
    assert recorded(app) == before
    assert app.get_claim("C000000001").lines == {}


def test_unknown_certificate_patient_or_coverage_is_refused() -> None:
    app = on_file()
    on_file(app, "0000200002", codes=())
    before = recorded(app)
    with pytest.raises(CertificateNotOnFile):
        submit(app, certificate_number="0000999999")
    with pytest.raises(UnknownPatient) as refused:
        submit(app, patient_insured_id="I7")
    assert refused.value.field == "patient_insured_id"
    with pytest.raises(UnknownPatient):  # insured on the certificate, but only on its WL
        submit(app, patient_insured_id="I9")
    with pytest.raises(NotClaimable):
        submit(app, certificate_number="0000200002")
    assert recorded(app) == before


def test_a_claim_number_is_generated_or_refused_when_taken() -> None:
    app = on_file(codes=("AC",))
    claim = submit(app, number=None, patient_insured_id="I2")
    assert claim.claim_number[0] == "C" and len(claim.claim_number) == 10
    assert claim.claim_number[1:].isdigit()
    assert claim.patient["relationship"] == "Child"
    submit(app)
    with pytest.raises(ClaimAlreadyExists):
        submit(app)


def test_the_outbox_publishes_the_contracts_of_a_full_issue_flow() -> None:
    app = adjudicated(on_file())
    app.complete_review("C000000001", date(2023, 12, 1))
    app.render_decision("C000000001", date(2023, 12, 5))
    app.record_payment("C000000001", date(2024, 1, 20), paid_to="Avery Demo, 12 Elm Street")
    app.issue("C000000001", date(2024, 1, 25))
    events = published(app)
    assert [e.event_type for e in events] == [
        "ClaimSubmitted",
        "ClaimStatusChanged",
        "ClaimLineAdjudicated",
        "ClaimLineAdjudicated",
        "ClaimStatusChanged",
        "ClaimStatusChanged",
        "ClaimStatusChanged",
        "ClaimStatusChanged",
        "ClaimIssued",
    ]
    submitted = events[0]
    assert submitted.claim_id == claim_id("C000000001")
    assert (submitted.member_id, submitted.patient.insured_id) == (CERT, "I1")
    statuses = [(e.previous_status, e.status) for e in published(app, "ClaimStatusChanged")]
    assert statuses == [
        (None, "Pending"),
        ("Pending", "Review Complete"),
        ("Review Complete", "Decision Rendered"),
        ("Decision Rendered", "Paid Not Issued"),
        ("Paid Not Issued", "Issued"),
    ]
    assert events[3].totals.amount_claimed == D("175.00")
    issued = events[-1]
    assert issued.paid_to == "Avery Demo, 12 Elm Street"
    assert [(x.type_of_service, x.benefit_amount) for x in issued.lines] == [
        ("Urgent Care or Emer Physician Treatment", D("125.00")),
        ("X-Ray", D("50.00")),
    ]
    assert issued.totals.total_amount_paid == sum(x.benefit_amount for x in issued.lines)
    assert issued.issued_on == date(2024, 1, 25)
    assert all(e.certificate_number == CERT for e in events)
    # the registry of certificates stays private
    assert not published(app, "CertificateOnFile")
