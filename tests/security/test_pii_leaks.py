"""No personal value in clear anywhere it could leak (issue 9, "Personal data and security").

The portal's main flows run once on the embedded system (`flows.run_all`: registration with a
failed try, log-in wrong then right, recovery of the user ID and the password, insurance,
billing, claims, documents, profile and preference updates, the JSON API, log-out) with every
logger at DEBUG and an in-memory span exporter. Then every log line, span, integration event
as it would go to Kafka, dead letter, URL and var-dir file (SQLite dumped) is searched for the
seeded SSNs (with and without dashes), full dates of birth (ISO, mm/dd/yyyy, dd/mm/yyyy,
yyyymmdd), the passwords and the security answers, in every encoding they could take.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from sqlalchemy import select

from shared.messaging.inprocess import dead_letters_table
from shared.sqldb import make_engine
from shared.telemetry import setup_telemetry
from tests.security import flows
from tests.security.needles import Needle, name_needles, seeded_needles
from tests.security.scan import (
    CapturedLogs,
    Text,
    blob_text,
    find,
    outbox_texts,
    raw_database_texts,
    report,
    span_texts,
    var_dir_texts,
)
from tests.security.system import secured_portal

pytestmark = pytest.mark.embedded

SECRETS = [*seeded_needles(), *flows.TYPED]


@dataclass(frozen=True)
class Evidence:
    """Everything the flows left behind, by source."""

    sources: dict[str, list[Text]]
    issued: list[Needle]  # the session tokens and the one-time code the run issued


@pytest.fixture(scope="module")
def evidence(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Evidence]:
    var_dir = tmp_path_factory.mktemp("leak-scan")
    exporter = InMemorySpanExporter()
    setup_telemetry("tests", SimpleSpanProcessor(exporter))
    try:
        with CapturedLogs() as logs:
            with secured_portal(var_dir) as portal:
                issued = flows.run_all(portal)
                kafka = list(outbox_texts(portal.system.delivery.outboxes))
                urls = [Text("URL", url) for url in portal.urls]
            spans = list(span_texts(exporter.get_finished_spans()))
        dead = list(dead_letter_texts(var_dir))
        yield Evidence(
            {
                "logs": list(logs.texts()),
                # SQL echo prints the read models' rows, which show names to their owner
                # until erased: names are looked for in the application's own lines.
                "application logs": list(logs.texts(leave_out=("sqlalchemy",))),
                "spans": spans,
                "kafka": kafka,
                "dead letters": dead,
                "urls": urls,
                "var dir": list(var_dir_texts(var_dir)),
                "raw database files": list(raw_database_texts(var_dir)),
            },
            issued,
        )
    finally:
        exporter.shutdown()  # the processor stays on the provider; a shut exporter drops spans


def dead_letter_texts(var_dir: Path) -> Iterator[Text]:
    """The dead-letter table, as the embedded mode keeps it (`var/dlq.sqlite`)."""
    engine = make_engine(f"sqlite:///{var_dir / 'dlq.sqlite'}")
    try:
        with engine.connect() as connection:
            for row in connection.execute(select(dead_letters_table)):
                text = f"{row.reason}\n{row.headers}\n{blob_text(row.value)}"
                yield Text(f"dead letter {row.topic}@{row.offset}", text)
    finally:
        engine.dispose()


def test_the_flows_left_evidence_to_scan(evidence: Evidence) -> None:
    """The scan is only worth something if each source was fed."""
    for source in ("logs", "spans", "kafka", "urls", "var dir"):
        assert evidence.sources[source], f"nothing was collected from {source}"
    assert any("identity.events" in t.where for t in evidence.sources["kafka"])
    assert any("identity.sqlite" in t.where for t in evidence.sources["var dir"])


STORES = ["var dir", "raw database files"]
ON_THE_WAY = ["spans", "kafka", "dead letters", "urls"]


@pytest.mark.parametrize("source", ["logs", *ON_THE_WAY, *STORES])
def test_no_ssn_date_of_birth_password_or_security_answer_in(
    evidence: Evidence, source: str
) -> None:
    hits = find(SECRETS, evidence.sources[source])
    assert not hits, f"{len(hits)} personal value(s) in clear in {source}:\n{report(hits)}"


@pytest.mark.parametrize(
    "source",
    [
        "application logs",
        *ON_THE_WAY,
        "var dir",
        "raw database files",  # a sent mail's blanked body: zeroed, and the WAL emptied
    ],
)
def test_no_session_token_or_one_time_code_in(evidence: Evidence, source: str) -> None:
    """Only their digests are kept (identity's sessions, the portal's session view); the
    code rests in clear only in the mail that delivers it. (SQL echo is left out: it prints
    stored rows, queued mails included — never turn it on in production.)"""
    assert len(evidence.issued) >= 4, "the flows issued no tokens to look for"
    hits = find(evidence.issued, evidence.sources[source])
    assert not hits, f"{len(hits)} token(s)/code(s) in clear in {source}:\n{report(hits)}"


@pytest.mark.parametrize("source", ["application logs", *ON_THE_WAY])
def test_no_credential_hash_travels_in(evidence: Evidence, source: str) -> None:
    """Password, answer and code hashes stay in identity's own store."""
    hits = find([Needle("an argon2 hash", "$argon2")], evidence.sources[source])
    assert not hits, f"{len(hits)} credential hash(es) in {source}:\n{report(hits)}"


@pytest.mark.parametrize("source", ["application logs", "spans", "kafka", "dead letters", "urls"])
def test_no_name_or_email_in(evidence: Evidence, source: str) -> None:
    hits = find(name_needles(), evidence.sources[source])
    assert not hits, f"{len(hits)} name(s)/email(s) in clear in {source}:\n{report(hits)}"
