"""The ``ssh_onu`` job's commands on a Huawei SmartAX session (blocking I/O; runs in the pool's worker thread).

Order on the device: ``display ont info F S P all`` per PON (privileged mode); ``display ont info F S P ID``
for offline ONTs (their ``Last down cause``; at most ``max_details`` a poll); then per board ``interface gpon
F/S`` → ``display ont optical-info P all`` per port → back. OLTs without listed PON ports first discover them
(:func:`discover_pons`). Answers are returned raw; parsing is pure (:mod:`collectors.ssh.huawei_olt`), except
that the state tables are read here to know which ONTs are offline (an answer in no known shape fails here).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from collectors.ssh.answers import KIND_DEVICE, Answer, AnswerError
from collectors.ssh.huawei_boards import BOARDS_COMMAND, PORTS_COMMAND, Board, gpon_boards, read_boards, read_ports
from collectors.ssh.huawei_olt import (
    Pon,
    PonAnswers,
    detail_command,
    info_command,
    offline_onts,
    optical_command,
    read_info,
)
from collectors.ssh.session import CliSession

MAX_DETAILS: Final = 32
"""Per-ONT ``display ont info`` commands a poll spends on down causes (about 0.25 s each)."""


@dataclass(frozen=True, slots=True)
class OltAnswers:
    """The answers of one ``ssh_onu`` run, and how many offline ONTs' causes were not asked (over budget)."""

    pons: tuple[PonAnswers, ...]
    causes_skipped: int = 0


@dataclass(frozen=True, slots=True)
class Discovery:
    """PON ports found on the OLT's GPON boards, and the GPON boards left out (not ``Normal``)."""

    pons: tuple[Pon, ...]
    boards_down: tuple[Board, ...] = ()


def ask(session: CliSession, command: str) -> Answer:
    return Answer(command, session.send_command(command))


def discover_pons(session: CliSession) -> Discovery:
    """``display board 0`` → GPON boards in service → ``display port state all`` in each board's GPON mode.

    Raises :class:`~collectors.ssh.answers.AnswerError` on an unexpected answer, or when no GPON port is found."""
    in_service, down = gpon_boards(read_boards(ask(session, BOARDS_COMMAND)))
    pons: list[Pon] = []
    for board in in_service:
        session.enter_interface("gpon", board.interface)
        try:
            pons += read_ports(ask(session, PORTS_COMMAND))
        finally:
            session.exit_interface()
    if not pons:
        boards = ", ".join(f"{b.interface} {b.name} {b.status}" for b in down) or "none"
        raise AnswerError(KIND_DEVICE, BOARDS_COMMAND, f"no GPON board in service (not Normal: {boards})",
                          "a GPON board in service")
    return Discovery(tuple(pons), tuple(down))


def fetch_pons(session: CliSession, pons: Iterable[Pon], max_details: int = MAX_DETAILS) -> OltAnswers:
    """Every answer the ``ssh_onu`` samples are built from, for ``pons``."""
    ordered = sorted(set(pons))
    info = {p: ask(session, info_command(p)) for p in ordered}
    details: dict[Pon, list[tuple[int, Answer]]] = {}
    skipped = 0
    for p in ordered:
        states, _totals = read_info(info[p])
        for pon, onu_id in offline_onts(states):
            if pon != p:
                continue
            if sum(len(v) for v in details.values()) >= max_details:
                skipped += 1
                continue
            details.setdefault(p, []).append((onu_id, ask(session, detail_command(p, onu_id))))
    optical: dict[Pon, Answer] = {}
    for board in dict.fromkeys(p.board for p in ordered):
        session.enter_interface("gpon", board)
        try:
            for p in ordered:
                if p.board == board:
                    optical[p] = ask(session, optical_command(p))
        finally:
            session.exit_interface()
    return OltAnswers(tuple(PonAnswers(p, info[p], optical[p], tuple(details.get(p, ()))) for p in ordered), skipped)
