"""The on-disk spool: an append-only journal of line-protocol batches (a thin, blocking I/O adapter).

Layout of ``directory``:

- ``<seq:016d>.seg`` — segments of framed records (:mod:`collectors.sink.framing`), one record per batch.
  A process only ever appends to the segment it created itself (each :meth:`Spool.open` starts a new
  one), so a torn tail left by a crash stays at the end of an old segment, where the reader skips it.
- ``ack`` — the position just past the last record the server confirmed, fsync'd and replaced
  atomically (write, fsync, rename, fsync the directory). Records before it are never read again.

Durability: :meth:`append` hands the bytes to the kernel (they survive a crash of the process);
:meth:`sync` fsyncs them (they survive a crash of the machine) — the sink calls it as a group commit.

Not thread-safe: the sink runs every call on one dedicated thread.
"""

from __future__ import annotations

import logging
import os
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

from collectors.sink import batch
from collectors.sink.framing import HEADER_SIZE, Record, Tail, decode, decode_one, encode_record

log = logging.getLogger(__name__)

_ACK = struct.Struct("<QQI")
_SUFFIX = ".seg"
MIN_SEGMENT_BYTES = 64 << 10
MAX_SEGMENT_BYTES = 64 << 20


@dataclass(frozen=True, slots=True, order=True)
class Position:
    """A place in the journal: segment number and byte offset in it (ordered like the journal)."""

    segment: int
    offset: int


@dataclass(frozen=True, slots=True)
class SpooledRecord:
    start: Position
    end: Position
    payload: bytes

    @property
    def points(self) -> int:
        """Points in the record (its payload is a :mod:`collectors.sink.batch`)."""
        return batch.points(self.payload)


@dataclass(frozen=True, slots=True)
class SpoolStats:
    bytes: int
    segments: int
    dropped_records: int
    dropped_lines: int


def segment_bytes_for(max_bytes: int) -> int:
    """Segment size: small enough that dropping the oldest one frees ~1/16 of the cap."""
    return max(MIN_SEGMENT_BYTES, min(MAX_SEGMENT_BYTES, max_bytes // 16))


def encode_ack(pos: Position) -> bytes:
    body = struct.pack("<QQ", pos.segment, pos.offset)
    return _ACK.pack(pos.segment, pos.offset, zlib.crc32(body))


def decode_ack(buf: bytes) -> Position | None:
    if len(buf) != _ACK.size:
        return None
    segment, offset, crc = _ACK.unpack(buf)
    if zlib.crc32(struct.pack("<QQ", segment, offset)) != crc:
        return None
    return Position(segment, offset)


class Spool:
    """Append records, read them back in order from any position, acknowledge, drop beyond a cap."""

    def __init__(self, directory: Path, *, max_bytes: int, name: str = "spool") -> None:
        self.dir = directory
        self.name = name
        self.max_bytes = max_bytes
        self.segment_bytes = segment_bytes_for(max_bytes)
        self.dir.mkdir(parents=True, exist_ok=True)
        self._sizes: dict[int, int] = {}  # segment -> bytes, in journal order (dicts keep insertion order)
        for p in sorted(self.dir.glob("*" + _SUFFIX)):
            if p.stem.isdigit():
                self._sizes[int(p.stem)] = p.stat().st_size
        self._acked = self._read_ack()
        for seq in [s for s in self._sizes if s < self._acked.segment]:
            self._delete(seq)
        self._dropped_records = 0
        self._dropped_lines = 0
        self._reading: tuple[int, int] | None = None  # (segment, fd) kept open for the reader
        self._active = max([*self._sizes, self._acked.segment, 0]) + 1
        self._fd = self._create(self._active)
        self._dirty = False
        if len(self._sizes) > 1:
            log.info(
                "%s: %s holds %d bytes from an earlier run (acked up to %s), to be replayed",
                self.name,
                self.dir,
                self.size_bytes - self._sizes[self._active],
                self._acked,
            )

    # --- state -------------------------------------------------------------------------------------

    @property
    def acked(self) -> Position:
        return self._acked

    @property
    def end(self) -> Position:
        """The position the next appended record will start at."""
        return Position(self._active, self._sizes[self._active])

    @property
    def size_bytes(self) -> int:
        return sum(self._sizes.values())

    def stats(self) -> SpoolStats:
        return SpoolStats(self.size_bytes, len(self._sizes), self._dropped_records, self._dropped_lines)

    # --- writing -----------------------------------------------------------------------------------

    def append(self, payload: bytes) -> SpooledRecord:
        """Append one record (into the kernel's cache; :meth:`sync` makes it durable)."""
        rec = encode_record(payload)
        if self.size_bytes + len(rec) > self.max_bytes:
            self._make_room(len(rec))
        start = self.end
        view = memoryview(rec)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]
        self._sizes[self._active] += len(rec)
        self._dirty = True
        end = self.end
        if end.offset >= self.segment_bytes:
            self._rotate()
        return SpooledRecord(start, end, payload)

    def sync(self) -> bool:
        """fsync what was appended since the last sync; returns whether there was anything."""
        if not self._dirty:
            return False
        os.fsync(self._fd)
        self._dirty = False
        return True

    def _create(self, seq: int) -> int:
        fd = os.open(self._path(seq), os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_TRUNC, 0o640)
        self._sizes[seq] = 0
        self._sync_dir()
        return fd

    def _rotate(self) -> None:
        self.sync()
        os.close(self._fd)
        self._active += 1
        self._fd = self._create(self._active)

    def _make_room(self, need: int) -> None:
        if self._sizes[self._active]:
            self._rotate()
        while self.size_bytes + need > self.max_bytes:
            oldest = next(iter(self._sizes))
            if oldest == self._active:
                return  # only the (empty) active segment is left: a record bigger than the cap still goes in
            records = decode(self._path(oldest).read_bytes()).records
            start = self._acked.offset if oldest == self._acked.segment else 0
            lost = [r for r in records if r.offset >= start]
            lines = sum(batch.points(r.payload) for r in lost)
            self._dropped_records += len(lost)
            self._dropped_lines += lines
            log.error(
                "%s: SPOOL FULL (%d bytes, cap %d): dropping the oldest segment %s with %d unsent records "
                "(%d points) — InfluxDB has been unreachable too long or max_bytes is too small",
                self.name,
                self.size_bytes,
                self.max_bytes,
                self._path(oldest).name,
                len(lost),
                lines,
            )
            self._write_ack(max(self._acked, Position(oldest + 1, 0)))
            self._delete(oldest)

    # --- reading and acknowledging -----------------------------------------------------------------

    def read_next(self, cursor: Position) -> SpooledRecord | None:
        """The first record at or after ``cursor`` (damaged tails skipped); ``None`` if none yet."""
        cursor = max(cursor, self._acked)
        while True:
            seq = cursor.segment
            if seq not in self._sizes:
                later = [s for s in self._sizes if s > seq]
                if not later:
                    return None
                cursor = Position(later[0], 0)
                continue
            if cursor.offset < self._sizes[seq]:
                got = self._read_at(cursor)
                if isinstance(got, Record):
                    return SpooledRecord(cursor, Position(seq, got.end), got.payload)
                log.error(
                    "%s: %s record at %s:%d (%d bytes after it) — skipping the rest of that segment",
                    self.name,
                    got.value,
                    self._path(seq).name,
                    cursor.offset,
                    self._sizes[seq] - cursor.offset,
                )
                if seq == self._active:
                    self._rotate()
            elif seq == self._active:
                return None
            cursor = Position(seq + 1, 0)

    def next_or_end(self, cursor: Position) -> SpooledRecord | Position:
        """:meth:`read_next`, or — when there is nothing more — the journal's :attr:`end` at that moment."""
        rec = self.read_next(cursor)
        return self.end if rec is None else rec

    def _read_at(self, pos: Position) -> Record | Tail:
        if self._reading is None or self._reading[0] != pos.segment:
            self._close_reader()
            self._reading = (pos.segment, os.open(self._path(pos.segment), os.O_RDONLY))
        fd = self._reading[1]
        header = os.pread(fd, HEADER_SIZE, pos.offset)
        if len(header) == HEADER_SIZE:
            length = int.from_bytes(header[:4], "little")
            if 0 < length <= self._sizes[pos.segment] - pos.offset - HEADER_SIZE:
                header += os.pread(fd, length, pos.offset + HEADER_SIZE)
        got = decode_one(header, 0)
        if isinstance(got, Record):
            return Record(pos.offset, pos.offset + got.end, got.payload)
        if got is Tail.CLEAN:  # cannot happen for an offset inside the segment; be safe
            return Tail.TORN
        return got

    def ack(self, end: Position) -> None:
        """Everything before ``end`` reached the server: persist that and delete finished segments."""
        if end <= self._acked:
            return
        self._write_ack(end)
        for seq in list(self._sizes):
            if seq == self._active:
                break
            if seq < end.segment or (seq == end.segment and end.offset >= self._sizes[seq]):
                self._delete(seq)

    def _read_ack(self) -> Position:
        try:
            buf = (self.dir / "ack").read_bytes()
        except FileNotFoundError:
            return Position(0, 0)
        pos = decode_ack(buf)
        if pos is None:
            log.error("%s: %s/ack is damaged: replaying everything in the spool", self.name, self.dir)
            return Position(0, 0)
        return pos

    def _write_ack(self, pos: Position) -> None:
        tmp = self.dir / "ack.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
        try:
            os.write(fd, encode_ack(pos))
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, self.dir / "ack")
        self._sync_dir()
        self._acked = pos

    # --- files -------------------------------------------------------------------------------------

    def _path(self, seq: int) -> Path:
        return self.dir / f"{seq:016d}{_SUFFIX}"

    def _delete(self, seq: int) -> None:
        if self._reading is not None and self._reading[0] == seq:
            self._close_reader()
        self._path(seq).unlink(missing_ok=True)
        del self._sizes[seq]

    def _close_reader(self) -> None:
        if self._reading is not None:
            os.close(self._reading[1])
            self._reading = None

    def _sync_dir(self) -> None:
        fd = os.open(self.dir, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def close(self) -> None:
        """fsync and close; the active segment is removed when it holds nothing unacknowledged."""
        self.sync()
        os.close(self._fd)
        self._close_reader()
        if self._sizes[self._active] == 0 or self._acked >= self.end:
            self._path(self._active).unlink(missing_ok=True)
            del self._sizes[self._active]
