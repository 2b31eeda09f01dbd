"""The alarm state file: round trip, first start, and SIGKILL at any moment leaves the old or the new state."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from alarms.correlate import Topology
from alarms.detect import DetectorState
from alarms.engine import EngineSettings, EngineState, step
from alarms.model import AlarmKey, Condition, Kind, Tick
from alarms.state_store import Snapshot, StateStore

ROOT = Path(__file__).resolve().parent.parent

WRITER = """
import sys
from pathlib import Path
from alarms.state_store import write_atomic
path = Path(sys.argv[1])
i = 0
while True:
    i += 1
    write_atomic(path, '{"n": %d, "pad": "%s"}' % (i, "x" * (i % 5000)))
"""


@pytest.fixture
def tmp() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="netqos-alarm-state-") as d:
        yield Path(d)


def test_first_start_has_no_state(tmp: Path) -> None:
    assert StateStore(tmp / "state.json").load() is None


def test_round_trip(tmp: Path) -> None:
    t0 = datetime(2026, 11, 25, tzinfo=UTC)
    s, _ = step(EngineState(), Condition(AlarmKey("olt-sh-pd-01", Kind.DEVICE_UNREACHABLE), True, t0),
                Topology(), t0, settings=EngineSettings())
    s, _ = step(s, Tick(t0), Topology(), t0, settings=EngineSettings())
    snap = Snapshot(s, DetectorState({"olt-sh-pd-01": 3}, {"a|threshold|cpu_high": 2}))
    store = StateStore(tmp / "sub" / "state.json")
    store.save(snap)
    assert store.load() == snap


@pytest.mark.parametrize("delay_s", [0.05, 0.13, 0.31])
def test_sigkill_leaves_old_or_new(tmp: Path, delay_s: float) -> None:
    path = tmp / "state.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], env=env, cwd=ROOT)
    try:
        deadline = time.monotonic() + 10
        while not path.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(delay_s)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert doc["n"] >= 1 and doc["pad"] == "x" * (doc["n"] % 5000)
    leftovers = [p.name for p in tmp.iterdir() if p.name != "state.json"]
    assert len(leftovers) <= 1  # at most the temporary file being written when killed
