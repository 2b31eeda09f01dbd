"""The ticket store as the API and the CLI use it: the :class:`~alarms.model.TicketStore` port plus what a
desk needs beyond the alarm engine's port — assignment, complaints with a reference, a move with a note in
one transaction, the symptoms' clear times and the cause codes. :class:`alarms.tickets.SqlTicketStore`
implements it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Protocol

from alarms.model import Ticket, TicketStatus, TicketStore
from alarms.tickets.causes import CauseCode
from alarms.tickets.store import SymptomState


class TicketDesk(TicketStore, Protocol):
    @property
    def causes(self) -> Mapping[str, CauseCode]:
        """The cause codes a ticket may be closed with."""
        ...

    def transition(
        self,
        ticket_id: int,
        to: TicketStatus,
        actor: str,
        now: datetime,
        *,
        cause_code: str | None = None,
        note: str | None = None,
    ) -> Ticket: ...

    def link_complaint(
        self,
        ticket_id: int,
        reported_at: datetime,
        actor: str,
        now: datetime,
        *,
        reference: str = "",
        contact: str = "",
    ) -> Ticket: ...

    def assign(self, ticket_id: int, team: str | None, actor: str, now: datetime) -> Ticket: ...

    def symptoms_of(self, ticket_ids: Sequence[int]) -> Mapping[int, tuple[SymptomState, ...]]: ...
