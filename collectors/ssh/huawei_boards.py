"""Huawei SmartAX: which GPON ports an OLT has, from its CLI (pure) — for OLTs whose inventory lists none.

1. ``display board 0`` (frame 0; privileged mode): the slot table ``SlotID BoardName Status ...``. GPON
   service boards are the ones whose name ends in ``GP`` + two letters (``H901GPHF``, ``H807GPBD``,
   ``H805GPFD``, ``H806GPBH``...). A board whose status is not ``Normal`` (``Failed``, ``Auto_find``,
   ``Offline``...) is left out and reported: its ports cannot be read.
2. ``display port state all`` inside ``interface gpon 0/S`` for each of those boards: one ``F/S/P`` block per
   port (the board's real port count: 8 on a GPBD, 16 on a GPFD/GPHF).

Frames other than 0 (multi-shelf MA5600T) are not discovered: list their ports in the inventory.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from collectors.ssh.answers import Answer, unexpected
from collectors.ssh.huawei_olt import Pon, parse_pon
from collectors.ssh.textfsm_parse import clean

BOARDS_COMMAND: Final = "display board 0"
PORTS_COMMAND: Final = "display port state all"

_HEADER: Final = re.compile(r"^\s*SlotID\s+BoardName\s+Status", re.IGNORECASE | re.MULTILINE)
_ROW: Final = re.compile(r"^[ \t]*(\d+)[ \t]+(\S+)[ \t]+(\S+)", re.MULTILINE)
_GPON_BOARD: Final = re.compile(r"GP[A-Z]{2}$")
_PORT: Final = re.compile(r"^[ \t]*F/S/P[ \t]+(\d+[ \t]*/[ \t]*\d+[ \t]*/[ \t]*\d+)[ \t]*$", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class Board:
    """One row of ``display board 0``."""

    frame: int
    slot: int
    name: str
    status: str

    @property
    def gpon(self) -> bool:
        return bool(_GPON_BOARD.search(self.name))

    @property
    def normal(self) -> bool:
        """``Normal`` (service boards), ``Active_normal`` / ``Standby_normal`` (control boards)."""
        return self.status.lower().endswith("normal")

    @property
    def interface(self) -> str:
        """``F/S``, as ``interface gpon F/S`` takes it."""
        return f"{self.frame}/{self.slot}"


def read_boards(answer: Answer, frame: int = 0) -> tuple[Board, ...]:
    """``display board 0`` → the occupied slots (empty slots are skipped); raises
    :class:`~collectors.ssh.answers.AnswerError` when the answer has no slot table."""
    text = clean(answer.text)
    header = _HEADER.search(text)
    if header is None:
        raise unexpected(answer, "the 'SlotID BoardName Status' table")
    return tuple(Board(frame, int(mt[1]), mt[2], mt[3]) for mt in _ROW.finditer(text, header.end()))


def gpon_boards(boards: Iterable[Board]) -> tuple[list[Board], list[Board]]:
    """(GPON boards in service, GPON boards not ``Normal``)."""
    gpon = [b for b in boards if b.gpon]
    return [b for b in gpon if b.normal], [b for b in gpon if not b.normal]


def read_ports(answer: Answer) -> tuple[Pon, ...]:
    """``display port state all`` (in ``interface gpon F/S``) → the board's ports; raises when none is listed."""
    pons = tuple(p for p in (parse_pon(mt[1]) for mt in _PORT.finditer(clean(answer.text))) if p is not None)
    if not pons:
        raise unexpected(answer, "'F/S/P' lines of the board's ports")
    return pons
