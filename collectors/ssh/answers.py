"""A command with the device's answer, and the error for an answer the parsers do not recognise (pure).

A CLI answer is either in the shape a parser expects, or one of the vendor's documented "nothing here" texts,
or it is an error. An error is never read as "zero rows" (an OLT's ``% Unknown command`` is not an empty PON):
the poll fails with :class:`AnswerError`, whose :meth:`~AnswerError.reason` names the device, the command and
the answer's first line:

- ``device: ...`` — the device said no (``% ...``, ``Failure: ...``, ``Error: ...``);
- ``parse: ...`` — an empty answer, or text in no shape we know (a new firmware's layout, a cut-off answer).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from collectors.ssh.textfsm_parse import clean

KIND_DEVICE: Final = "device"
KIND_PARSE: Final = "parse"

_DEVICE_ERROR: Final = re.compile(r"^\s*(%|Failure\s*:|Error\s*:|Unknown command|Invalid input)", re.IGNORECASE)
_MAX_LINE: Final = 120


@dataclass(frozen=True, slots=True)
class Answer:
    """What the device printed for one command (raw, as netmiko returned it)."""

    command: str
    text: str


def first_line(text: str) -> str:
    """The answer's first line with words, stripped and cut to 120 characters ("" for an empty answer); the
    ``^`` marker line Huawei and Cisco print above ``% Unknown command...`` / ``% Invalid input...`` is skipped."""
    for line in clean(text).splitlines():
        if line.strip(" \t^"):
            return line.strip()[:_MAX_LINE]
    return ""


def is_device_error(text: str) -> bool:
    """Whether the answer's first line is the device refusing the command (``% ...``, ``Failure: ...``)."""
    return bool(_DEVICE_ERROR.match(first_line(text)))


class AnswerError(Exception):
    """An answer that is neither the expected table nor a documented "nothing here" text."""

    def __init__(self, kind: str, command: str, line: str, expected: str) -> None:
        super().__init__(f"{kind}: {command!r}: {line or '(empty answer)'} (expected {expected})")
        self.kind = kind
        self.command = command
        self.line = line
        self.expected = expected

    def reason(self, device: str) -> str:
        """``PollResult.error``: ``device: olt-1: 'display ont info 0 1 0 all': % Unknown command...``."""
        return f"{self.kind}: {device}: {self.command!r}: {self.line or '(empty answer)'}"


def unexpected(answer: Answer, expected: str) -> AnswerError:
    """The error for ``answer`` when it is not in the shape ``expected`` describes."""
    kind = KIND_DEVICE if is_device_error(answer.text) else KIND_PARSE
    return AnswerError(kind, answer.command, first_line(answer.text), expected)
