"""Portal query under load, next to its raw limit: pgbench running the SAME SQL.

The figure (`bench.chaos.load.run_load`): `concurrency` logged-in owners read a mix of pages
(`bench.chaos.load.PAGES`, weighted) over HTTP from the portal API; p50/p99 per request and
requests/s. The limit, measured in the same run by this module: pgbench, with the same number
of clients, running exactly the statements the portal sends to its read-model database for
those pages; p99 per page-equivalent transaction and transactions/s.

    captured = {o.user_id: capture_page_sql(engine, o) for o in owners}   # or capture_owners
    scripts = pgbench_scripts(captured, directory)
    limit = run_pgbench(url, scripts, clients=50, seconds=5)
    row = compare(load_report, limit)                 # value, limit, ratio, req/s, targets

Capture (`capture_page_sql`). For each page the API route's own query code runs in-process
(services/portal/routes/* → services/portal/queries/*, called with the route's defaults: first
page of 10 rows, no filters), preceded by the per-request owner check of
`routes.common.signed_in` (`auth.owner_for_token`), each in a `Session` of its own exactly as
the route dependencies open and close them. An SQLAlchemy `before_cursor_execute` listener
records every statement and its parameters, from the capturing thread only (so the engine of
a portal serving other requests can be used). Also recorded, because the portal's connection
sends them: the transaction boundaries (psycopg's implicit `BEGIN` on the first statement,
`ROLLBACK` when the session closes: the portal never commits a read) from the engine's
`begin`/`rollback`/`commit` events, and the pool's pre-ping (`SELECT 1`, autocommit, on every
checkout of a pooled connection; SQLAlchemy skips it for a brand-new connection, the steady
state under load is a reused one). So one page request is
`SELECT 1; BEGIN; <session and user>; ROLLBACK; SELECT 1; BEGIN; <page queries>; ROLLBACK`.

Not included: HTTP, routing, JSON and pydantic work, waits for the portal's pool (10
connections), and the key store's lookups of `open_sealed` (another database, cached by the
vault) — those are what the portal adds on top of the limit. The statements depend on the
owner's data (a claim of a dependent adds an insured lookup, each shown claim its document
links), hence one capture per owner.

Scripts (`pgbench_scripts`): one file per (page, owner), parameters inlined as SQL literals
(`sql_literal`: NULL, booleans, numbers, dates, timestamps, UUIDs, strings, bytes, arrays,
JSON), named `portal-<page>-<owner index>.sql`; `run_pgbench` gives each the weight of its
page in PAGES (`-f file@weight`), so the mix is the load test's. pgbench takes at most 128
scripts: with more (page, owner) pairs, the first owners up to that bound are written.
pgbench substitutes `:name` variables in SQL text, so a colon inside a string literal is
spelled `\\072` in an E'' string; the `::TYPE` casts SQLAlchemy renders are left alone by it.

pgbench (`run_pgbench`): `--no-vacuum`, `--protocol=prepared` by default (psycopg prepares a
statement a connection has run 5 times, the portal's steady state), `-c clients -j 2`, `-T
seconds` (or `-t` per client when `max_transactions` is given), `--log` of every transaction
into a temporary directory, parsed for tps, p50/p99/mean/max latency in ms, per page, and
failures (failed transactions in the log plus aborted clients). pgbench reads its clock
lazily, so a transaction that completes without waiting is logged as 0 µs: a limit that
reads low, which makes the portal's ratio to it pessimistic, never flattering. Loopback hosts
only; the process is killed if it outlives its bound.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import suppress
from dataclasses import asdict, is_dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit
from uuid import UUID

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from bench.chaos.load import LOOPBACK, PAGES
from bench.chaos.owners import OwnerLogin
from bench.common import percentile
from services.portal import queries
from services.portal.auth import SignedInOwner, owner_for_token
from services.portal.queries.claims import visible_claim_documents
from shared.clock import Clock
from shared.contracts.types import pad_certificate_number

OpenSealed = Callable[[str], str | None]
Statement = tuple[str, dict[str, Any]]
PageQuery = Callable[[Session, SignedInOwner, str, date, OpenSealed], object]

PING = "SELECT 1"  # SQLAlchemy's pre-ping for PostgreSQL (`_dialect_specific_select_one`)
MAX_SCRIPTS = 128  # pgbench's own limit on -f scripts
SCRIPT_NAME = re.compile(r"^portal-(?P<page>[a-z_]+)-(?P<owner>\d+)\.sql$")
PGBENCH_DIRECTORIES = ("/usr/lib/postgresql/15/bin",)
TARGET_RATIO = 5.0  # portal p99 ≤ 5 × pgbench p99
TARGET_RPS = 500.0


# --- the portal's own queries, per page -----------------------------------------------------


def _certificates(s: Session, owner: SignedInOwner, _n: str, _t: date, _o: OpenSealed) -> object:
    return queries.my_insurance(s, owner.party_id)


def _certificate(
    s: Session, owner: SignedInOwner, number: str, today: date, _o: OpenSealed
) -> object:
    return queries.certificate_detail(s, number, owner.party_id, today)


def _billing(s: Session, owner: SignedInOwner, number: str, _t: date, _o: OpenSealed) -> object:
    return queries.billing_detail(s, number, owner_party_id=owner.party_id, page=1, size=10)


def _claims(s: Session, owner: SignedInOwner, _n: str, today: date, opened: OpenSealed) -> object:
    return queries.claim_inquiry(s, owner.party_id, today, opened, page=1, size=10)


def _documents(
    s: Session, owner: SignedInOwner, _n: str, today: date, opened: OpenSealed
) -> object:
    visible = visible_claim_documents(s, owner.party_id, today, opened)
    return queries.inbox(s, owner.party_id, page=1, size=10, claim_documents=visible)


def _profile(s: Session, owner: SignedInOwner, _n: str, _t: date, opened: OpenSealed) -> object:
    return queries.profile(s, owner.party_id, opened)


# What each API route of `bench.chaos.load.page_path` calls (routes/insurance.py, claims.py,
# documents.py), with the route's default query parameters.
PAGE_QUERIES: dict[str, PageQuery] = {
    "certificates": _certificates,
    "certificate": _certificate,
    "billing": _billing,
    "claims": _claims,
    "documents": _documents,
    "profile": _profile,
}


# --- capture ----------------------------------------------------------------------------------


class _Recorder:
    """Engine listeners that record what one thread sends, for the duration of a `with`."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.thread = threading.get_ident()
        self.statements: list[Statement] = []
        self.ping = bool(getattr(engine.pool, "_pre_ping", False))
        self.listeners: list[tuple[Any, str, Callable[..., None]]] = [
            (engine, "before_cursor_execute", self._execute),
            (engine, "begin", lambda _conn: self._add("BEGIN")),
            (engine, "commit", lambda _conn: self._add("COMMIT")),
            (engine, "rollback", lambda _conn: self._add("ROLLBACK")),
            (engine.pool, "checkout", self._checkout),
        ]

    def __enter__(self) -> _Recorder:
        for target, name, listener in self.listeners:
            event.listen(target, name, listener)
        return self

    def __exit__(self, *_exc: object) -> None:
        for target, name, listener in self.listeners:
            event.remove(target, name, listener)

    def take(self) -> list[Statement]:
        taken, self.statements = self.statements, []
        return taken

    def _add(self, statement: str, parameters: dict[str, Any] | None = None) -> None:
        if threading.get_ident() == self.thread:
            self.statements.append((statement, dict(parameters or {})))

    def _checkout(self, *_args: object) -> None:
        if self.ping:
            self._add(PING)

    def _execute(self, _conn, _cursor, statement, parameters, _context, executemany) -> None:
        if executemany:
            raise ValueError("a portal read ran executemany: not a page query")
        self._add(*_named_parameters(statement, parameters))


def _named_parameters(statement: str, parameters: Any) -> Statement:
    """Positional `%s` parameters (format paramstyle) as `%(pN)s` ones, so every capture is a
    statement and a dict."""
    if parameters is None or isinstance(parameters, Mapping):
        return statement, dict(parameters or {})
    values = list(parameters)
    counter = iter(range(len(values)))
    named = re.sub(r"%%|%s", lambda m: "%%" if m[0] == "%%" else f"%(p{next(counter)})s", statement)
    return named, {f"p{i}": value for i, value in enumerate(values)}


def _one_request(
    engine: Engine,
    token: str,
    page: str,
    number: str,
    today: date,
    open_sealed: OpenSealed,
) -> None:
    """One API request's database work: `signed_in`'s session, then the route's."""
    with Session(engine) as auth:
        owner = owner_for_token(auth, token)
    # A NotFound is the API's 404, answered after the same statements.
    with Session(engine) as session, suppress(queries.NotFound):
        PAGE_QUERIES[page](session, owner, number, today, open_sealed)


def capture_page_sql(
    engine: Engine,
    owner: OwnerLogin,
    *,
    open_sealed: OpenSealed | None = None,
    today: date | None = None,
) -> dict[str, list[Statement]]:
    """page → the statements (and parameters) one API request for that page sends to the
    read-model database, for `owner` (signed in: `owner.token` must be a live session).

    `open_sealed` is the portal's (default: the vault installed by the composition root,
    `shared.personal_data.installed().open`); `today` its clock's date (default today)."""
    unknown = set(PAGES) - set(PAGE_QUERIES)
    if unknown:
        raise ValueError(f"no portal query known for page(s) {sorted(unknown)}")
    if open_sealed is None:
        from shared.personal_data import installed

        open_sealed = installed().open
    today = today or Clock().today()
    number = pad_certificate_number(owner.certificate_number)
    captured: dict[str, list[Statement]] = {}
    with _Recorder(engine) as recorder:
        for page in PAGES:
            _one_request(engine, owner.token, page, number, today, open_sealed)
            captured[page] = recorder.take()
    return captured


def capture_owners(
    engine: Engine,
    owners: Iterable[OwnerLogin],
    *,
    open_sealed: OpenSealed | None = None,
    today: date | None = None,
) -> dict[str, dict[str, list[Statement]]]:
    """`capture_page_sql` for each owner, keyed by user ID (the shape `pgbench_scripts` takes)."""
    return {
        owner.user_id: capture_page_sql(engine, owner, open_sealed=open_sealed, today=today)
        for owner in owners
    }


# --- SQL literals and scripts -----------------------------------------------------------------


def _string(text: str) -> str:
    """A one-line string literal pgbench passes through untouched: no `:` (pgbench would read
    `:name` as a variable) and no line break, so those become escapes of an E'' string."""
    if "\x00" in text:
        raise ValueError("PostgreSQL text cannot hold NUL")
    if not any(c in text for c in ":\\\n\r\t"):
        return "'" + text.replace("'", "''") + "'"
    escaped = text.replace("\\", "\\\\").replace("'", "''")
    for char, escape in ((":", "\\072"), ("\n", "\\n"), ("\r", "\\r"), ("\t", "\\t")):
        escaped = escaped.replace(char, escape)
    return "E'" + escaped + "'"


def _number(value: float | Decimal, sql_type: str) -> str:
    if isinstance(value, Decimal) and value.is_finite():
        return str(value)
    if isinstance(value, float) and math.isfinite(value):
        return repr(value)
    word = "NaN" if value != value else ("Infinity" if value > 0 else "-Infinity")
    return f"'{word}'::{sql_type}"


def sql_literal(value: Any) -> str:
    """`value` as a PostgreSQL literal, typed where the type is not obvious from the text."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Enum):
        return sql_literal(value.value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float | Decimal):
        return _number(value, "float8" if isinstance(value, float) else "numeric")
    if isinstance(value, datetime):
        kind = "timestamptz" if value.tzinfo else "timestamp"
        return f"{_string(value.isoformat(sep=' '))}::{kind}"
    if isinstance(value, date):
        return f"'{value.isoformat()}'::date"
    if isinstance(value, time):
        return f"{_string(value.isoformat())}::{'timetz' if value.tzinfo else 'time'}"
    if isinstance(value, timedelta):
        return f"'{value.total_seconds()!r} seconds'::interval"
    if isinstance(value, UUID):
        return f"'{value}'::uuid"
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return f"'\\x{bytes(value).hex()}'::bytea"
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=repr) if isinstance(value, set | frozenset) else value
        return "ARRAY[" + ", ".join(sql_literal(v) for v in items) + "]" if items else "'{}'"
    if isinstance(value, dict):
        return f"{_string(json.dumps(value, default=str))}::jsonb"
    if is_dataclass(value) and not isinstance(value, type):
        return sql_literal(asdict(value))
    raise TypeError(f"no SQL literal for a {type(value).__name__}")


_PLACEHOLDER = re.compile(r"%%|%\((?P<name>[^)]+)\)s")


def inline(statement: str, parameters: Mapping[str, Any]) -> str:
    """The statement with each `%(name)s` replaced by its value's literal (`%%` → `%`)."""

    def replace(match: re.Match[str]) -> str:
        name = match["name"]
        if name is None:
            return "%"
        if name not in parameters:
            raise KeyError(f"statement parameter {name!r} was not captured")
        return sql_literal(parameters[name])

    return _PLACEHOLDER.sub(replace, statement)


def script_text(page: str, owner_index: int, statements: Sequence[Statement]) -> str:
    """A pgbench script: one page request, one SQL command per line, as the portal sends it."""
    lines = [f"-- portal page {page!r}, owner #{owner_index}: bench/portal_query.py"]
    for statement, parameters in statements:
        one_line = " ".join(statement.split()).rstrip(";")  # literals are inlined after this
        lines.append(inline(one_line, parameters) + ";")
    return "\n".join(lines) + "\n"


def pgbench_scripts(
    captured_by_owner: Mapping[str, Mapping[str, Sequence[Statement]]],
    directory: Path | str,
) -> list[Path]:
    """One pgbench script per (page, owner) in `directory`, `portal-<page>-<owner #>.sql`
    (owners numbered in the mapping's order); at most 128 (pgbench's limit): the first owners
    that fit. Pages with no captured statement are skipped."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    pages = len(PAGES) or 1
    written: list[Path] = []
    for index, captured in enumerate(list(captured_by_owner.values())[: MAX_SCRIPTS // pages]):
        for page in PAGES:
            statements = captured.get(page) or []
            if not statements:
                continue
            path = directory / f"portal-{page}-{index:03d}.sql"
            path.write_text(script_text(page, index, statements))
            written.append(path)
    return written


def script_page(path: Path | str) -> str | None:
    """The page a script of `pgbench_scripts` replays (None for another file)."""
    match = SCRIPT_NAME.match(Path(path).name)
    return match["page"] if match and match["page"] in PAGES else None


def script_weight(path: Path | str) -> int:
    """Its page's weight in the load test's mix (1 for a script of no known page)."""
    page = script_page(path)
    return PAGES[page] if page else 1


# --- pgbench ----------------------------------------------------------------------------------


def find_pgbench() -> str | None:
    for directory in PGBENCH_DIRECTORIES:
        candidate = Path(directory) / "pgbench"
        if candidate.exists() and os.access(candidate, os.X_OK):
            return str(candidate)
    return shutil.which("pgbench")


def _connection(url: str) -> tuple[list[str], dict[str, str]]:
    """pgbench's connection options and environment for a loopback database URL."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if host not in LOOPBACK:
        raise ValueError(f"pgbench runs against a loopback database only, not {host or url}")
    database = unquote(parts.path.lstrip("/"))
    if not database:
        raise ValueError("the database URL names no database")
    options = [
        f"--host={host}",
        f"--port={parts.port or 5432}",
        f"--username={unquote(parts.username or 'postgres')}",
    ]
    env = {**os.environ, "PGCONNECT_TIMEOUT": "10", "PGAPPNAME": "bench-portal-query"}
    if parts.password is not None:
        env["PGPASSWORD"] = unquote(parts.password)  # never on the command line
    return [*options, database], env


def _log_entries(directory: Path) -> list[tuple[int, str, int, float]]:
    """(client, time_us or 'failed'/'skipped', script, end epoch seconds) per logged
    transaction, from every job's log file."""
    entries = []
    for path in sorted(directory.glob("tx*")):
        for line in path.read_text().splitlines():
            fields = line.split()
            if len(fields) < 6:
                continue
            end = int(fields[4]) + int(fields[5]) / 1e6
            entries.append((int(fields[0]), fields[2], int(fields[3]), end))
    return entries


def _latency_stats(latencies_ms: list[float]) -> dict[str, float | int | None]:
    if not latencies_ms:
        return {"count": 0, "p50_ms": None, "p99_ms": None, "mean_ms": None, "max_ms": None}
    return {
        "count": len(latencies_ms),
        "p50_ms": round(percentile(latencies_ms, 50), 3),
        "p99_ms": round(percentile(latencies_ms, 99), 3),
        "mean_ms": round(sum(latencies_ms) / len(latencies_ms), 3),
        "max_ms": round(max(latencies_ms), 3),
    }


def parse_log(directory: Path, scripts: Sequence[Path]) -> dict[str, Any]:
    """tps, latency percentiles (ms), failures and per-page figures from pgbench's log."""
    entries = _log_entries(directory)
    done = [(float(t) / 1000, s, end) for _c, t, s, end in entries if t.isdigit()]
    failed = sum(1 for _c, t, _s, _e in entries if t == "failed")
    skipped = sum(1 for _c, t, _s, _e in entries if t == "skipped")
    latencies = [ms for ms, _s, _e in done]
    duration = 0.0
    if done:
        first_start = min(end - ms / 1000 for ms, _s, end in done)
        duration = max(end for _ms, _s, end in done) - first_start
    by_page: dict[str, list[float]] = {}
    by_script = dict.fromkeys((Path(path).name for path in scripts), 0)
    for ms, script, _end in done:
        name = Path(scripts[script]).name if script < len(scripts) else f"script{script}"
        by_script[name] = by_script.get(name, 0) + 1
        by_page.setdefault(script_page(name) or name, []).append(ms)
    return {
        "transactions": len(done),
        "failed_transactions": failed,
        "skipped_transactions": skipped,
        "duration_s": round(duration, 3),
        "tps": round(len(done) / duration, 1) if duration > 0 else 0.0,
        **_latency_stats(latencies),
        "by_page": {page: _latency_stats(ms) for page, ms in sorted(by_page.items())},
        "by_script": by_script,
    }


def _summary_figure(pattern: str, text: str) -> float | None:
    match = re.search(pattern, text)
    return float(match[1]) if match else None


def run_pgbench(
    url: str,
    scripts: Sequence[Path],
    clients: int = 50,
    seconds: float = 5.0,
    max_transactions: int | None = None,
    *,
    jobs: int = 2,
    protocol: str = "prepared",
    grace_seconds: float = 30.0,
) -> dict[str, Any]:
    """Run the scripts (each with its page's weight) with `clients` connections for `seconds`
    (`-T`), or — when `max_transactions` is given — for that many transactions in all (`-t`
    per client, rounded up) killed after `seconds` + `grace_seconds`. Answers the parsed log
    (`parse_log`) plus pgbench's own summary and the run's settings; `available` False (and
    `error`) when pgbench is missing, `error` set when it failed or overran."""
    if not scripts:
        raise ValueError("no pgbench script to run")
    if any("@" in str(path) for path in scripts):
        raise ValueError("pgbench reads '@' in a script path as its weight: rename the path")
    if clients < 1 or seconds <= 0:
        raise ValueError("clients and seconds must be positive")
    result: dict[str, Any] = {
        "available": False,
        "clients": clients,
        "jobs": min(jobs, clients),
        "protocol": protocol,
        "seconds": seconds,
        "max_transactions": max_transactions,
        "scripts": len(scripts),
        "weights": {str(p.name): script_weight(p) for p in scripts},
        "error": None,
    }
    pgbench = find_pgbench()
    if pgbench is None:
        return {**result, "error": "pgbench not found (/usr/lib/postgresql/15/bin or PATH)"}
    connection, env = _connection(url)
    if max_transactions is not None:
        bound = [f"--transactions={max(1, math.ceil(max_transactions / clients))}"]
    else:
        bound = [f"--time={max(1, math.ceil(seconds))}"]
    with tempfile.TemporaryDirectory(prefix="bench-pgbench-") as logs:
        command = [
            pgbench,
            "--no-vacuum",
            f"--protocol={protocol}",
            f"--client={clients}",
            f"--jobs={result['jobs']}",
            "--log",
            f"--log-prefix={Path(logs) / 'tx'}",
            *bound,
            *(f"--file={path}@{script_weight(path)}" for path in scripts),
            *connection,
        ]
        try:
            done = subprocess.run(
                command,
                capture_output=True,
                text=True,
                env=env,
                timeout=seconds + grace_seconds,
            )
        except subprocess.TimeoutExpired:
            return {**result, "available": True, "error": "pgbench overran its time bound"}
        parsed = parse_log(Path(logs), scripts)
    # "client 3 aborted in command 2 …" (and since 15: "client 3 script 0 aborted …")
    aborted = len(re.findall(r"client \d+ (?:script \d+ )?aborted", done.stderr))
    error = None
    if done.returncode != 0:
        error = f"pgbench exit {done.returncode}: {done.stderr.strip()[-800:]}"
    return {
        **result,
        **parsed,
        "available": True,
        "aborted_clients": aborted,
        "failures": parsed["failed_transactions"] + aborted,
        "tps_reported": _summary_figure(r"tps = ([\d.]+) \(without initial", done.stdout),
        "latency_avg_reported_ms": _summary_figure(r"latency average = ([\d.]+) ms", done.stdout),
        "returncode": done.returncode,
        "error": error,
    }


# --- the figure next to its limit ------------------------------------------------------------


def _as_dict(report: Any) -> dict[str, Any]:
    if isinstance(report, Mapping):
        return dict(report)
    if hasattr(report, "as_dict"):
        return report.as_dict()
    return asdict(report)


def _ratio(value: float | None, limit: float | None) -> float | None:
    if value is None or not limit or math.isnan(value) or math.isnan(limit):
        return None
    return round(value / limit, 3)


def compare(
    load_report: Any,
    pgbench_result: Mapping[str, Any],
    *,
    target_ratio: float = TARGET_RATIO,
    target_rps: float = TARGET_RPS,
) -> dict[str, Any]:
    """The row of the targets table: value = the portal's p99 (ms), limit = pgbench's p99 on
    the same SQL, ratio = value / limit (target ≤ `target_ratio`), and the portal's requests/s
    (target ≥ `target_rps`) next to pgbench's transactions/s. `load_report`: a
    `bench.chaos.load.LoadReport` or its dict."""
    load = _as_dict(load_report)
    value, limit = load.get("p99_ms"), pgbench_result.get("p99_ms")
    ratio = _ratio(value, limit)
    rps, tps = load.get("throughput_rps"), pgbench_result.get("tps")
    return {
        "figure": "portal query under load",
        "value": value,
        "unit": "ms",
        "limit": limit,
        "limit_key": "pgbench.portal_sql.p99",
        "ratio": ratio,
        "target_ratio": target_ratio,
        "meets_ratio": ratio is not None and ratio <= target_ratio,
        "throughput_rps": rps,
        "target_rps": target_rps,
        "meets_rps": rps is not None and rps >= target_rps,
        "pgbench_tps": tps,
        "throughput_ratio": _ratio(rps, tps),
        "p50_ms": load.get("p50_ms"),
        "pgbench_p50_ms": pgbench_result.get("p50_ms"),
        "p50_ratio": _ratio(load.get("p50_ms"), pgbench_result.get("p50_ms")),
        "concurrency": load.get("concurrency"),
        "pgbench_clients": pgbench_result.get("clients"),
        "requests": load.get("requests"),
        "server_errors": load.get("server_errors"),
        "pgbench_transactions": pgbench_result.get("transactions"),
        "pgbench_failures": pgbench_result.get("failures"),
        "pgbench_error": pgbench_result.get("error"),
    }
