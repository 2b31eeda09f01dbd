"""Persist the engine's and the detector's state: one JSON file, replaced atomically.

``save`` writes a temporary file in the same directory, fsyncs it, renames it over the old file and
fsyncs the directory: after a SIGKILL (or power loss) at any point the file holds either the old or the
new state, never a mix. ``load`` returns None when there is no state yet (first start).
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from alarms.detect import DetectorState
from alarms.engine import EngineState

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Snapshot:
    engine: EngineState
    detector: DetectorState


def write_atomic(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` so that a crash leaves either the old or the new content."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dfd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


class StateStore:
    """The alarm state file (e.g. ``var/alarm-state.json``)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def save(self, snapshot: Snapshot) -> None:
        doc = {
            "engine": json.loads(snapshot.engine.to_json()),
            "detector": json.loads(snapshot.detector.to_json()),
        }
        write_atomic(self.path, json.dumps(doc, ensure_ascii=False, sort_keys=True))

    def load(self) -> Snapshot | None:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            log.info("alarm state %s: none yet, starting empty", self.path)
            return None
        doc = json.loads(text)
        return Snapshot(
            EngineState.from_json(json.dumps(doc["engine"])),
            DetectorState.from_json(json.dumps(doc["detector"])),
        )
