"""A parsed ``.snmprec`` recording and an in-memory :class:`SnmpClient` that answers from it.

This is a test double of OUR port (``collectors.model.SnmpClient``), fed with recorded real
device answers; the real transport (pysnmp against snmpsim) is tested separately.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from collectors.model import SnmpError, SnmpValue

_INT_TAGS = frozenset({"2", "65", "66", "67", "70"})
_ESCAPES = {"\\": 92, "'": 39, '"': 34, "a": 7, "b": 8, "f": 12, "n": 10, "r": 13, "t": 9, "v": 11}


def _oid_key(oid: str) -> tuple[int, ...]:
    return tuple(int(p) for p in oid.split("."))


def _unescape(text: str) -> bytes:
    """Decode snmpsim's ``e`` encoding (a Python-style escaped string), e.g. ``\\x00A`` -> b'\\x00A'."""
    out = bytearray()
    i = 0
    while i < len(text):
        ch = text[i]
        if ch != "\\":
            out.append(ord(ch) & 0xFF)
            i += 1
            continue
        nxt = text[i + 1]
        if nxt == "x":
            out.append(int(text[i + 2 : i + 4], 16))
            i += 4
        else:
            out.append(_ESCAPES[nxt])
            i += 2
    return bytes(out)


def decode(tag: str, raw: str) -> SnmpValue | None:
    """Decode one record's TYPE and VALUE to the port's value types (``None`` for Null).

    >>> decode("4x", "4142")
    b'AB'
    """
    tag = tag.split(":", 1)[0]  # "70:numeric" -> "70" (variation modules: keep the recorded value)
    base, enc = (tag[:-1], tag[-1]) if tag[-1:] in ("x", "e") else (tag, "")
    if enc == "x":
        data = bytes.fromhex(raw)
    elif enc == "e":
        data = _unescape(raw)
    else:
        data = raw.encode("iso-8859-1")
    if base in _INT_TAGS:
        return int(data.decode("ascii"))
    if base in ("4", "68"):
        return data
    if base == "6":
        return data.decode("ascii").lstrip(".")
    if base == "64":
        return str(ipaddress.IPv4Address(data)) if enc else data.decode("ascii")
    if base == "5":
        return None
    raise ValueError(f"unknown snmprec type tag {tag!r}")


@dataclass(frozen=True, slots=True)
class Recording:
    """A recording: ``{oid: value}`` plus the OIDs in SNMP (numeric) order."""

    values: Mapping[str, SnmpValue]
    order: tuple[str, ...]

    def subtree(self, prefix: str) -> dict[str, SnmpValue]:
        """``{suffix: value}`` of every OID under ``prefix`` (suffix without the prefix)."""
        start = prefix + "."
        return {oid[len(start) :]: self.values[oid] for oid in self.order if oid.startswith(start)}

    def with_rows(self, rows: Mapping[str, SnmpValue]) -> Recording:
        """A copy with some OIDs added or replaced."""
        merged = {**self.values, **rows}
        return Recording(merged, tuple(sorted(merged, key=_oid_key)))


def parse_snmprec(lines: Iterable[str]) -> Recording:
    """Parse ``OID|TYPE|VALUE`` lines (blank lines and ``#`` comments skipped)."""
    values: dict[str, SnmpValue] = {}
    for n, line in enumerate(lines, 1):
        line = line.rstrip("\r\n")
        if not line or line.startswith("#"):
            continue
        try:
            oid, tag, raw = line.split("|", 2)
            value = decode(tag, raw)
        except (ValueError, KeyError, IndexError) as exc:
            raise ValueError(f"line {n}: bad record {line[:80]!r}: {exc}") from exc
        if value is not None:
            values[oid.lstrip(".")] = value
    return Recording(values, tuple(sorted(values, key=_oid_key)))


def merge_snmprec(base: str, extra: str) -> str:
    """``base``'s records (``.snmprec`` text) with ``extra``'s added or replacing the same OID, in OID order
    (as snmpsim needs)."""
    rows: dict[str, str] = {}
    for line in (base + "\n" + extra).splitlines():
        if line.strip() and not line.startswith("#"):
            rows[line.split("|", 1)[0]] = line
    return "\n".join(sorted(rows.values(), key=lambda r: _oid_key(r.split("|", 1)[0]))) + "\n"


def load_snmprec(path: Path) -> Recording:
    """Read a ``.snmprec`` file (decoded as ISO-8859-1, as snmpsim does)."""
    return parse_snmprec(path.read_text(encoding="iso-8859-1").splitlines())


class RecordingClient:
    """An :class:`collectors.model.SnmpClient` answering from a :class:`Recording` (no network)."""

    def __init__(self, recording: Recording, *, fail: str | None = None) -> None:
        self._rec = recording
        self._fail = fail
        self._varbinds = 0
        self.requests: list[tuple[str, tuple[str, ...]]] = []

    def _check(self, op: str, oids: Sequence[str]) -> None:
        self.requests.append((op, tuple(oids)))
        if self._fail is not None:
            raise SnmpError(self._fail, "recording client told to fail")

    async def get(self, oids: Sequence[str]) -> dict[str, SnmpValue]:
        self._check("get", oids)
        found = {oid: self._rec.values[oid] for oid in oids if oid in self._rec.values}
        self._varbinds += len(found)
        return found

    async def walk(self, column: str) -> dict[str, SnmpValue]:
        self._check("walk", (column,))
        rows = self._rec.subtree(column)
        self._varbinds += len(rows)
        return rows

    async def walk_table(self, columns: Sequence[str]) -> dict[str, dict[str, SnmpValue]]:
        self._check("walk_table", columns)
        out = {c: self._rec.subtree(c) for c in columns}
        self._varbinds += sum(len(v) for v in out.values())
        return out

    @property
    def varbinds(self) -> int:
        return self._varbinds

    @property
    def pdus(self) -> int:
        """One per call (a recording has no PDUs; a walk counts as one)."""
        return len(self.requests)

    async def close(self) -> None:
        return None
