"""`portal audit` on the embedded demo: the trails of a certificate, a claim and an owner across
every service's event store, in table, JSON and CSV, with no personal data and no writes."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from services.portal.audit_cli import audit_app
from tests.e2e.test_embedded_http import portal

pytestmark = pytest.mark.embedded

TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
TRACEPARENT = f"00-{TRACE_ID}-b7ad6b7169203331-01"
# The demo's fictional government IDs and dates of birth (services/portal/demo*.py), and the
# demo password: none may appear in any output.
PERSONAL = (
    "900-12-3456", "900123456", "900-65-4321", "900-24-6810", "1983-11-01", "11/01/1983",
    "1979-04-23", "1981-06-02", "2012-09-14", "1982-05-10", "2014-06-02", "2003-02-11",
    "Demo-Portal-2024!", "demo@example.com",
)  # fmt: skip


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The embedded demo's stores, plus one traced back-office payment on 0000100001."""
    var_dir = tmp_path_factory.mktemp("audit")
    with portal(var_dir, seed=True) as client:
        response = client.post(
            "/backoffice/billing/accounts/0000100001/payments",
            json={"amount": "44.00", "transaction_date": "2024-02-15"},
            headers={"traceparent": TRACEPARENT},
        )
        assert response.status_code < 300, response.text
    return var_dir


def run(var_dir: Path, *args: str) -> tuple[int, str]:
    env = {"PORTAL_VAR_DIR": str(var_dir), "PORTAL_MODE": "embedded"}
    result = CliRunner().invoke(audit_app, list(args), env=env)
    return result.exit_code, result.output


def trail(var_dir: Path, *args: str) -> list[dict]:
    code, output = run(var_dir, *args, "--format", "json")
    assert code == 0, output
    document = json.loads(output)
    assert document["count"] == len(document["events"]) > 0
    return document["events"]


def test_a_certificate_trail_spans_policy_billing_and_documents(demo: Path) -> None:
    events = trail(demo, "certificate", "0000100001")
    assert [e["time"] for e in events] == sorted(e["time"] for e in events)
    assert {"policy", "billing", "documents", "identity"} <= {e["service"] for e in events}
    types = {e["event_type"] for e in events}
    assert {"CertificateIssued", "BillingAccountOpened", "PaymentApplied"} <= types
    assert {"DocumentGenerated", "UserRegistered"} <= types
    assert all(e["cause_kind"] for e in events)
    payment = [e for e in events if e["trace_id"] == TRACE_ID]
    assert {e["event_type"] for e in payment} >= {"PaymentReceived", "PaymentApplied"}
    assert {(e["cause_kind"], e["cause_name"]) for e in payment} == {("command", "RecordPayment")}
    # Billing's account was opened by consuming policy's CertificateIssued: the cause says which.
    issued = next(e for e in events if e["event_type"] == "CertificateIssued")
    opened = next(e for e in events if e["event_type"] == "BillingAccountOpened")
    assert opened["cause_kind"] == "reaction" and opened["cause_event"] == issued["event_id"]


def test_a_certificate_with_claims(demo: Path) -> None:
    events = trail(demo, "certificate", "100003")
    assert {"ClaimSubmitted", "ClaimStatusChanged", "ClaimIssued"} <= {
        e["event_type"] for e in events
    }
    assert {e["certificate_number"] for e in events} == {"0000100003"}


def test_a_claim_trail_lists_its_status_changes_and_its_eob(demo: Path) -> None:
    events = trail(demo, "claim", "C000000102")
    statuses = [e["summary"] for e in events if e["event_type"] == "ClaimStatusChanged"]
    assert [s.split("status=")[-1].split(";")[0] for s in statuses] == [
        "Pending",
        "Review Complete",
        "Decision Rendered",
        "Paid Not Issued",
        "Issued",
    ]
    documents = [e for e in events if e["service"] == "documents"]
    assert documents and all("document_type=eob" in e["summary"] for e in documents)
    assert {e["service"] for e in events} == {"claims", "documents"}


def test_an_owner_trail_includes_their_registration(demo: Path) -> None:
    events = trail(demo, "owner", "demo")
    assert {"UserAccount.Registered", "OwnerClaim.Claimed"} <= {e["event"] for e in events}
    assert {"0000100001", "0000100003"} <= {e["certificate_number"] for e in events}
    assert "0000100002" not in {e["certificate_number"] for e in events}  # demo2's
    party = next(e for e in events if e["event_type"] == "UserRegistered")["summary"]
    party_id = party.split("party_id=")[1].split(";")[0]
    by_party = trail(demo, "owner", party_id)
    assert [e["event_id"] for e in by_party] == [e["event_id"] for e in events]


def test_formats_parse_and_carry_no_personal_data(demo: Path, tmp_path: Path) -> None:
    outputs = []
    for subject in (("certificate", "0000100001"), ("owner", "demo"), ("claim", "C000000102")):
        for format in ("table", "json", "csv"):
            code, output = run(demo, *subject, "--format", format)
            assert code == 0, output
            outputs.append(output)
    code, _ = run(demo, "owner", "demo2", "--format", "csv", "--output", str(tmp_path / "a.csv"))
    assert code == 0
    written = (tmp_path / "a.csv").read_text()
    rows = list(csv.DictReader(io.StringIO(written)))
    assert rows and {r["certificate_number"] for r in rows} == {"0000100002"}
    assert "Audit trail of certificate 0000100001" in outputs[0]
    json.loads(outputs[1])
    for text in [*outputs, written]:
        for value in PERSONAL:
            assert value not in text


def test_an_unknown_number_exits_1(demo: Path) -> None:
    code, output = run(demo, "certificate", "0000999999")
    assert code == 1 and "no event is about certificate 0000999999" in output
    assert run(demo, "claim", "C999")[0] == 1
    assert run(demo, "owner", "nobody")[0] == 1
    assert run(demo, "certificate", "not-a-number")[0] == 1
    assert run(demo.parent / "nothing-here", "certificate", "1")[0] == 1


def test_auditing_writes_nothing(demo: Path) -> None:
    def snapshot() -> dict[str, str]:
        return {
            str(p.relative_to(demo)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(demo.rglob("*"))
            if p.is_file()
        }

    before = snapshot()
    for args in (("certificate", "100001"), ("claim", "C000000102"), ("owner", "demo")):
        assert run(demo, *args)[0] == 0
    assert snapshot() == before
