"""Huawei SmartAX OLT CLI answers → ``onu`` and ``pon_port`` samples (pure).

Commands (real MA5600T/MA5608T/MA5800 formats, see ``docs/ssh.md``):

- ``display ont info <F> <S> <P> all`` (privileged or config mode): run state, serial, control flag, and the
  port's ``the total of ONTs are: N, online: M`` line;
- ``display ont info <F> <S> <P> <ID>`` (one ONT, key : value lines): its ``Last down cause`` — asked for
  offline ONTs only;
- ``display ont optical-info <P> all`` inside ``interface gpon <F>/<S>``: ONU Rx/Tx, OLT Rx, temperature,
  voltage, bias current and (MA5800, newer MA5600T) distance. Offline ONTs read ``-``: those fields are absent.

A port with no ONT answers ``Failure: The ONT does not exist`` to both: no rows, totals 0. Any other answer
that is not the expected table (``% Unknown command``, ``Failure: The board does not exist``, ``% Parameter
error``, an empty answer) raises :class:`~collectors.ssh.answers.AnswerError`: never a false "empty PON".
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from collectors import measurements as m
from collectors.model import FieldValue, Sample
from collectors.snmp.decoders import gpon_serial
from collectors.ssh.answers import Answer, first_line, unexpected
from collectors.ssh.textfsm_parse import clean, integer, number, parse_template

OPTICAL_TEMPLATE: Final = "huawei_smartax_display_ont_optical-info.textfsm"
INFO_TEMPLATE: Final = "huawei_smartax_display_ont_info.textfsm"

STATUS_ONLINE: Final = 1
STATUS_OFFLINE: Final = 2

_PON_RE: Final = re.compile(r"^(?:x?gpon[\s_-]*)?(\d+)\s*/\s*(\d+)\s*/\s*(\d+)$", re.IGNORECASE)
_TOTALS_RE: Final = re.compile(
    r"In\s+port\s+(\d+\s*/\s*\d+\s*/\s*\d+)\s*,\s*the\s+total\s+of\s+ONTs\s+(?:is|are):\s*(\d+)"
    r"(?:\s*,\s*online:\s*(\d+))?",
    re.IGNORECASE,
)
NO_ONT_TEXTS: Final = (re.compile(r"^Failure:\s*The ONT does not exist\b", re.IGNORECASE),)
"""The vendor's answers for "no ONT here" (first line): the only answers that mean zero ONTs."""
_INFO_HEADER: Final = re.compile(r"^\s*F/S/P\s+ONT\s+SN\s+Control", re.IGNORECASE | re.MULTILINE)
_OPTICAL_HEADER: Final = re.compile(r"^\s*ONT\s+Rx\s*power\s+Tx\s*power", re.IGNORECASE | re.MULTILINE)
_KEY_VALUE: Final = re.compile(r"^[ \t]*([A-Za-z][A-Za-z0-9 /()_.-]*?)[ \t]*:[ \t]*(.*?)[ \t]*$", re.MULTILINE)

DOWN_CAUSES: Final = {"los": "los", "losi": "losi", "losi/lobi": "losi", "dying-gasp": "dying_gasp"}
"""CLI ``Last down cause`` → the SNMP path's names (profile ``huawei_smartax``: 1 los, 2 losi, 13 dying_gasp);
any other cause is kept as lower-case words joined by ``_`` (``ONT reset`` → ``ont_reset``)."""


@dataclass(frozen=True, slots=True, order=True)
class Pon:
    """A GPON port by frame/slot/port."""

    frame: int
    slot: int
    port: int

    def __str__(self) -> str:
        return f"{self.frame}/{self.slot}/{self.port}"

    @property
    def board(self) -> str:
        """``F/S``, as ``interface gpon F/S`` takes it."""
        return f"{self.frame}/{self.slot}"

    @property
    def ifindex(self) -> int:
        """The PON port's ifIndex in HUAWEI-XPON-MIB: ``(125<<25) + (F<<19) + (S<<13) + (P<<8)``."""
        return (125 << 25) + (self.frame << 19) + (self.slot << 13) + (self.port << 8)


def parse_pon(text: str) -> Pon | None:
    """``"0/1/3"``, ``"0/ 1/3"``, ``"GPON 0/1/3"`` → :class:`Pon`; anything else → None."""
    mt = _PON_RE.match(text.strip())
    return Pon(int(mt[1]), int(mt[2]), int(mt[3])) if mt else None


@dataclass(frozen=True, slots=True)
class OntState:
    """One row of ``display ont info F S P all``."""

    pon: Pon
    onu_id: int
    serial: str
    """As the SNMP path renders it (``HWTCA1B2C300``: vendor ID + hex), from the CLI's 16 hex digits."""
    status: int | None
    """1 online, 2 offline, None for a state we do not know."""
    control_flag: str


@dataclass(frozen=True, slots=True)
class OntOptics:
    """One row of ``display ont optical-info P all``; None = the device shows no reading."""

    onu_id: int
    rx_dbm: float | None = None
    tx_dbm: float | None = None
    olt_rx_dbm: float | None = None
    temperature_c: float | None = None
    voltage_v: float | None = None
    bias_ma: float | None = None
    distance_m: int | None = None


@dataclass(frozen=True, slots=True)
class PonTotals:
    """The ``In port F/S/P, the total of ONTs are: N, online: M`` line."""

    pon: Pon
    total: int
    online: int | None


@dataclass(frozen=True, slots=True)
class OntDetail:
    """What ``display ont info F S P ID`` says about one ONT (only what the samples use)."""

    pon: Pon
    onu_id: int
    status: int | None
    last_down_cause: str | None
    """Normalised (:func:`down_cause`); None when the device shows ``-`` (never down) or nothing."""


_RUN_STATE: Final = {"online": STATUS_ONLINE, "offline": STATUS_OFFLINE}


def info_command(pon: Pon) -> str:
    return f"display ont info {pon.frame} {pon.slot} {pon.port} all"


def detail_command(pon: Pon, onu_id: int) -> str:
    return f"display ont info {pon.frame} {pon.slot} {pon.port} {onu_id}"


def optical_command(pon: Pon) -> str:
    """Run inside ``interface gpon F/S`` (:attr:`Pon.board`)."""
    return f"display ont optical-info {pon.port} all"


def is_no_ont(text: str) -> bool:
    """Whether the answer is the vendor's "no ONT here" text."""
    line = first_line(text)
    return any(p.match(line) for p in NO_ONT_TEXTS)


def down_cause(text: str) -> str | None:
    """``Last down cause`` → the SNMP path's name (``LOS`` → ``los``, ``dying-gasp`` → ``dying_gasp``,
    ``LOSi/LOBi`` → ``losi``; others: lower-case words joined by ``_``); ``-`` or empty → None."""
    raw = text.strip().lower()
    if raw in ("", "-", "--"):
        return None
    return DOWN_CAUSES.get(raw) or re.sub(r"[^a-z0-9]+", "_", raw).strip("_") or None


def parse_ont_info(text: str) -> tuple[OntState, ...]:
    """``display ont info F S P all`` → one :class:`OntState` per ONT (empty for a port without ONTs)."""
    out = []
    for r in parse_template(INFO_TEMPLATE, text):
        pon = parse_pon(r["FSP"])
        if pon is None:
            continue
        out.append(
            OntState(
                pon=pon,
                onu_id=int(r["ONT_ID"]),
                serial=gpon_serial(r["SERIAL"]) or r["SERIAL"].upper(),
                status=_RUN_STATE.get(r["RUN_STATE"].lower()),
                control_flag=r["CONTROL_FLAG"],
            )
        )
    return tuple(out)


def parse_totals(text: str) -> PonTotals | None:
    """The port totals line of ``display ont info F S P all``, or None when it is not there."""
    mt = _TOTALS_RE.search(clean(text))
    if mt is None:
        return None
    pon = parse_pon(mt[1])
    if pon is None:
        return None
    return PonTotals(pon, int(mt[2]), int(mt[3]) if mt[3] is not None else None)


def read_info(answer: Answer) -> tuple[tuple[OntState, ...], PonTotals | None]:
    """``display ont info F S P all`` → (states, totals); the "no ONT" text → ((), None).

    Raises :class:`~collectors.ssh.answers.AnswerError` for any other answer without the state table."""
    if _INFO_HEADER.search(clean(answer.text)):
        return parse_ont_info(answer.text), parse_totals(answer.text)
    if is_no_ont(answer.text):
        return (), None
    raise unexpected(answer, "the ONT state table or 'Failure: The ONT does not exist'")


def read_optical(answer: Answer) -> tuple[OntOptics, ...]:
    """``display ont optical-info P all`` → rows; the "no ONT" text → (); anything else raises."""
    if _OPTICAL_HEADER.search(clean(answer.text)):
        return parse_optical_info(answer.text)
    if is_no_ont(answer.text):
        return ()
    raise unexpected(answer, "the ONT optical table or 'Failure: The ONT does not exist'")


def parse_ont_detail(pon: Pon, onu_id: int, text: str) -> OntDetail | None:
    """``display ont info F S P ID`` (``Key : value`` lines) → :class:`OntDetail`; None without an ``ONT-ID``."""
    values: dict[str, str] = {}
    for mt in _KEY_VALUE.finditer(clean(text)):
        values.setdefault(re.sub(r"\s+", " ", mt[1].strip().lower()), mt[2])
    if "ont-id" not in values:
        return None
    return OntDetail(
        pon=pon, onu_id=onu_id, status=_RUN_STATE.get(values.get("run state", "").lower()),
        last_down_cause=down_cause(values.get("last down cause", "")),
    )


def read_detail(pon: Pon, onu_id: int, answer: Answer) -> OntDetail | None:
    """One ONT's detail; the "no ONT" text (deleted since the table was read) → None; anything else raises."""
    detail = parse_ont_detail(pon, onu_id, answer.text)
    if detail is not None:
        return detail
    if is_no_ont(answer.text):
        return None
    raise unexpected(answer, "the ONT's 'Key : value' lines or 'Failure: The ONT does not exist'")


def parse_optical_info(text: str) -> tuple[OntOptics, ...]:
    """``display ont optical-info P all`` → one :class:`OntOptics` per listed ONT.

    >>> parse_optical_info('''
    ...   ONT  Rx power  Tx power  OLT Rx ONT  Temperature  Voltage  Current  Distance
    ...   ID   (dBm)     (dBm)     power(dBm)  (C)          (V)      (mA)     (m)
    ...     0  -24.68    3.68      -22.68      38           3.200    6        171
    ...     1  -         -         -           -            -        -        -
    ... ''')[0].rx_dbm
    -24.68
    """
    return tuple(
        OntOptics(
            onu_id=int(r["ONT_ID"]),
            rx_dbm=number(r["RX_POWER"]),
            tx_dbm=number(r["TX_POWER"]),
            olt_rx_dbm=number(r["OLT_RX_POWER"]),
            temperature_c=number(r["TEMPERATURE"]),
            voltage_v=number(r["VOLTAGE"]),
            bias_ma=number(r["CURRENT"]),
            distance_m=integer(r["DISTANCE"]),
        )
        for r in parse_template(OPTICAL_TEMPLATE, text)
    )


@dataclass(frozen=True, slots=True)
class PonAnswers:
    """What the CLI said about one PON port (raw; parsed by :func:`pon_samples`)."""

    pon: Pon
    info: Answer
    optical: Answer
    details: tuple[tuple[int, Answer], ...] = ()
    """``(onu_id, display ont info F S P ID)`` for the ONTs whose down cause was asked (offline ones)."""


def _optics_fields(o: OntOptics) -> dict[str, FieldValue]:
    pairs: tuple[tuple[str, float | int | None], ...] = (
        (m.F_RX_DBM, o.rx_dbm),
        (m.F_TX_DBM, o.tx_dbm),
        (m.F_OLT_RX_DBM, o.olt_rx_dbm),
        (m.F_TEMPERATURE_C, o.temperature_c),
        (m.F_VOLTAGE_V, o.voltage_v),
        (m.F_BIAS_MA, o.bias_ma),
        (m.F_DISTANCE_M, o.distance_m),
    )
    return {k: v for k, v in pairs if v is not None}


def onu_samples(
    pon: Pon,
    states: Sequence[OntState],
    optics: Sequence[OntOptics],
    base_tags: Mapping[str, str],
    at: datetime,
    causes: Mapping[int, str] | None = None,
) -> list[Sample]:
    """One ``onu`` sample per ONT seen in either answer, ordered by ONT ID.

    Tags: the device's (device, site, region, role), ``pon`` ``F/S/P``, ``onu_id``, ``serial`` (when known).
    Fields: ``status`` from the run state; the optics that have a reading (an offline ONT's ``-`` is absent);
    ``last_down_cause`` where ``causes`` (by ONT ID) has one.
    """
    causes = causes or {}
    by_state = {s.onu_id: s for s in states if s.pon == pon}
    by_optics = {o.onu_id: o for o in optics}
    out = []
    for onu_id in sorted(by_state.keys() | by_optics.keys()):
        tags = {k: v for k, v in base_tags.items() if k in m.BY_NAME[m.ONU].tags and v}
        tags[m.TAG_PON] = str(pon)
        tags[m.TAG_ONU_ID] = str(onu_id)
        fields: dict[str, FieldValue] = {}
        st = by_state.get(onu_id)
        if st is not None:
            if st.serial:
                tags[m.TAG_SERIAL] = st.serial
            if st.status is not None:
                fields[m.F_STATUS] = st.status
        opt = by_optics.get(onu_id)
        if opt is not None:
            fields.update(_optics_fields(opt))
        if onu_id in causes and fields:
            fields[m.F_LAST_DOWN_CAUSE] = causes[onu_id]
        if fields:
            out.append(Sample(m.ONU, tags, fields, at))
    return out


def pon_port_sample(
    pon: Pon, states: Sequence[OntState], totals: PonTotals | None, base_tags: Mapping[str, str], at: datetime
) -> Sample:
    """The ``pon_port`` sample with ``onus_total`` / ``onus_online`` (the device's totals line when shown)."""
    tags = {k: v for k, v in base_tags.items() if k in m.BY_NAME[m.PON_PORT].tags and v}
    tags[m.TAG_PON] = str(pon)
    tags[m.TAG_IFINDEX] = str(pon.ifindex)
    mine = [s for s in states if s.pon == pon]
    total = totals.total if totals is not None and totals.pon == pon else len(mine)
    online = (
        totals.online
        if totals is not None and totals.pon == pon and totals.online is not None
        else sum(1 for s in mine if s.status == STATUS_ONLINE)
    )
    return Sample(m.PON_PORT, tags, {m.F_ONUS_TOTAL: total, m.F_ONUS_ONLINE: online}, at)


def pon_samples(answers: Iterable[PonAnswers], base_tags: Mapping[str, str], at: datetime) -> list[Sample]:
    """Every ``onu`` sample and one ``pon_port`` sample per PON from the raw answers (pure).

    Raises :class:`~collectors.ssh.answers.AnswerError` when an answer is neither its table nor the "no ONT"
    text: a device error is never written as an empty PON."""
    out: list[Sample] = []
    for a in answers:
        states, totals = read_info(a.info)
        optics = read_optical(a.optical)
        causes = {}
        for onu_id, answer in a.details:
            detail = read_detail(a.pon, onu_id, answer)
            if detail is not None and detail.last_down_cause is not None:
                causes[onu_id] = detail.last_down_cause
        out += onu_samples(a.pon, states, optics, base_tags, at, causes)
        out.append(pon_port_sample(a.pon, states, totals, base_tags, at))
    return out


def offline_onts(states: Iterable[OntState]) -> list[tuple[Pon, int]]:
    """(PON, ONT ID) of the offline ONTs, in order: the ones whose down cause is worth a command."""
    return [(s.pon, s.onu_id) for s in states if s.status == STATUS_OFFLINE]
