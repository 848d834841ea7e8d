"""The `targets` object of bench/results.json: one entry per row of the issue's table, each
with value, limit, ratio, target, met and unit, computed from the report (no measuring)."""

from __future__ import annotations

from dataclasses import replace

from bench.common import QUICK, Measure, Report
from bench.targets import growth, targets

ROWS = {
    "append_1_event_per_command_8_clients",
    "append_100_events_per_transaction",
    "command_to_read_model_latency",
    "projection_replay",
    "rebuild_from_kafka",
    "portal_query_under_load",
    "memory_peak_rss",
}


def report() -> Report:
    sizes = replace(QUICK, scales=(("small", 10, 1_000), ("big", 100, 10_000)))
    r = Report(sizes)
    r.figure("1", Measure("fig1.native.8", "", 1_500.0, "events/s", 1), "raw.pgbench.8")
    r.limit(Measure("raw.pgbench.8", "", 20_000.0, "TPS", 1))
    r.figure("2", Measure("fig2.native", "", 10_000.0, "events/s", 1), "raw.copy")
    r.limit(Measure("raw.copy", "", 25_000.0, "rows/s", 1))
    r.figure("3", Measure("fig3.p50", "", 6.0, "ms", 1), "floor.p50")
    r.figure("3", Measure("fig3.p99", "", 40.0, "ms", 1), "floor.p99")
    r.limit(Measure("floor.p50", "", 2.0, "ms", 1))
    for name, factor in (("small", 1.0), ("big", 0.8)):
        r.figure("5", Measure(f"fig5.replay.{name}", "", 25_000.0 * factor, "events/s", 1))
        r.limit(Measure(f"raw.read_upsert.{name}", "", 40_000.0, "events/s", 1))
    r.figure("6", Measure("fig6.rebuild_kafka.big", "", 3_000.0, "events/s", 1))
    r.limit(Measure("kafka.getmany.big", "", 100_000.0, "messages/s", 1))
    return r


SCALES = {
    "big": {
        "load": {"comparison": {"value": 90.0, "limit": 20.0, "throughput_rps": 600.0}},
        "peak_rss_mb": {"portal-api": 180.0, "billing-relay": 120.0, "portal-replay": None},
    }
}


def test_one_entry_per_row_with_the_fields_the_issue_names() -> None:
    rows = targets(report(), SCALES)
    assert set(rows) == ROWS
    for row in rows.values():
        assert {"value", "limit", "ratio", "target", "met", "unit"} <= set(row)


def test_ratios_and_verdicts() -> None:
    rows = targets(report(), SCALES)
    append = rows["append_1_event_per_command_8_clients"]
    assert (append["ratio"], append["met"]) == (0.075, False)
    assert rows["append_100_events_per_transaction"]["met"] is True  # 0.4 ≥ 0.3
    latency = rows["command_to_read_model_latency"]
    assert (latency["ratio"], latency["p99_ms"], latency["met"]) == (3.0, 40.0, True)
    replayed = rows["projection_replay"]  # 0.5 × bound met, but 20,000 events/s not
    assert (replayed["value"], replayed["ratio"], replayed["met"]) == (20_000.0, 0.5, True)
    assert rows["rebuild_from_kafka"]["met"] is False  # 0.03
    load = rows["portal_query_under_load"]
    assert (load["ratio"], load["met"]) == (4.5, True)
    memory = rows["memory_peak_rss"]
    assert (memory["value"], memory["limit"], memory["met"]) == (180.0, 300.0, True)


def test_a_row_not_measured_says_so_and_is_not_met() -> None:
    rows = targets(Report(replace(QUICK, scales=(("big", 100, 10_000),))), {})
    assert rows["rebuild_from_kafka"]["met"] is False
    assert "not measured" in rows["rebuild_from_kafka"]["not_measured"]


def test_growth_from_the_smallest_scale_to_the_largest() -> None:
    rows = growth(report())
    assert rows["fig5.replay"]["big_over_small"] == 0.8
    assert rows["fig5.replay"]["per_scale"]["small"] == {"value": 25_000.0, "ratio": 0.625}
