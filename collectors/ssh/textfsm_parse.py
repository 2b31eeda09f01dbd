"""Run this package's TextFSM templates over CLI output (pure), after removing paging and terminal artefacts."""

from __future__ import annotations

import io
import re
from functools import cache
from importlib import resources
from typing import Final

import textfsm  # type: ignore[import-untyped]

_ANSI: Final = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_MORE: Final = re.compile(r"-+\s*More\b[^\n]*?-+", re.IGNORECASE)
"""A pager prompt left in the text: ``---- More ----`` or ``---- More ( Press 'Q' to break ) ----``."""


def clean(text: str) -> str:
    """CLI output without ANSI sequences, pager prompts, carriage returns or trailing blanks.

    >>> clean("  0  -20.1\\r\\n  ---- More ( Press 'Q' to break ) ----\\x1b[37D  1  -21.2")
    '  0  -20.1\\n  1  -21.2'
    """
    text = _ANSI.sub("", text.replace("\r", ""))
    text = _MORE.sub("", text)
    lines = [line.rstrip() for line in text.split("\n")]
    return "\n".join(line for line in lines if line.strip() or not line)


@cache
def _template_text(name: str) -> str:
    return resources.files(__package__).joinpath("templates").joinpath(name).read_text(encoding="utf-8")


def parse_template(name: str, text: str) -> list[dict[str, str]]:
    """Parse ``text`` with the template ``templates/<name>``: one dict per record, column names as keys."""
    fsm = textfsm.TextFSM(io.StringIO(_template_text(name)))
    rows = fsm.ParseText(clean(text))
    header = list(fsm.header)
    return [{k: str(v) for k, v in zip(header, row, strict=True)} for row in rows]


def number(text: str) -> float | None:
    """A reading as a float; ``-``, ``--``, ``N/A`` or anything not a number is no reading (None)."""
    try:
        return float(text)
    except ValueError:
        return None


def integer(text: str) -> int | None:
    """A reading as an int (``"171"`` → 171); no reading → None."""
    f = number(text)
    return int(f) if f is not None and f.is_integer() else None
