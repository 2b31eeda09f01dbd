"""The writer port and the classification of a write's outcome (pure).

A write either succeeds (:class:`Written`), is refused for its data (:class:`Rejected`: logged and
dropped, never retried), or fails for a reason that may pass (:class:`RetryableWriteError`: the batch
stays in the spool and is sent again later).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Written:
    lines: int


@dataclass(frozen=True, slots=True)
class Rejected:
    """The server refused the batch's data (4xx): what it said and the first line it complained about."""

    status: int
    message: str
    first_bad_line: str
    lines: int


WriteOutcome = Written | Rejected


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
    return Rejected(status, short, first_bad_line(body, message), lines)


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
