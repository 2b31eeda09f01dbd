"""Record framing of the spool journal (pure): length prefix + CRC32, and a tolerant decoder.

A record on disk is ``<u32 length><u32 crc><payload>`` (little-endian), where ``crc`` is the CRC32
of the length bytes followed by the payload, so a torn or bit-flipped length is caught as well as a
damaged payload. Empty payloads are not allowed (a zero-filled tail never decodes as a record).
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from enum import StrEnum

HEADER = struct.Struct("<II")
HEADER_SIZE = HEADER.size
MAX_PAYLOAD = (1 << 31) - 1


class Tail(StrEnum):
    """How a decoded buffer ends."""

    CLEAN = "clean"  # ends exactly after the last good record
    TORN = "torn"  # a record started but the buffer ends before its last byte (crash mid-write)
    CORRUPT = "corrupt"  # a complete-looking record whose CRC does not match (or an invalid length)


@dataclass(frozen=True, slots=True)
class Record:
    offset: int  # where the record's header starts
    end: int  # offset just past the record
    payload: bytes


@dataclass(frozen=True, slots=True)
class Decoded:
    records: tuple[Record, ...]
    end: int  # offset just past the last good record
    tail: Tail


def encode_record(payload: bytes) -> bytes:
    if not payload:
        raise ValueError("a spool record needs a non-empty payload")
    if len(payload) > MAX_PAYLOAD:
        raise ValueError(f"spool record too large: {len(payload)} bytes")
    length = len(payload).to_bytes(4, "little")
    return HEADER.pack(len(payload), zlib.crc32(payload, zlib.crc32(length))) + payload


def decode_one(buf: bytes | memoryview, offset: int) -> Record | Tail:
    """The record at ``offset``, or why there is none (``CLEAN`` = nothing there at all)."""
    size = len(buf)
    if offset >= size:
        return Tail.CLEAN
    if offset + HEADER_SIZE > size:
        return Tail.TORN
    length, crc = HEADER.unpack_from(buf, offset)
    if length == 0 or length > MAX_PAYLOAD:
        return Tail.CORRUPT
    start = offset + HEADER_SIZE
    end = start + length
    if end > size:
        return Tail.TORN
    payload = bytes(buf[start:end])
    if zlib.crc32(payload, zlib.crc32(length.to_bytes(4, "little"))) != crc:
        return Tail.CORRUPT
    return Record(offset, end, payload)


def decode(buf: bytes | memoryview, offset: int = 0) -> Decoded:
    """All good records from ``offset`` on; stops at the first torn or corrupt one."""
    records: list[Record] = []
    while True:
        got = decode_one(buf, offset)
        if isinstance(got, Tail):
            return Decoded(tuple(records), offset, got)
        records.append(got)
        offset = got.end
