"""A batch of line protocol as stored in one spool record (pure): ``<u32 points><lines joined by \\n>``.

The count is stored because a string field may itself contain a newline, so lines cannot be counted.
"""

from __future__ import annotations

from collections.abc import Sequence

_COUNT = 4


def pack(lines: Sequence[str]) -> bytes:
    return len(lines).to_bytes(_COUNT, "little") + "\n".join(lines).encode()


def points(payload: bytes) -> int:
    return int.from_bytes(payload[:_COUNT], "little")


def body(payload: bytes) -> bytes:
    return payload[_COUNT:]
