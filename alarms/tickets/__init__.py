"""Trouble tickets: the lifecycle rules, cause codes, team assignment and the SQLAlchemy ticket store.

The composition root calls :func:`open_store` with ``Settings.tickets.database_url``; everything else
receives the store through the :class:`alarms.model.TicketStore` port.
"""

from alarms.tickets.assign import assign_team, required_skills
from alarms.tickets.causes import DEFAULT_CAUSES, CauseCode, excluded_from_sla
from alarms.tickets.lifecycle import allowed, audit_action, check_transition, next_states
from alarms.tickets.store import SqlTicketStore, TicketNotFound, open_store

__all__ = [
    "DEFAULT_CAUSES",
    "CauseCode",
    "SqlTicketStore",
    "TicketNotFound",
    "allowed",
    "assign_team",
    "audit_action",
    "check_transition",
    "excluded_from_sla",
    "next_states",
    "open_store",
    "required_skills",
]
