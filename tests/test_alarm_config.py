"""config/alarms.yaml: the shipped defaults load; mistakes are reported with file:line and field."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from alarms.correlate import Topology
from alarms.engine import EngineSettings
from alarms.maintenance import MaintenanceCalendar, Window
from config.alarms import AlarmsConfig, auto_group_window_s, detection_lag_s, load_alarms, with_trap_clears
from config.errors import ConfigError
from config.loader import load
from config.models import Job
from config.traps import load_traps

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def tmp() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="netqos-alarm-config-") as d:
        yield Path(d)


def test_shipped_file_is_the_documented_defaults() -> None:
    inv = load(ROOT / "inventory.yaml", ROOT / "config", env={}).inventory
    cfg = load_alarms(ROOT / "config" / "alarms.yaml", [d.name for d in inv.devices], [s.name for s in inv.sites])
    defaults = AlarmsConfig()
    lab_only = {"rules": {"onu_rx_power": {"pon_classes"}, "bgp_down": {"peers"}, "traps": {"cleared_kinds"}}}
    assert cfg.model_dump(exclude=lab_only) == defaults.model_dump(exclude=lab_only)
    assert cfg.rules.onu_rx_power.window("olt-sh-pd-01", "0/1/0").min_dbm == -30
    assert cfg.rules.onu_rx_power.window("olt-sh-mh-01", "1/1/1").min_dbm == -27
    assert EngineSettings.from_config(cfg, poll_interval_s=30).group_window_s == 30 + 60  # + onu_los hold-down
    fixed = cfg.model_copy(update={"group_window_s": 45.0})
    assert EngineSettings.from_config(fixed, poll_interval_s=30).group_window_s == 45
    assert EngineSettings.from_config(fixed, jobs=shipped_jobs()).group_window_s == 45
    assert cfg.rules.battery_runtime_low.severity == "critical" and cfg.rules.battery_runtime_low.below == 60


def shipped_jobs() -> dict[str, Job]:
    return dict(load(ROOT / "inventory.yaml", ROOT / "config", env={}).settings.jobs)


def jobs(**intervals: float) -> dict[str, Job]:
    return {name: Job(interval_s=s, timeout_s=min(10.0, s / 2)) for name, s in intervals.items()}


def test_shipped_cleared_kinds_are_the_trap_mappings_with_a_clear() -> None:
    """alarms.yaml's ``cleared_kinds`` names exactly the traps.yaml mappings that send a clear, and
    :func:`with_trap_clears` derives the same from the mappings (idempotent on the shipped file)."""
    shipped = load_alarms(ROOT / "config" / "alarms.yaml")
    mappings = load_traps(ROOT / "config" / "traps.yaml", os.environ).mappings
    with_clear = {m.kind for m in mappings if m.clear_oids or m.clear_when is not None}
    assert with_clear and set(shipped.rules.traps.cleared_kinds) == with_clear
    assert with_trap_clears(shipped, mappings) == shipped
    derived = with_trap_clears(AlarmsConfig(), mappings)
    assert set(derived.rules.traps.cleared_kinds) == with_clear


# trap kind → its auto-clear (s) under the shipped rules; None: never
AUTO_CLEAR = {
    "an event: its own auto_clear_s": ("coldStart", 300.0),
    "the EMS feed lost: emsFeedRestored clears it, so only the 7-day stale limit": ("emsFeedLost", 7 * 86400.0),
    "an Ericsson alarm (a traps.yaml mapping with a clear trap): the stale limit": ("eriAlarm", 7 * 86400.0),
    "a Huawei EMS alarm (clear_when Recovery): the stale limit": ("emsAlarm", 7 * 86400.0),
    "a vendor kind nothing clears: the default auto-clear": ("radioLinkFailure", 3600.0),
}


@pytest.mark.parametrize(("kind", "expected"), AUTO_CLEAR.values(), ids=AUTO_CLEAR.keys())
def test_trap_auto_clear(kind: str, expected: float | None) -> None:
    traps = load_alarms(ROOT / "config" / "alarms.yaml").rules.traps
    assert traps.auto_clear(kind) == expected
    never = traps.model_copy(update={"stale_clear_s": None, "default_auto_clear_s": None})
    assert never.auto_clear(kind) == (300.0 if kind == "coldStart" else None)


# jobs, the detection lag (s): how long after its symptoms a root may be first seen
DETECTION_LAG = {
    "lab: the 120 s ONU walk is longer than 2 failed 30 s system polls": ("shipped", 120.0),
    "30 s polls everywhere: 2 failed system polls": (jobs(system=30, interfaces=30, onu=30), 60.0),
    "production 60 s polls: 2 failed system polls": (jobs(system=60, interfaces=60, radio=60), 120.0),
    "a slow power poll beyond the failures": (jobs(system=30, power=300), 300.0),
    "no jobs: 60 s polls assumed": ({}, 120.0),
}


@pytest.mark.parametrize(("job_map", "expected"), DETECTION_LAG.values(), ids=DETECTION_LAG.keys())
def test_detection_lag(job_map: dict[str, Job] | str, expected: float) -> None:
    cfg = load_alarms(ROOT / "config" / "alarms.yaml")
    job_map = shipped_jobs() if isinstance(job_map, str) else job_map
    assert detection_lag_s(cfg.rules, job_map) == expected
    assert EngineSettings.from_config(cfg, jobs=job_map).detection_lag_s == expected
    three = cfg.rules.model_copy(update={"device_unreachable": cfg.rules.device_unreachable.model_copy(
        update={"failures": 3})})
    assert detection_lag_s(three, job_map) >= expected


# jobs (name → interval s), hold-downs, the auto group window
AUTO_WINDOW = {
    "lab: 30 s root-detecting polls + onu_los's 60 s (the 120 s ONU walk finds PON roots and LOS together)": (
        "shipped", "shipped", 30 + 60),
    "the slowest root-detecting job counts, SSH jobs and unknown jobs do not": (
        jobs(system=30, radio=45, ssh_onu=600, inventory=900), (0, 15), 45 + 15),
    "each root-detecting job counts: power": (jobs(system=30, power=90), (), 90),
    "each root-detecting job counts: bgp": (jobs(system=30, bgp=100), (30,), 130),
    "the ONU/PON walk does not: its roots and symptoms come together": (
        jobs(interfaces=20, pon=50, onu=300), (5,), 25),
    "production 60 s polls with a 300 s ONU walk": (jobs(system=60, interfaces=60, onu=300), (60,), 120),
    "a slow power poll: capped at 300 s": (jobs(system=60, power=600), (60,), 300),
    "no correlation job configured: a 60 s poll assumed": (jobs(ssh_onu=300), (30,), 90),
}


@pytest.mark.parametrize(("job_map", "holds", "expected"), AUTO_WINDOW.values(), ids=AUTO_WINDOW.keys())
def test_auto_group_window(job_map: dict[str, Job] | str, holds: tuple[float, ...] | str, expected: float) -> None:
    cfg = load_alarms(ROOT / "config" / "alarms.yaml")
    job_map = shipped_jobs() if job_map == "shipped" else job_map
    holds = cfg.rules.hold_downs() if holds == "shipped" else holds
    assert isinstance(job_map, dict) and not isinstance(holds, str)
    assert auto_group_window_s(job_map, holds) == expected
    if holds == cfg.rules.hold_downs():
        assert EngineSettings.from_config(cfg, jobs=job_map).group_window_s == expected


BAD = {
    "unknown key with a suggestion": (
        "rules:\n  interface_down:\n    hold_down: 30\n",
        ":3:5: rules.interface_down.hold_down: unknown key 'hold_down'",
    ),
    "negative hold-down": (
        "rules:\n  pon_down:\n    hold_down_s: -1\n",
        ":3:5: rules.pon_down.hold_down_s:",
    ),
    "threshold with both limits": (
        "rules:\n  cpu_high:\n    above: 90\n    below: 10\n",
        "rules.cpu_high: give exactly one of 'above' or 'below'",
    ),
    "unknown optics class": (
        "rules:\n  onu_rx_power:\n    pon_classes:\n      olt-sh-pd-01: D\n",
        "unknown optics class 'D'",
    ),
    "maintenance window without a time zone": (
        "maintenance:\n  - start: 2026-12-01T01:00:00\n    end: 2026-12-01T05:00:00+08:00\n"
        "    devices: [agg-sh-pd-01]\n",
        ":2:5: maintenance[0].start: give a time zone",
    ),
    "maintenance window on an unknown device": (
        "maintenance:\n  - start: 2026-12-01T01:00:00+08:00\n    end: 2026-12-01T05:00:00+08:00\n"
        "    devices: [agg-sh-pd-99]\n",
        ":4:15: maintenance[0].devices[0]: unknown device 'agg-sh-pd-99'",
    ),
    "not a mapping": ("- 1\n", ":1:1: expected a mapping"),
    "group window neither a number nor auto": ("group_window_s: soon\n", ":1:1: group_window_s:"),
}


@pytest.mark.parametrize(("text", "expected"), BAD.values(), ids=BAD.keys())
def test_errors_name_file_line_and_field(tmp: Path, text: str, expected: str) -> None:
    path = tmp / "alarms.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_alarms(path, devices=["agg-sh-pd-01", "olt-sh-pd-01"], sites=["sh-pd-co"])
    assert expected in str(err.value)
    assert str(err.value).startswith(str(path))


def test_maintenance_sites_expand_to_their_devices(tmp: Path) -> None:
    path = tmp / "alarms.yaml"
    path.write_text(
        "maintenance:\n  - start: 2026-12-01T01:00:00+08:00\n    end: 2026-12-01T05:00:00+08:00\n"
        "    sites: [sh-pd-bs101]\n    reason: tower work\n",
        encoding="utf-8",
    )
    cfg = load_alarms(path)
    inv = load(ROOT / "inventory.yaml", ROOT / "config", env={}).inventory
    cal = MaintenanceCalendar.build(cfg.maintenance, Topology.from_inventory(inv))
    w = cfg.maintenance[0]
    assert cal.in_window("csr-sh-pd-101", w.start)
    assert not cal.in_window("csr-sh-pd-101", w.end)
    assert not cal.in_window("agg-sh-pd-01", w.start)


H = 3600.0
# windows on one device (start, end hours), the time asked (hours), the coverage (hours) or None
COVERAGE = {
    "outside every window": (((1, 2),), 3, None),
    "inside one": (((1, 2),), 1.5, (1, 2)),
    "the end is not covered": (((1, 2),), 2, None),
    "back-to-back windows are one": (((1, 2), (2, 3)), 1.5, (1, 3)),
    "overlapping windows are one": (((1, 2.5), (2, 3), (0.5, 1.2)), 1.1, (0.5, 3)),
    "a gap ends the coverage": (((1, 2), (2.5, 3)), 1.5, (1, 2)),
}


@pytest.mark.parametrize(("windows", "when", "expected"), COVERAGE.values(), ids=COVERAGE.keys())
def test_maintenance_coverage(
    windows: tuple[tuple[float, float], ...], when: float, expected: tuple[float, float] | None
) -> None:
    t0 = datetime(2026, 12, 1, tzinfo=UTC)

    def h(x: float) -> datetime:
        return t0 + timedelta(seconds=x * H)

    cal = MaintenanceCalendar(tuple(Window(h(a), h(b), frozenset({"agg-sh-pd-01"})) for a, b in windows))
    assert cal.coverage("agg-sh-pd-01", h(when)) == (None if expected is None else (h(expected[0]), h(expected[1])))
    assert cal.coverage("olt-sh-pd-01", h(when)) is None
