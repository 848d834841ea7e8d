"""`portal replay` on the embedded default: the demo data and a randomized stream of back-office
commands, then a rebuild equals the live read models; a corrupted live row is found by
`--verify` and repaired by the swap; the replay sends no mail and appends to no event store;
`--as-of` between two payments shows the earlier paid-to date."""

from __future__ import annotations

import asyncio
import json
import random
import sqlite3
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import typer
from fastapi.testclient import TestClient
from typer.testing import CliRunner, Result

from services.portal.demo import DEMO_PASSWORD
from services.portal.embedded import EmbeddedSystem, build_embedded, create_embedded_app
from services.portal.readmodels import ReadModel
from services.portal.replay_cli import replay_command
from services.portal.replay_shadow import read_models
from shared.mail import MailSettings, free_port
from shared.settings import Settings
from tests.e2e.test_embedded_http import eventually, log_in

pytestmark = pytest.mark.embedded

CERTIFICATES = ["0000100001", "0000100002", "0000100003"]


def cli() -> typer.Typer:
    app = typer.Typer()
    app.command("replay")(replay_command)

    @app.callback()
    def portal() -> None:
        """The tiny stand-in for `portal` (cli.py registers the real one)."""

    return app


def run(var_dir: Path, *args: str) -> Result:
    return CliRunner().invoke(cli(), ["replay", *args], env={"PORTAL_VAR_DIR": str(var_dir)})


def settled(system: EmbeddedSystem) -> bool:
    """Every consumer (the portal's and the services') has read every outbox to its end."""
    delivery = system.delivery
    for core in delivery.consumers:
        for topic in core.topics:
            outbox = delivery.outboxes.get(topic)
            if outbox is None:
                continue
            latest = outbox.app.process_recorder.max_notification_id() or 0
            if (core.sink.position(topic, 0) or 0) < latest:
                return False
    return True


def settle(system: EmbeddedSystem) -> None:
    eventually(lambda: settled(system) and settled(system), timeout=60)


def pending_mail(var_dir: Path) -> int:
    total = 0
    for name in ("identity", "documents"):
        with sqlite3.connect(var_dir / f"{name}.sqlite") as connection:
            total += connection.execute(
                "SELECT count(*) FROM mail_outbox WHERE sent_at IS NULL AND gave_up_at IS NULL"
            ).fetchone()[0]
    return total


def mail_state(var_dir: Path) -> tuple[list[str], dict[str, int]]:
    mailbox = var_dir / "mail"
    files = sorted(p.name for p in mailbox.iterdir()) if mailbox.exists() else []
    rows = {}
    for name in ("identity", "documents"):
        with sqlite3.connect(var_dir / f"{name}.sqlite") as connection:
            rows[name] = connection.execute("SELECT count(*) FROM mail_outbox").fetchone()[0]
    return files, rows


def notification_logs(system: EmbeddedSystem) -> dict[str, int]:
    apps = {
        "policy": system.policy,
        "billing": system.billing,
        "identity": system.identity,
        "documents": system.documents,
        "claims": system.claims,
    }
    return {n: a.process_recorder.max_notification_id() or 0 for n, a in apps.items()}


def random_commands(client: TestClient, rng: random.Random, count: int) -> int:
    """Back-office commands through HTTP; answers are 2xx or a refusal (4xx), never 5xx."""
    parties = {
        n: client.get(f"/backoffice/policy/certificates/{n}").json()["owner_party_id"]
        for n in CERTIFICATES
    }
    payments: list[tuple[str, str]] = []
    claims: list[str] = []
    accepted = 0
    cycle_day = date(2022, 9, 15)
    for i in range(count):
        number = rng.choice(CERTIFICATES)
        kind = rng.choice(["payment", "payment", "partial", "reversal", "cycle", "contact",
                           "cash-value", "claim", "claim-step"])  # fmt: skip
        if kind in ("payment", "partial"):
            account = client.get(f"/backoffice/billing/accounts/{number}").json()
            premium = Decimal(account["premium"])
            amount = premium * rng.randint(1, 3) if kind == "payment" else premium / 3
            payment_id = f"RND-{i}"
            response = client.post(
                f"/backoffice/billing/accounts/{number}/payments",
                json={"amount": str(amount.quantize(Decimal("0.01"))), "payment_id": payment_id,
                      "transaction_date": str(date(2024, 1, 1) + timedelta(days=i))},
            )  # fmt: skip
            if response.status_code < 300:
                payments.append((number, payment_id))
        elif kind == "reversal" and payments:
            number, payment_id = payments.pop(rng.randrange(len(payments)))
            response = client.post(
                f"/backoffice/billing/accounts/{number}/payments/{payment_id}/reversal",
                json={"reversed_on": "2024-06-01", "reason": "returned item"},
            )
        elif kind == "cycle":
            cycle_day += timedelta(days=rng.randint(1, 10))
            response = client.post(
                "/backoffice/billing/billing-cycles", json={"as_of": str(cycle_day)}
            )
        elif kind == "contact":
            response = client.put(
                f"/backoffice/policy/parties/{parties[number]}/contact",
                json={"address": {"street": [f"{rng.randint(1, 999)} Elm St"], "city": "Hartford",
                                  "state": "CT", "zip_code": "06103"},
                      "phones": {"cell": f"860-555-{rng.randint(1000, 9999)}"},
                      "emails": [f"owner{i}@example.com"]},
            )  # fmt: skip
        elif kind == "cash-value":
            response = client.post(
                "/backoffice/policy/certificates/0000100001/cash-value",
                json={"as_of": str(date(2024, 1, 1) + timedelta(days=i)),
                      "net_cash_value": f"{2600 + rng.randint(0, 500)}.00"},
            )  # fmt: skip
        elif kind == "claim":
            response = client.post(
                "/backoffice/claims/claims",
                json={"certificate_number": "0000100003", "patient_insured_id": "I1",
                      "provider": "Universal Provider", "service_date": "2024-05-02",
                      "submitted_amount": "80.00", "submitted_on": "2024-05-03"},
            )  # fmt: skip
            if response.status_code < 300:
                claims.append(response.json()["claim_number"])
        elif kind == "claim-step" and claims:
            claim = rng.choice(claims)
            response = client.post(
                f"/backoffice/claims/claims/{claim}/lines",
                json={"date_of_service": "2024-05-02", "type_of_service": "X-Ray",
                      "amount_claimed": "80.00"},
            )  # fmt: skip
        else:
            continue
        assert response.status_code < 500, response.text
        accepted += response.status_code < 300
    return accepted


def billing_of(client: TestClient, auth: dict[str, str], number: str) -> dict:
    return client.get(f"/api/certificates/{number}/billing", headers=auth).json()


def test_every_table_belongs_to_one_read_model() -> None:
    owned = [t.name for tables in read_models().values() for t in tables]
    assert sorted(owned) == sorted(t.name for t in ReadModel.metadata.sorted_tables)
    assert len(owned) == len(set(owned))
    assert [t.name for t in read_models()["billing"]] == ["billing_accounts", "payments"]


def test_rebuild_equals_live_verify_swap_and_no_side_effects(tmp_path: Path) -> None:
    system = build_embedded(Settings(PORTAL_VAR_DIR=tmp_path))
    app = create_embedded_app(system, seed=True, mail=MailSettings(SMTP_PORT=free_port()))
    with TestClient(app) as client:
        # demo2 takes bills in the portal, so billing cycles send notification mail.
        auth = log_in(client, "demo2", DEMO_PASSWORD)
        chosen = client.put(
            "/api/documents/preferences",
            json={"certificate_number": "0000100002", "document_type": "bill", "method": "Portal",
                  "emails": ["robin@example.com"]},
            headers=auth,
        )  # fmt: skip
        assert chosen.status_code == 200, chosen.text
        accepted = random_commands(client, random.Random(8), 50)
        assert accepted >= 25
        settle(system)
        eventually(lambda: mail_state(tmp_path)[0], timeout=60)  # some mail went out

        verified = run(tmp_path, "--verify")
        assert verified.exit_code == 0, verified.output
        assert "0 differences" in verified.output
        assert "events replayed" in verified.output and "events/s" in verified.output

        # Corrupt one live row by hand: verify names it and fails.
        right = billing_of(client, auth, "0000100002")["payor"]["paid_to_date"]
        with sqlite3.connect(tmp_path / "portal.sqlite") as connection:
            connection.execute(
                "UPDATE billing_accounts SET paid_to_date = '1999-01-01' "
                "WHERE certificate_number = '0000100002'"
            )
        assert billing_of(client, auth, "0000100002")["payor"]["paid_to_date"] == "1999-01-01"
        broken = run(tmp_path, "--verify")
        assert broken.exit_code == 1, broken.output
        assert "billing_accounts [certificate_number=0000100002] paid_to_date" in broken.output
        assert f"live=1999-01-01 rebuilt={right}" in broken.output
        assert "1 differences" in broken.output
        assert "900-" not in broken.output  # no government id (nor anything like it)

        # The swap repairs it; nothing is mailed or appended by the replay.
        eventually(lambda: pending_mail(tmp_path) == 0, timeout=60)
        mail_before, logs_before = mail_state(tmp_path), notification_logs(system)
        swapped = run(tmp_path)
        assert swapped.exit_code == 0, swapped.output
        assert "swapped in" in swapped.output
        assert billing_of(client, auth, "0000100002")["payor"]["paid_to_date"] == right
        again = run(tmp_path, "--verify")
        assert again.exit_code == 0 and "0 differences" in again.output, again.output

        # One read model alone (billing's tables), after corrupting a payment row.
        with sqlite3.connect(tmp_path / "portal.sqlite") as connection:
            connection.execute("UPDATE payments SET amount = 0.01")
        assert run(tmp_path, "--verify", "--read-model", "billing").exit_code == 1
        assert run(tmp_path, "--read-model", "billing").exit_code == 0
        assert run(tmp_path, "--verify").exit_code == 0
        assert run(tmp_path, "--read-model", "nonsense").exit_code == 2

        time.sleep(0.5)  # a dispatcher would have picked up anything the replay queued
        settle(system)
        assert mail_state(tmp_path) == mail_before
        assert notification_logs(system) == logs_before
        assert not (tmp_path / "portal_rebuild.sqlite").exists()  # the shadow is dropped


def test_as_of_between_two_payments_shows_the_earlier_paid_to_date(tmp_path: Path) -> None:
    system = build_embedded(Settings(PORTAL_VAR_DIR=tmp_path))
    app = create_embedded_app(system, seed=True, mail=MailSettings(SMTP_PORT=free_port()))
    number = "0000100002"
    with TestClient(app) as client:
        auth = log_in(client, "demo2", DEMO_PASSWORD)
        premium = client.get(f"/backoffice/billing/accounts/{number}").json()["premium"]

        def pay(payment_id: str) -> str:
            response = client.post(
                f"/backoffice/billing/accounts/{number}/payments",
                json={"amount": premium, "transaction_date": "2024-06-01",
                      "payment_id": payment_id},
            )  # fmt: skip
            assert response.status_code == 201, response.text
            settle(system)
            return billing_of(client, auth, number)["payor"]["paid_to_date"]

        first = pay("ASOF-1")
        time.sleep(0.05)
        between = datetime.now(UTC)
        time.sleep(0.05)
        second = pay("ASOF-2")
        assert second > first

        output = tmp_path / "as-of.json"
        instant = between.isoformat().replace("+00:00", "Z")
        result = run(tmp_path, "--as-of", instant, "--owner", "demo2", "--output", str(output))
        assert result.exit_code == 0, result.output
        document = json.loads(output.read_text())
        assert document["views"]["billing"][number]["payor"]["paid_to_date"] == first
        rows = document["read_models"]["billing_accounts"]
        assert [(r["certificate_number"], r["paid_to_date"]) for r in rows] == [(number, first)]
        payment_ids = {r["payment_id"] for r in document["read_models"]["payments"]}
        assert "ASOF-1" in payment_ids and "ASOF-2" not in payment_ids
        # Only demo2's rows: demo's certificates are not in it.
        assert {r["certificate_number"] for r in document["read_models"]["certificates"]} == {
            number
        }

        everything = tmp_path / "all.json"
        assert run(tmp_path, "--as-of", instant, "--output", str(everything)).exit_code == 0
        all_rows = json.loads(everything.read_text())["read_models"]["certificates"]
        assert len(all_rows) > 1
        assert run(tmp_path, "--as-of", "2024-06-30").exit_code == 2  # no --output


@pytest.mark.parametrize("cut", [True, False])
def test_a_lagging_live_consumer(tmp_path: Path, cut: bool) -> None:
    """Events the live consumer has not applied yet: at the live watermarks (`cut`, what the
    command does from the outboxes) they are held back, so verify reports no difference and
    the consumer applies them after the swap; without the cut (`--from-kafka`) the shadow has
    them and its watermarks make the consumer's later delivery of them a no-op."""
    from services.portal.demo import load_demo_data
    from services.portal.replay import replay, verify
    from services.portal.replay_cli import outbox_source

    settings = Settings(PORTAL_VAR_DIR=tmp_path)
    system = build_embedded(settings)
    live_url = settings.database_url_for("portal")
    number = "0000100002"

    async def seed() -> None:
        await system.settle()
        await load_demo_data(system, system.settle)
        await system.settle()

    def paid_to() -> str:
        with sqlite3.connect(tmp_path / "portal.sqlite") as connection:
            query = "SELECT paid_to_date, count(*) FROM billing_accounts JOIN payments USING "
            query += "(certificate_number) WHERE certificate_number = ? GROUP BY paid_to_date"
            return connection.execute(query, (number,)).fetchone()

    try:
        asyncio.run(seed())
        before = paid_to()
        premium = system.billing.get_account(number).premium
        system.billing.record_payment(
            number, amount=premium, transaction_date=date(2024, 6, 1), payment_id="LAG-1"
        )  # recorded, not yet delivered to the portal
        with outbox_source(settings) as source:
            report = verify(live_url, source, cut=cut)
        if cut:
            assert report.differences == [] and report.held_back >= 2, report.summary()
        else:
            assert any(d[0] == "payments" for d in report.differences)
        with outbox_source(settings) as source:
            replay(live_url, source, cut=cut)
        assert (paid_to() == before) is cut  # without the cut the swap brought the payment
        asyncio.run(system.settle())  # the live consumer carries on from its own positions
        after = paid_to()
        assert after[0] > before[0] and after[1] == before[1] + 1  # applied once
        with outbox_source(settings) as source:
            assert verify(live_url, source).differences == []
    finally:
        system.close()


def test_progress_bars_per_topic_on_a_terminal() -> None:
    import io

    from rich.console import Console
    from rich.progress import Progress as Bars

    from services.portal.replay_cli import RichProgress

    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=80)
    with Bars(console=console) as bars:
        progress = RichProgress(bars)
        progress.start("policy.events", 10)
        progress.start("billing.events", 4)
        progress.update("policy.events", 10)
        progress.update("billing.events", 2)
        done = {task.description: (task.completed, task.total) for task in bars.tasks}
    assert done == {"policy.events": (10, 10), "billing.events": (2, 4)}
    assert "policy.events" in screen.getvalue()
