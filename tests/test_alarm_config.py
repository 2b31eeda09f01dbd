"""config/alarms.yaml: the shipped defaults load; mistakes are reported with file:line and field."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from alarms.correlate import Topology
from alarms.engine import EngineSettings
from alarms.maintenance import MaintenanceCalendar
from config.alarms import AlarmsConfig, load_alarms
from config.errors import ConfigError
from config.loader import load

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def tmp() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="netqos-alarm-config-") as d:
        yield Path(d)


def test_shipped_file_is_the_documented_defaults() -> None:
    inv = load(ROOT / "inventory.yaml", ROOT / "config", env={}).inventory
    cfg = load_alarms(ROOT / "config" / "alarms.yaml", [d.name for d in inv.devices], [s.name for s in inv.sites])
    defaults = AlarmsConfig()
    lab_only = {"rules": {"onu_rx_power": {"pon_classes"}, "bgp_down": {"peers"}}}
    assert cfg.model_dump(exclude=lab_only) == defaults.model_dump(exclude=lab_only)
    assert cfg.rules.onu_rx_power.window("olt-sh-pd-01", "0/1/0").min_dbm == -30
    assert cfg.rules.onu_rx_power.window("olt-sh-mh-01", "1/1/1").min_dbm == -27
    assert EngineSettings.from_config(cfg, poll_interval_s=30).group_window_s == 30 + 60  # + onu_los hold-down
    fixed = cfg.model_copy(update={"group_window_s": 45.0})
    assert EngineSettings.from_config(fixed, poll_interval_s=30).group_window_s == 45


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
