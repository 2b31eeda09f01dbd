"""ifIndex → ifName of each device, learned from the interface samples of the polls, kept across restarts.

The trap receiver uses it to name the interface of a linkDown/linkUp (most traps carry only the ifIndex).
Polled interface alarms are keyed by ifName, so a trap must name the interface the same way from its very
first second — before the first interfaces poll after a restart too, or one outage becomes two alarms (one
keyed "77", which no poll ever clears). So the cache is persisted: a small JSON file (device → ifIndex →
ifName) written atomically (temp file, fsync, rename, fsync of the directory) when names change — at most
every ``save_every_s`` — and loaded at start. A missing or unreadable file starts an empty cache (logged).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Final, Protocol

from collectors import measurements as m
from collectors.model import Sample

log = logging.getLogger(__name__)

IFNAMES_FILE: Final = "ifnames.json"
FORMAT_VERSION: Final = 1

Names = Mapping[str, Mapping[int, str]]
"""device → ifIndex → ifName."""


class IfNameStore(Protocol):
    """Where the cache persists (a port: the JSON file below, or nothing)."""

    def load(self) -> dict[str, dict[int, str]]: ...

    def save(self, names: Names) -> None: ...


def encode(names: Names) -> str:
    """The file's text: ``{"version": 1, "devices": {device: {"ifIndex": ifName}}}``, sorted, stable."""
    devices = {d: {str(i): n for i, n in sorted(rows.items())} for d, rows in sorted(names.items())}
    return json.dumps({"version": FORMAT_VERSION, "devices": devices}, ensure_ascii=False, indent=0) + "\n"


def decode(text: str) -> dict[str, dict[int, str]]:
    """The inverse of :func:`encode`; entries of the wrong shape are skipped; ValueError on other JSON."""
    doc = json.loads(text)
    if not isinstance(doc, dict) or doc.get("version") != FORMAT_VERSION or not isinstance(doc.get("devices"), dict):
        raise ValueError(f"not an ifName cache of version {FORMAT_VERSION}")
    out: dict[str, dict[int, str]] = {}
    for device, rows in doc["devices"].items():
        if not isinstance(rows, dict):
            continue
        good = {int(i): n for i, n in rows.items() if isinstance(i, str) and i.isdigit() and isinstance(n, str) and n}
        if good:
            out[str(device)] = good
    return out


class IfNameFile:
    """The JSON file adapter: atomic writes (temp + fsync + rename + directory fsync)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> dict[str, dict[int, str]]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        except OSError as exc:
            log.warning("ifName cache: cannot read %s (%s): starting empty", self.path, exc)
            return {}
        try:
            return decode(text)
        except ValueError as exc:  # json.JSONDecodeError is a ValueError
            log.warning("ifName cache: %s is not a valid cache (%s): starting empty", self.path, exc)
            return {}

    def save(self, names: Names) -> None:
        data = encode(names).encode("utf-8")
        directory = self.path.parent
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=directory)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        with contextlib.suppress(OSError):  # the rename itself durable (not on every platform/filesystem)
            dfd = os.open(directory, os.O_RDONLY)
            try:
                os.fsync(dfd)
            finally:
                os.close(dfd)


class IfNameCache:
    """Fed with every poll's samples (``observe``); answers ``ifname(device, ifindex)``.

    With a ``store``, starts from what the store holds and saves there when names change (at most every
    ``save_every_s`` by ``clock``, a monotonic seconds source; :meth:`flush` saves what is pending).
    """

    def __init__(
        self,
        store: IfNameStore | None = None,
        *,
        initial: Names | None = None,
        clock: Callable[[], float] = time.monotonic,
        save_every_s: float = 5.0,
    ) -> None:
        self._names: dict[tuple[str, int], str] = {
            (d, i): n for d, rows in (initial or {}).items() for i, n in rows.items()
        }
        self._store = store
        self._clock = clock
        self._every = save_every_s
        self._dirty = False
        self._saved_at: float | None = None

    @classmethod
    def open(
        cls, path: Path, *, clock: Callable[[], float] = time.monotonic, save_every_s: float = 5.0
    ) -> IfNameCache:
        """A cache persisted at ``path``, loaded from it now."""
        store = IfNameFile(path)
        names = store.load()
        if names:
            log.warning("ifName cache: %d interfaces of %d devices loaded from %s",
                        sum(len(r) for r in names.values()), len(names), path)
        return cls(store, initial=names, clock=clock, save_every_s=save_every_s)

    @staticmethod
    def default_path(state_file: str | Path) -> Path:
        """Beside the alarm engine's state file (``tickets.alarm_state_file``), in netqos's state directory:
        ``var/ifnames.json`` by default, beside ``var/spool`` — and inside a test's own temp dir."""
        return Path(state_file).parent / IFNAMES_FILE

    def observe(self, samples: Iterable[Sample]) -> None:
        for s in samples:
            if s.measurement != m.INTERFACE:
                continue
            device, index, name = s.tags.get(m.TAG_DEVICE), s.tags.get(m.TAG_IFINDEX), s.tags.get(m.TAG_IFNAME)
            if device and index and name and index.isdigit():
                key = (device, int(index))
                if self._names.get(key) != name:
                    self._names[key] = name
                    self._dirty = True
        if self._dirty and self._store is not None:
            now = self._clock()
            if self._saved_at is None or now - self._saved_at >= self._every:
                self.flush()

    def ifname(self, device: str, ifindex: int) -> str | None:
        return self._names.get((device, ifindex))

    def snapshot(self) -> dict[str, dict[int, str]]:
        out: dict[str, dict[int, str]] = {}
        for (device, index), name in self._names.items():
            out.setdefault(device, {})[index] = name
        return out

    def flush(self) -> None:
        """Save now if names changed since the last save (a failed save is logged and retried later)."""
        if not self._dirty or self._store is None:
            return
        self._saved_at = self._clock()
        try:
            self._store.save(self.snapshot())
        except OSError as exc:
            log.warning("ifName cache: saving failed (%s): kept in memory, retried on the next change window", exc)
            return
        self._dirty = False
