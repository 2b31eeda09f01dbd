"""The writer port and the classification of a write's outcome (pure).

A write either succeeds (:class:`Written`), is refused for its data (:class:`Rejected`: logged and
dropped, never retried — in part, for a *partial write*, where the server stored the good points),
is too large for the server (:class:`TooLarge`, HTTP 413: :func:`write_splitting` sends it again in
halves), or fails for a reason that may pass (:class:`RetryableWriteError`: the batch stays in the spool
and is sent again later).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Written:
    lines: int


@dataclass(frozen=True, slots=True)
class Rejected:
    """The server refused (some of) the batch's data (4xx): what it said, the first line it complained
    about, how many points it refused (``lines``) and how many it stored all the same (``stored``: a
    partial write — InfluxDB keeps the good points of a batch and says ``partial write: … dropped=N``)."""

    status: int
    message: str
    first_bad_line: str
    lines: int
    stored: int = 0


@dataclass(frozen=True, slots=True)
class TooLarge:
    """HTTP 413: the body is over the server's limit (InfluxDB 1.x ``max-body-size``); nothing was stored."""

    lines: int
    message: str = ""


WriteOutcome = Written | Rejected | TooLarge


class RetryableWriteError(Exception):
    """The write did not happen but may succeed later (refused, timeout, 5xx, 429, auth, no database)."""

    def __init__(self, reason: str, status: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


class LineWriter(Protocol):
    """Sends one batch of line protocol (blocking; the sink runs it in a worker thread)."""

    @property
    def name(self) -> str: ...

    def write(self, body: bytes, points: int) -> WriteOutcome:
        """Send ``body`` (``points`` lines joined by ``\\n``); raises :class:`RetryableWriteError`."""
        ...

    def close(self) -> None: ...


RETRY_STATUSES = frozenset({408, 429})
"""4xx answers that are about the moment, not the data."""
DESTINATION_STATUSES = frozenset({401, 403, 404})
"""4xx answers about where we write (credentials, missing database/bucket): the data is fine, so it is
kept and retried (with backoff and a loud log) rather than dropped while someone fixes the config."""


def classify(status: int, message: str, body: bytes, lines: int) -> WriteOutcome:
    """The outcome of an HTTP answer to a write of ``body`` (``lines`` points); may raise
    :class:`RetryableWriteError`."""
    if 200 <= status < 300:
        return Written(lines)
    message = error_text(message)
    short = message.strip()[:500]
    if status >= 500 or status in RETRY_STATUSES or status in DESTINATION_STATUSES or status < 200:
        raise RetryableWriteError(f"HTTP {status}: {short}", status)
    if status == TOO_LARGE:
        return TooLarge(lines, short)
    refused = refused_points(message, lines)
    return Rejected(status, short, first_bad_line(body, message), refused, lines - refused)


TOO_LARGE = 413
_PARTIAL = re.compile(r"partial write\b")
_DROPPED = re.compile(r"\bdropped=(\d+)")


def refused_points(message: str, lines: int) -> int:
    """How many of the batch's ``lines`` points a 4xx answer refused.

    InfluxDB stores the good points of a batch and answers ``partial write: <why> dropped=N``: ``N`` points
    failed the write (field type conflict, beyond the retention policy…), and lines it could not parse at all
    are named one ``unable to parse '…'`` each, outside ``N`` (1.x: ``partial write: unable to parse 'x': …
    dropped=0`` stored the other lines). Without ``partial write`` nothing was stored: every point refused.
    (When a batch has both, InfluxDB 1.6 names only the write failures: unparsable lines then count as stored.)
    """
    if not _PARTIAL.search(message):
        return lines
    dropped = sum(int(n) for n in _DROPPED.findall(message))
    unparsable = len(_UNABLE_TO_PARSE.findall(message))
    return max(0, min(lines, dropped + unparsable))


def write_splitting(write: Callable[[bytes, int], WriteOutcome], body: bytes, points: int) -> list[WriteOutcome]:
    """``write(body, points)``; a :class:`TooLarge` answer is sent again as two halves (recursively), so a
    batch over the server's body limit is stored, not dropped. A single line still too large is
    :class:`Rejected` (413). Never returns :class:`TooLarge`; lets :class:`RetryableWriteError` through (the
    whole batch is then retried later: the halves already written are written again, which InfluxDB stores
    once — same series and time)."""
    outcome = write(body, points)
    if not isinstance(outcome, TooLarge):
        return [outcome]
    lines = body.split(b"\n")
    if len(lines) <= 1:
        line = body.decode(errors="replace")
        reason = f"{outcome.message or 'request entity too large'} (one line of {len(body)} bytes)"
        return [Rejected(TOO_LARGE, reason, line, 1)]
    half = len(lines) // 2
    first, second = b"\n".join(lines[:half]), b"\n".join(lines[half:])
    return [*write_splitting(write, first, half), *write_splitting(write, second, len(lines) - half)]


def error_text(message: str) -> str:
    """The ``error``/``message`` of a JSON error body (InfluxDB 1.x and 2.x), else the body itself."""
    try:
        doc = json.loads(message)
    except ValueError:
        return message
    if isinstance(doc, dict):
        for key in ("error", "message"):
            if isinstance(doc.get(key), str):
                return str(doc[key])
    return message


_UNABLE_TO_PARSE = re.compile(r"unable to parse '(.*?)': ", re.DOTALL)
_TYPE_CONFLICT = re.compile(r'field "(?P<field>[^"]+)" on measurement "(?P<measurement>[^"]+)"')


def first_bad_line(body: bytes, message: str) -> str:
    """The first line of ``body`` the server's ``message`` points at (else the batch's first line)."""
    m = _UNABLE_TO_PARSE.search(message)
    if m:
        return m.group(1)
    m = _TYPE_CONFLICT.search(message)
    if m:
        measurement = m.group("measurement").replace(" ", r"\ ").replace(",", r"\,").encode()
        field = m.group("field").replace(" ", r"\ ").replace(",", r"\,").replace("=", r"\=").encode()
        for line in body.split(b"\n"):
            head, sep, rest = line.partition(b" ")
            while head.endswith(b"\\") and sep:  # an escaped space inside the series key
                more, sep, rest = rest.partition(b" ")
                head += b" " + more
            name = re.split(rb"(?<!\\),", head, maxsplit=1)[0]
            if name == measurement and (rest.startswith(field + b"=") or b"," + field + b"=" in rest):
                return line.decode(errors="replace")
    first = body.split(b"\n", 1)[0].decode(errors="replace")
    return f"{first} (first line of the batch)"
