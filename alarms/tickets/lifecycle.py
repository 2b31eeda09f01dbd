"""The ticket lifecycle as pure functions.

::

    open ─► acknowledged ─► in_progress ─► resolved ─► closed
      │          │              ▲   │          │  ▲       │
      │          └──────────────┘   │          │  │       │
      └──────────► in_progress      │          │  │       │
      └─────────────────────────────┴──► resolved  │       │
    resolved ─► open (reopen)   closed ─► open (reopen)

A technician may skip steps forwards (open → in_progress, open → resolved), never backwards except by
reopening (resolved/closed → open). Closing is only from ``resolved`` and needs a cause code.
"""

from __future__ import annotations

from types import MappingProxyType

from alarms.model import InvalidTransition, TicketStatus

_S = TicketStatus

_ALLOWED: MappingProxyType[TicketStatus, frozenset[TicketStatus]] = MappingProxyType(
    {
        _S.OPEN: frozenset({_S.ACKNOWLEDGED, _S.IN_PROGRESS, _S.RESOLVED}),
        _S.ACKNOWLEDGED: frozenset({_S.IN_PROGRESS, _S.RESOLVED}),
        _S.IN_PROGRESS: frozenset({_S.RESOLVED}),
        _S.RESOLVED: frozenset({_S.CLOSED, _S.OPEN}),
        _S.CLOSED: frozenset({_S.OPEN}),
    }
)


def next_states(current: TicketStatus) -> frozenset[TicketStatus]:
    """The statuses a ticket in ``current`` may move to."""
    return _ALLOWED[current]


def allowed(current: TicketStatus, to: TicketStatus) -> bool:
    """Whether the lifecycle allows ``current → to`` (a move to the same status is not a move)."""
    return to in _ALLOWED[current]


def is_reopen(current: TicketStatus, to: TicketStatus) -> bool:
    return to is TicketStatus.OPEN and current in (TicketStatus.RESOLVED, TicketStatus.CLOSED)


def audit_action(current: TicketStatus, to: TicketStatus) -> str:
    """The audit trail's action name for a move: the target status, or ``reopened``."""
    return "reopened" if is_reopen(current, to) else to.value


def check_transition(
    current: TicketStatus,
    to: TicketStatus,
    *,
    cause_code: str | None,
    known_causes: frozenset[str] | set[str] | None = None,
) -> None:
    """Raise :class:`InvalidTransition` unless ``current → to`` is allowed with this cause code.

    ``cause_code`` is the code the ticket will carry after the move (given now or recorded before).
    Closing needs one; when ``known_causes`` is given the code must be one of them.
    """
    if not allowed(current, to):
        raise InvalidTransition(f"{current.value} → {to.value} is not allowed")
    if to is TicketStatus.CLOSED and not cause_code:
        raise InvalidTransition("closing a ticket needs a cause code")
    if cause_code is not None and known_causes is not None and cause_code not in known_causes:
        raise InvalidTransition(f"unknown cause code {cause_code!r}")
