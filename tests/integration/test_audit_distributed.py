"""`portal audit` in the distributed mode: the same trail read from the services' PostgreSQL
event stores, after the facts travelled through Kafka (billing's account opened by consuming
policy's CertificateIssued)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from services.portal import audit
from services.portal.audit_cli import audit_app
from tests.factories import certificate_body
from tests.integration.conftest import Stack, eventually

pytestmark = pytest.mark.integration

TRACE_ID = "5b8aa5a2d2c872e8321cf37308d69df2"


async def test_a_certificate_trail_from_postgresql(stack: Stack) -> None:
    stack.start_relays()
    stack.start_consumer("billing")
    traceparent = {"traceparent": f"00-{TRACE_ID}-051581bf3cb55c13-01"}
    response = await stack.policy_api.post(
        "/certificates", json=certificate_body("100001"), headers=traceparent
    )
    assert response.status_code == 201, response.text
    await eventually(lambda: "0000100001" in set(stack.billing.account_numbers()))
    response = await stack.billing_api.post(
        "/accounts/0000100001/payments",
        json={"amount": "44.00", "transaction_date": "2016-01-05", "payment_id": "P1"},
    )
    assert response.status_code == 201, response.text

    settings = stack.settings
    assert settings.database_url_for("policy").startswith("postgresql")
    rows = audit.certificate_trail(audit.load_records(settings), "100001")
    assert [(r.time, r.service, r.version) for r in rows] == sorted(
        (r.time, r.service, r.version) for r in rows
    )
    by_type = {r.event_type: r for r in rows}
    assert {"CertificateIssued", "BillingAccountOpened", "PaymentApplied"} <= set(by_type)
    issued, opened = by_type["CertificateIssued"], by_type["BillingAccountOpened"]
    assert (issued.cause_kind, issued.cause_name, issued.trace_id) == (
        "command",
        "IssueCertificate",
        TRACE_ID,
    )
    # Through Kafka: the reaction continued the trace and names the event it consumed.
    assert (opened.cause_kind, opened.cause_event, opened.trace_id) == (
        "reaction",
        issued.event_id,
        TRACE_ID,
    )

    env = {
        "PORTAL_MODE": "distributed",
        "DATABASE_URL": settings.database_url or "",
        "DATABASE_SUFFIX": settings.database_suffix,
    }
    result = CliRunner().invoke(audit_app, ["certificate", "100001", "-f", "json"], env=env)
    assert result.exit_code == 0, result.output
    events = json.loads(result.output)["events"]
    assert [e["event_id"] for e in events] == [r.event_id for r in rows]
    assert "1983-11-01" not in result.output and "123-45-6789" not in result.output
    missing = CliRunner().invoke(audit_app, ["certificate", "100002"], env=env)
    assert missing.exit_code == 1
