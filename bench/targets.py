"""The `targets` object of bench/results.json: one entry per row of the issue's table, each
`{"value", "limit", "ratio", "target", "met", "unit"}` plus where the numbers come from, built
from the report's figures and limits (nothing here measures). A row whose figure or limit was
not measured in this run has `value`/`limit` None and `met` false, with the reason.

`growth` shows, for the figures measured at every scale, the value and ratio per scale and the
change from the smallest to the largest (cost growth).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bench.common import Measure, Report

RSS_LIMIT_MB = 300.0


def _measure(report: Report, key: str) -> Measure | None:
    for row in report.figures:
        if row.measure.key == key:
            return row.measure
    return report.limits.get(key)


def _value(report: Report, key: str) -> float | None:
    measure = _measure(report, key)
    return measure.value if measure is not None else None


def _ratio(value: float | None, limit: float | None) -> float | None:
    if value is None or not limit:
        return None
    return round(value / limit, 4)


def _row(
    value: float | None,
    limit: float | None,
    unit: str,
    target: str,
    met: Callable[[float], bool],
    sources: dict[str, str],
    **extra: Any,
) -> dict[str, Any]:
    ratio = _ratio(value, limit)
    also_met = extra.pop("also_met", [True])
    missing = [name for name, v in (("value", value), ("limit", limit)) if v is None]
    entry = {
        "value": None if value is None else round(value, 3),
        "limit": None if limit is None else round(limit, 3),
        "ratio": ratio,
        "target": target,
        "met": ratio is not None and met(ratio) and all(also_met),
        "unit": unit,
        "from": sources,
        **extra,
    }
    if missing:
        entry["not_measured"] = ", ".join(missing) + " not measured in this run"
    return entry


def _largest(report: Report) -> str | None:
    scales = report.sizes.scales
    return scales[-1][0] if scales else None


def targets(report: Report, scale_results: dict[str, Any]) -> dict[str, Any]:
    largest = _largest(report)
    pgbench8 = _value(report, "raw.pgbench.8")
    commit_floor = pgbench8 if pgbench8 is not None else _value(report, "raw.commit1.8")
    floor_key = "raw.pgbench.8" if pgbench8 is not None else "raw.commit1.8"
    out: dict[str, Any] = {}
    out["append_1_event_per_command_8_clients"] = _row(
        _value(report, "fig1.native.8"),
        commit_floor,
        "events/s",
        "≥ 0.5 × the one-row INSERT+COMMIT rate (pgbench, 8 clients)",
        lambda r: r >= 0.5,
        {"value": "fig1.native.8", "limit": floor_key},
    )
    out["append_100_events_per_transaction"] = _row(
        _value(report, "fig2.native"),
        _value(report, "raw.copy"),
        "events/s",
        "≥ 0.3 × raw batched COPY of identical rows",
        lambda r: r >= 0.3,
        {"value": "fig2.native", "limit": "raw.copy"},
    )
    p99 = _value(report, "fig3.p99")
    out["command_to_read_model_latency"] = _row(
        _value(report, "fig3.p50"),
        _value(report, "floor.p50"),
        "ms",
        "p50 ≤ 4 × the floor (commit + bare Kafka hop + read-model commit), p99 ≤ 50 ms",
        lambda r: r <= 4,
        {"value": "fig3.p50", "limit": "floor.p50", "p99": "fig3.p99"},
        p99_ms=p99,
        also_met=[p99 is not None and p99 <= 50],
    )
    if largest is not None:
        replayed = _value(report, f"fig5.replay.{largest}")
        out["projection_replay"] = _row(
            replayed,
            _value(report, f"raw.read_upsert.{largest}"),
            "events/s",
            "≥ 0.5 × (raw read + decode, then raw bulk write of the same rows), ≥ 20,000 events/s",
            lambda r: r >= 0.5,
            {"value": f"fig5.replay.{largest}", "limit": f"raw.read_upsert.{largest}"},
            also_met=[replayed is not None and replayed >= 20_000],
        )
        out["rebuild_from_kafka"] = _row(
            _value(report, f"fig6.rebuild_kafka.{largest}"),
            _value(report, f"kafka.getmany.{largest}"),
            "events/s",
            "≥ 0.3 × a bare aiokafka getmany loop over the same topics",
            lambda r: r >= 0.3,
            {"value": f"fig6.rebuild_kafka.{largest}", "limit": f"kafka.getmany.{largest}"},
        )
        load = (scale_results.get(largest) or {}).get("load") or {}
        comparison = load.get("comparison") or {}
        rps = comparison.get("throughput_rps")
        out["portal_query_under_load"] = _row(
            comparison.get("value"),
            comparison.get("limit"),
            "ms",
            "p99 ≤ 5 × pgbench's p99 on the same SQL, and ≥ 500 requests/s",
            lambda r: r <= 5,
            {"value": f"fig7.portal_p99.{largest}", "limit": f"pgbench.portal_sql.p99.{largest}"},
            throughput_rps=rps,
            pgbench_tps=comparison.get("pgbench_tps"),
            ingestion=load.get("ingestion"),
            also_met=[rps is not None and rps >= 500],
        )
        peaks = (scale_results.get(largest) or {}).get("peak_rss_mb") or {}
        known = {name: mb for name, mb in peaks.items() if mb is not None}
        worst = max(known.items(), key=lambda item: item[1]) if known else (None, None)
        out["memory_peak_rss"] = _row(
            worst[1],
            RSS_LIMIT_MB,
            "MB",
            f"no service process above {RSS_LIMIT_MB:.0f} MB at the {largest} scale",
            lambda r: r <= 1,
            {"value": f"peak RSS of {worst[0]} (largest of {len(known)})", "limit": "the target"},
            per_process_mb=known,
        )
    return out


def growth(report: Report) -> dict[str, Any]:
    """Each scale figure per scale, and the change from the smallest scale to the largest."""
    names = [name for name, _, _ in report.sizes.scales]
    if len(names) < 2:
        return {}
    rows: dict[str, Any] = {}
    for prefix, limit_prefix in (
        ("fig5.replay", "raw.read_upsert"),
        ("raw.read_decode", None),
        ("raw.upsert", None),
        ("fig6.rebuild_kafka", "kafka.getmany"),
        ("kafka.getmany", None),
        ("relay", None),
        ("gen", None),
    ):
        per_scale = {}
        for name in names:
            value = _value(report, f"{prefix}.{name}")
            limit = _value(report, f"{limit_prefix}.{name}") if limit_prefix else None
            per_scale[name] = {"value": value, "ratio": _ratio(value, limit)}
        first, last = per_scale[names[0]]["value"], per_scale[names[-1]]["value"]
        rows[prefix] = {
            "per_scale": per_scale,
            f"{names[-1]}_over_{names[0]}": _ratio(last, first),
        }
    return rows
