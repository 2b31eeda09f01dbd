"""The alarms package's contract: alarms, the engine's inputs and outputs, tickets and the ticket store port.

Flow: detection (pure: PollResults, samples, DeviceEvents → :class:`Condition`) → the engine
(pure: ``step(state, input, topology, now) → (state, actions)``) → adapters carry out the
:data:`Action` s (ticket store, notifications, InfluxDB events). Everything here is a frozen value or a
Protocol; times are timezone-aware UTC.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Final, Protocol


class Severity(StrEnum):
    CRITICAL = "critical"
    MAJOR = "major"
    MINOR = "minor"
    WARNING = "warning"


class Kind(StrEnum):
    """Alarm kinds netqos raises itself (traps add their own kinds, e.g. ``trap:linkDown``)."""

    DEVICE_UNREACHABLE = "device_unreachable"
    INTERFACE_DOWN = "interface_down"
    INTERFACE_FLAPPING = "interface_flapping"
    THRESHOLD = "threshold"  # resource names the rule and the object, e.g. "cpu_high" or "util_high:Gi0/0/1"
    BGP_DOWN = "bgp_down"
    PON_DOWN = "pon_down"
    ONU_LOS = "onu_los"
    ONU_RX_POWER = "onu_rx_power"
    RADIO_RSL_LOW = "radio_rsl_low"
    ON_BATTERY = "on_battery"
    RADIO_DOWN = "radio_down"
    TRAP = "trap"


@dataclass(frozen=True, slots=True, order=True)
class AlarmKey:
    """An alarm's identity (its dedup key): the same key is the same alarm, counted, never a new one."""

    device: str
    kind: str
    resource: str = ""

    def __str__(self) -> str:
        return f"{self.device}|{self.kind}|{self.resource}"

    @classmethod
    def parse(cls, text: str) -> AlarmKey:
        device, kind, resource = text.split("|", 2)
        return cls(device, kind, resource)


@dataclass(frozen=True, slots=True)
class Condition:
    """What detection says right now about one alarm key: the bad condition holds (``active``) or not.

    The engine applies hold-down, flap detection and clear hold-down to these; detection stays stateless
    per input except for its own counters (consecutive failures, threshold durations).
    """

    key: AlarmKey
    active: bool
    time: datetime
    severity: Severity = Severity.MAJOR
    text: str = ""
    clear_hold_s: float | None = None
    """The rule's clear hold-down in seconds (None: the engine's default)."""
    hold_s: float | None = None
    """The rule's hold-down before raising, in seconds (None: the engine's default)."""


@dataclass(frozen=True, slots=True)
class Tick:
    """The passage of time (hold-down and grouping-window expiry); the runner sends one every few seconds."""

    time: datetime


EngineInput = Condition | Tick


class AlarmState(StrEnum):
    PENDING = "pending"  # condition seen, hold-down not yet over
    RAISED = "raised"
    CLEARING = "clearing"  # condition gone, clear hold-down not yet over
    CLEARED = "cleared"


ACTIVE_STATES: Final = (AlarmState.RAISED, AlarmState.CLEARING)
"""The states of an alarm that stands (raised, or clearing but not yet cleared)."""


@dataclass(frozen=True, slots=True)
class Alarm:
    key: AlarmKey
    severity: Severity
    state: AlarmState
    first_seen: datetime
    last_seen: datetime
    occurrences: int = 1
    raised_at: datetime | None = None
    cleared_at: datetime | None = None
    text: str = ""
    root: AlarmKey | None = None
    """None: this alarm is a root cause; else the root alarm it is a symptom of."""
    maintenance: bool = False
    """In a maintenance window now (its device's, or its root's): recorded, no ticket. Cleared when the window
    ends with the alarm still up: from then on it is grouped and ticketed like any alarm."""
    maintenance_span: tuple[datetime, datetime] | None = None
    """(from, until): the part of this occurrence spent in maintenance — from when it went down (or the
    window's start) to the window's end — kept after the window ends, for the SLA module to exclude."""
    clear_reason: str = ""
    """Why the condition went away, when detection said (e.g. ``admin-down``: the port was shut)."""


@dataclass(frozen=True, slots=True)
class AffectedService:
    service_id: str
    customer: str
    service_class: str
    subscribers: int
    via: str
    """What takes it down: ``device`` or ``device:interface`` or ``olt:pon:onu``."""


@dataclass(frozen=True, slots=True)
class Impact:
    services: tuple[AffectedService, ...] = ()
    priority: int = 4
    """1 (highest) … 4: enterprise SLA customers first, then by the number of affected subscribers."""

    @property
    def customers(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(s.customer for s in self.services))

    @property
    def subscribers(self) -> int:
        return sum(s.subscribers for s in self.services)


# --- actions the engine asks the adapters to carry out (idempotent, keyed by the root alarm's key) -----------


@dataclass(frozen=True, slots=True)
class OpenTicket:
    root: Alarm
    symptoms: tuple[Alarm, ...]
    impact: Impact
    region: str
    site: str


@dataclass(frozen=True, slots=True)
class AttachSymptoms:
    root: AlarmKey
    symptoms: tuple[Alarm, ...]
    impact: Impact


@dataclass(frozen=True, slots=True)
class MergeTicket:
    """A root that already has a ticket (``from_root``) turned out to be a symptom of ``into_root``, a root
    found later (after the group window). Carry out after ``into_root``'s :class:`OpenTicket` (when the same
    step opened it): close ``from_root``'s open ticket as a duplicate pointing at ``into_root``'s ticket, and
    attach ``symptoms`` — the ``from_root`` alarm and the symptoms it had, all now pointing at
    ``into_root`` — to ``into_root``'s ticket with ``impact`` (``into_root``'s whole impact, recomputed).
    Idempotent: no open ticket for ``from_root`` (already merged) → only the attach, which repeats harmlessly."""

    into_root: AlarmKey
    from_root: AlarmKey
    symptoms: tuple[Alarm, ...]
    impact: Impact


@dataclass(frozen=True, slots=True)
class RestoreTicket:
    """The root alarm cleared: the system sets ``restored`` on the ticket's repair clock and resolves it
    (status ``resolved``, actor ``system``); a technician then closes it with a cause code (or reopens it)."""

    root: AlarmKey
    restored_at: datetime


@dataclass(frozen=True, slots=True)
class RecordAlarm:
    """An alarm changed state (raised, updated, cleared, correlated): history + Grafana event."""

    alarm: Alarm
    change: str  # raised | updated | cleared | correlated | flapping | maintenance_ended


Action = OpenTicket | AttachSymptoms | MergeTicket | RestoreTicket | RecordAlarm


# --- tickets -----------------------------------------------------------------------------------------------


class TicketStatus(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class RepairClock:
    """The timestamps the SLA module reads (UTC). ``reported`` is when a customer complaint was linked —
    the regulation counts repair time from the customer's report."""

    detected: datetime
    reported: datetime | None = None
    acknowledged: datetime | None = None
    restored: datetime | None = None
    closed: datetime | None = None


@dataclass(frozen=True, slots=True)
class TicketNote:
    author: str
    time: datetime
    text: str


@dataclass(frozen=True, slots=True)
class AuditEntry:
    actor: str  # "system" or a user name
    time: datetime
    action: str  # opened | acknowledged | in_progress | resolved | closed | reopened | note | attached | assigned ...
    detail: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Ticket:
    id: int
    dedup_key: str
    """``str(AlarmKey)`` of the root alarm: at most one open (not closed) ticket per key."""
    status: TicketStatus
    priority: int
    title: str
    root: AlarmKey
    symptoms: tuple[AlarmKey, ...]
    services: tuple[AffectedService, ...]
    region: str
    site: str
    team: str | None
    clock: RepairClock
    cause_code: str | None = None
    notes: tuple[TicketNote, ...] = ()
    audit: tuple[AuditEntry, ...] = ()


class TicketStore(Protocol):
    """The ticket database port (SQLAlchemy adapter: SQLite by default, PostgreSQL in production).

    Every mutating call is idempotent where the engine may repeat it after a crash: ``open_or_get`` finds
    the open ticket by dedup key before opening one.
    """

    def open_or_get(self, action: OpenTicket, team: str | None, now: datetime) -> tuple[Ticket, bool]:
        """The open ticket for ``action.root.key``, or a new one; the bool says whether it was created."""
        ...

    def attach(self, root: AlarmKey, symptoms: Sequence[AlarmKey], impact: Impact, now: datetime) -> Ticket | None: ...

    def restore(self, root: AlarmKey, restored_at: datetime) -> Ticket | None:
        """Set ``clock.restored`` on the open ticket of ``root`` (the first call wins) and resolve it (actor
        ``system``); None when it has no open ticket. The technician closes it with a cause code."""
        ...

    def get(self, ticket_id: int) -> Ticket | None: ...

    def find_open(self, dedup_key: str) -> Ticket | None: ...

    def list(
        self,
        *,
        status: Sequence[TicketStatus] = (),
        team: str | None = None,
        region: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[Ticket]: ...

    def transition(
        self, ticket_id: int, to: TicketStatus, actor: str, now: datetime, *, cause_code: str | None = None
    ) -> Ticket:
        """Move along open → acknowledged → in_progress → resolved → closed (or reopen); raises
        ``InvalidTransition`` for a move the lifecycle forbids; closing needs a cause code."""
        ...

    def add_note(self, ticket_id: int, author: str, text: str, now: datetime) -> Ticket: ...

    def link_complaint(self, ticket_id: int, reported_at: datetime, actor: str, now: datetime) -> Ticket: ...


class InvalidTransition(ValueError):
    """A ticket lifecycle move that is not allowed (e.g. closed → acknowledged, close without cause)."""
