"""`portal replay` on the distributed stack (PostgreSQL + Kafka): a rebuild from the outboxes
and from the topics equals the live read models; a swap repairs a corrupted row while the
portal's queries keep answering; a lost read model comes back from Kafka."""

from __future__ import annotations

import asyncio
import threading
from datetime import date

import pytest
import typer
from sqlalchemy import text
from sqlalchemy.orm import Session
from typer.testing import CliRunner, Result

from services.portal.queries import billing_detail
from services.portal.replay_cli import replay_command
from tests.factories import certificate_body
from tests.integration.conftest import Stack, eventually

pytestmark = pytest.mark.integration

NUMBER = "0000100031"


def run(stack: Stack, *args: str) -> Result:
    app = typer.Typer()
    app.command("replay")(replay_command)

    @app.callback()
    def portal() -> None:
        """Stand-in for `portal`."""

    settings = stack.settings
    env = {
        "PORTAL_MODE": "distributed",
        "DATABASE_URL": settings.database_url or "",
        "DATABASE_SUFFIX": settings.database_suffix,
        "TOPIC_PREFIX": settings.topic_prefix,
        "KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers,
    }
    return CliRunner().invoke(app, ["replay", *args], env=env)


def paid_to(stack: Stack) -> date | None:
    with Session(stack.read_engine) as session:
        row = session.execute(
            text("SELECT paid_to_date FROM billing_accounts WHERE certificate_number = :n"),
            {"n": NUMBER},
        ).first()
        return row[0] if row else None


async def flow(stack: Stack) -> date:
    stack.start_relays()
    stack.start_consumer("billing")
    stack.start_consumer("policy")
    stack.start_consumer("portal")
    response = await stack.policy_api.post("/certificates", json=certificate_body(NUMBER[-6:]))
    assert response.status_code == 201, response.text
    await eventually(lambda: NUMBER in set(stack.billing.account_numbers()))
    for i, on in enumerate(["2016-01-05", "2016-02-05", "2016-03-05"], start=1):
        response = await stack.billing_api.post(
            f"/accounts/{NUMBER}/payments",
            json={"amount": "44.00", "transaction_date": on, "payment_id": f"P{i}"},
        )
        assert response.status_code == 201, response.text
    return await eventually(lambda: (d := paid_to(stack)) == date(2016, 3, 1) and d)


async def test_verify_then_swap_while_the_portal_answers(stack: Stack) -> None:
    right = await flow(stack)

    verified = await asyncio.to_thread(run, stack, "--verify")
    assert verified.exit_code == 0, verified.output
    assert "0 differences" in verified.output

    # Once every relayed event is consumed, the topics rebuild the same read models.
    outputs: list[str] = []

    def kafka_verifies() -> bool:
        result = run(stack, "--verify", "--from-kafka")
        outputs.append(result.output)
        return result.exit_code == 0

    try:
        await eventually(kafka_verifies, timeout=60, interval=0.5)
    except AssertionError:
        raise AssertionError(outputs[-1:]) from None

    with stack.read_engine.begin() as connection:
        connection.execute(
            text("UPDATE billing_accounts SET paid_to_date = '1999-01-01' WHERE "
                 "certificate_number = :n"),
            {"n": NUMBER},
        )  # fmt: skip
    broken = await asyncio.to_thread(run, stack, "--verify")
    assert broken.exit_code == 1
    assert f"billing_accounts [certificate_number={NUMBER}] paid_to_date" in broken.output

    # The portal's billing query (what GET /api/certificates/{n}/billing answers) runs in a
    # loop during the swap: every answer is the old row or the repaired one, never an error.
    answers: list[date] = []
    errors: list[BaseException] = []
    stop = threading.Event()

    def reader() -> None:
        while not stop.is_set():
            try:
                with Session(stack.read_engine) as session:
                    answers.append(billing_detail(session, NUMBER).payor.paid_to_date)
            except BaseException as exc:  # collected, asserted below
                errors.append(exc)

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        await eventually(lambda: len(answers) > 5)
        swapped = await asyncio.to_thread(run, stack)
        assert swapped.exit_code == 0, swapped.output
        await eventually(lambda: answers[-1] == right)
    finally:
        stop.set()
        thread.join(30)
    assert errors == []
    assert set(answers) == {date(1999, 1, 1), right}
    assert answers.index(right) > 0 and set(answers[answers.index(right) :]) == {right}
    again = await asyncio.to_thread(run, stack, "--verify")
    assert again.exit_code == 0 and "0 differences" in again.output, again.output


async def test_a_lost_read_model_comes_back_from_kafka(stack: Stack) -> None:
    right = await flow(stack)
    await eventually(lambda: run(stack, "--verify", "--from-kafka").exit_code == 0, timeout=60)
    with stack.read_engine.begin() as connection:  # the read database is lost
        for table in (
            "payments",
            "billing_accounts",
            "benefits",
            "insureds",
            "agents",
            "loans",
            "certificates",
            "owner_profiles",
            "aggregate_watermarks",
        ):
            connection.execute(text(f"DELETE FROM {table}"))  # fmt: skip
    assert paid_to(stack) is None
    rebuilt = await asyncio.to_thread(run, stack, "--from-kafka")
    assert rebuilt.exit_code == 0, rebuilt.output
    assert paid_to(stack) == right
    again = await asyncio.to_thread(run, stack, "--verify")
    assert again.exit_code == 0 and "0 differences" in again.output, again.output
