"""The SQLAlchemy ticket store: :class:`alarms.model.TicketStore` on SQLite (default) or PostgreSQL.

Every method runs in its own short transaction and returns frozen :class:`~alarms.model.Ticket` values.
At most one not-closed ticket exists per dedup key (a partial unique index); a concurrent
``open_or_get`` that loses the race gets the winner's ticket.
"""

from __future__ import annotations

import builtins
import json
import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload, sessionmaker
from sqlalchemy.pool import StaticPool

from alarms.model import (
    AffectedService,
    AlarmKey,
    AuditEntry,
    Impact,
    InvalidTransition,
    OpenTicket,
    RepairClock,
    Ticket,
    TicketNote,
    TicketStatus,
)
from alarms.tickets import migrate
from alarms.tickets.causes import DEFAULT_CAUSES, DUPLICATE, CauseCode
from alarms.tickets.lifecycle import audit_action, check_transition, is_reopen
from alarms.tickets.schema import AuditRow, DispatchCursorRow, NoteRow, ServiceRow, SymptomRow, TicketRow

log = logging.getLogger(__name__)

SYSTEM = "system"
_CLOSED = TicketStatus.CLOSED.value
_RESOLVED = TicketStatus.RESOLVED.value
ACTIVE = (TicketStatus.OPEN, TicketStatus.ACKNOWLEDGED, TicketStatus.IN_PROGRESS)
"""The statuses of a ticket someone still has to work on."""


@dataclass(frozen=True, slots=True)
class TicketChange:
    """One row of the audit trail, as the readers of the trail (the notification dispatcher) see it."""

    id: int
    ticket_id: int
    actor: str
    time: datetime
    action: str
    detail: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class SymptomState:
    """One symptom of a ticket: when it was attached and when its alarm cleared (None: still active)."""

    key: AlarmKey
    attached_at: datetime
    cleared_at: datetime | None


class TicketNotFound(LookupError):
    """No ticket with that id."""


def title_for(action: OpenTicket) -> str:
    key = action.root.key
    head = f"{key.device} {key.kind}" + (f" {key.resource}" if key.resource else "")
    return f"{head}: {action.root.text}" if action.root.text else head


def _detail(row: AuditRow) -> dict[str, str]:
    data = json.loads(row.detail)
    return {str(k): str(v) for k, v in data.items()}


def to_ticket(row: TicketRow) -> Ticket:
    return Ticket(
        id=row.id,
        dedup_key=row.dedup_key,
        status=TicketStatus(row.status),
        priority=row.priority,
        title=row.title,
        root=AlarmKey.parse(row.dedup_key),
        symptoms=tuple(AlarmKey.parse(s.alarm_key) for s in row.symptoms),
        services=tuple(
            AffectedService(s.service_id, s.customer, s.service_class, s.subscribers, s.via) for s in row.services
        ),
        region=row.region,
        site=row.site,
        team=row.team,
        clock=RepairClock(
            detected=row.detected,
            reported=row.reported,
            acknowledged=row.acknowledged,
            restored=row.restored,
            closed=row.closed,
        ),
        cause_code=row.cause_code,
        notes=tuple(TicketNote(n.author, n.time, n.text) for n in row.notes),
        audit=tuple(AuditEntry(a.actor, a.time, a.action, _detail(a)) for a in row.audit),
    )


def _audit(row: TicketRow, actor: str, now: datetime, action: str, **detail: str) -> None:
    row.audit.append(AuditRow(actor=actor, time=now, action=action, detail=json.dumps(detail, ensure_ascii=False)))
    row.updated_at = now


def _service_row(s: AffectedService) -> ServiceRow:
    return ServiceRow(
        service_id=s.service_id,
        customer=s.customer,
        service_class=s.service_class,
        subscribers=s.subscribers,
        via=s.via,
    )


def _iso(t: datetime) -> str:
    """Times in audit details: ISO 8601 in UTC, whatever zone they came in."""
    return t.astimezone(UTC).isoformat()


_LOAD = (
    selectinload(TicketRow.symptoms),
    selectinload(TicketRow.services),
    selectinload(TicketRow.notes),
    selectinload(TicketRow.audit),
)


class SqlTicketStore:
    """The ticket store on one SQLAlchemy engine. Thread-safe: each call uses its own session."""

    def __init__(self, engine: Engine, causes: Mapping[str, CauseCode] = DEFAULT_CAUSES) -> None:
        self.engine = engine
        self.causes = causes
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    # --- plumbing -------------------------------------------------------------------------------------

    @contextmanager
    def _tx(self) -> Iterator[Session]:
        with self._sessions.begin() as session:
            yield session

    def _row(self, s: Session, ticket_id: int) -> TicketRow:
        row = s.scalars(select(TicketRow).where(TicketRow.id == ticket_id).options(*_LOAD)).one_or_none()
        if row is None:
            raise TicketNotFound(f"no ticket #{ticket_id}")
        return row

    @staticmethod
    def _open_row(s: Session, dedup_key: str, *, lock: bool = False) -> TicketRow | None:
        """The not-closed ticket for ``dedup_key``; ``lock``: ``SELECT … FOR UPDATE`` (PostgreSQL: two writers
        changing the same ticket queue instead of both acting on what they read; SQLite already serialises
        writers with ``BEGIN IMMEDIATE``)."""
        q = select(TicketRow).where(TicketRow.dedup_key == dedup_key, TicketRow.status != _CLOSED).options(*_LOAD)
        if lock:
            q = q.with_for_update()
        return s.scalars(q).one_or_none()

    def close(self) -> None:
        """Release the engine's connections."""
        self.engine.dispose()

    def __enter__(self) -> SqlTicketStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- the TicketStore port -----------------------------------------------------------------------------

    def open_or_get(self, action: OpenTicket, team: str | None, now: datetime) -> tuple[Ticket, bool]:
        """The not-closed ticket for the root's key, or a new one (``created`` True).

        A fault that comes back finds its ticket restored or resolved: the ticket *recurs* — ``restored`` is
        cleared, the status goes back to open (audit ``recurred``, actor ``system``) and the action's symptoms
        and services are attached; ``created`` is False. A closed ticket is never reopened here: a new ticket
        opens."""
        key = str(action.root.key)
        try:
            with self._tx() as s:
                existing = self._open_row(s, key, lock=True)
                if existing is not None:
                    if existing.restored is None and existing.status != _RESOLVED:
                        return to_ticket(existing), False
                    ticket = self._recur(s, existing, action, now)
                    log.warning("ticket #%d recurred: %s is back", ticket.id, key)
                    return ticket, False
                row = TicketRow(
                    dedup_key=key,
                    status=TicketStatus.OPEN.value,
                    priority=action.impact.priority,
                    title=title_for(action),
                    region=action.region,
                    site=action.site,
                    team=team,
                    detected=action.root.raised_at or action.root.first_seen,
                    created_at=now,
                    updated_at=now,
                    symptoms=[],
                    services=[],
                    notes=[],
                    audit=[],
                )
                symptoms = _symptom_keys(key, (a.key for a in action.symptoms))
                row.symptoms.extend(SymptomRow(alarm_key=k, attached_at=now) for k in symptoms)
                row.services.extend(_service_row(sv) for sv in _unique_services(action.impact.services))
                _audit(row, SYSTEM, now, "opened", root=key, priority=str(action.impact.priority))
                if team is not None:
                    _audit(row, SYSTEM, now, "assigned", team=team)
                if symptoms:
                    _audit(row, SYSTEM, now, "attached", symptoms=",".join(symptoms))
                s.add(row)
                s.flush()
                ticket = to_ticket(row)
        except IntegrityError:
            # another writer opened the ticket for this key between our look-up and our insert
            found = self.find_open(key)
            if found is None:
                raise
            log.info("ticket for %s opened concurrently: #%d", key, found.id)
            return found, False
        log.info("opened ticket #%d for %s (region %s, team %s)", ticket.id, key, action.region, team)
        return ticket, True

    def attach(self, root: AlarmKey, symptoms: Sequence[AlarmKey], impact: Impact, now: datetime) -> Ticket | None:
        """Add new symptoms and services to the root's not-closed ticket (a symptom that had cleared and is
        attached again becomes active again); lower its priority number. No change: no audit entry."""
        with self._tx() as s:
            row = self._open_row(s, str(root), lock=True)
            if row is None:
                return None
            if _merge(row, symptoms, impact, now):
                s.flush()
            return to_ticket(row)

    def merge_duplicate(self, from_root: AlarmKey, into_root: AlarmKey, now: datetime) -> Ticket | None:
        """``from_root``'s not-closed ticket is a duplicate of ``into_root``'s: in one transaction (both rows
        locked, in key order) its symptoms and services move to the surviving ticket (none twice; ``from_root``
        itself becomes a symptom; an earlier complaint time and a lower priority number come along), and it
        is closed with cause code ``duplicate`` (actor ``system``, whatever its status: no lifecycle check).
        Audit ``merged`` (``into``) on the old ticket, ``absorbed`` (``from``) on the survivor.

        Returns the surviving ticket; None when there is nothing to merge: ``from_root`` has no not-closed
        ticket (already merged — a repeat changes nothing), or ``into_root`` has none yet (logged; the old
        ticket is left alone)."""
        frm_key, into_key = str(from_root), str(into_root)
        if frm_key == into_key:
            log.warning("merge of %s into itself: nothing to do", frm_key)
            return None
        with self._tx() as s:
            rows = {k: self._open_row(s, k, lock=True) for k in sorted((frm_key, into_key))}
            old, into = rows[frm_key], rows[into_key]
            if old is None:
                log.info("merge of %s into %s: no open ticket for %s (already merged)", frm_key, into_key, frm_key)
                return None
            if into is None:
                log.warning("merge of %s (ticket #%d) into %s: %s has no open ticket; ticket #%d left alone",
                            frm_key, old.id, into_key, into_key, old.id)  # fmt: skip
                return None
            into_detail = _absorb(into, old, now)
            old_detail = {"into": str(into.id), "from": old.status, "to": _CLOSED, "cause_code": DUPLICATE}
            if old.symptoms:
                old_detail["symptoms"] = ",".join(x.alarm_key for x in old.symptoms)
            if old.services:
                old_detail["services"] = ",".join(x.service_id for x in old.services)
            old.symptoms.clear()
            old.services.clear()
            old.status, old.cause_code, old.closed = _CLOSED, DUPLICATE, now
            _audit(old, SYSTEM, now, "merged", **old_detail)
            _audit(into, SYSTEM, now, "absorbed", **into_detail)
            s.flush()
            survivor, old_id = to_ticket(into), old.id
        log.warning("ticket #%d (%s) merged into ticket #%d (%s): closed as %s", old_id, frm_key, survivor.id,
                    into_key, DUPLICATE)  # fmt: skip
        return survivor

    def _recur(self, s: Session, row: TicketRow, action: OpenTicket, now: datetime) -> Ticket:
        previous = row.status
        detail = {"root": row.dedup_key, "previous_status": previous}
        for name in ("restored", "cause_code"):
            old = getattr(row, name)
            if old is not None:
                detail[f"previous_{name}"] = old if isinstance(old, str) else _iso(old)
        row.restored = row.cause_code = None
        row.status = TicketStatus.OPEN.value
        _audit(row, SYSTEM, now, "recurred", **detail)
        _merge(row, [a.key for a in action.symptoms], action.impact, now)
        s.flush()
        return to_ticket(row)

    def restore(self, root: AlarmKey, restored_at: datetime) -> Ticket | None:
        """The root alarm cleared: set ``clock.restored`` (the first call wins) and resolve the ticket (actor
        ``system``) unless it is resolved already. One audit entry ``restored`` with ``restored`` and, when
        the status moved, ``from``/``to``. The technician then closes it with a cause code, or reopens it."""
        with self._tx() as s:
            row = self._open_row(s, str(root), lock=True)
            if row is None:
                return None
            if row.restored is None:
                row.restored = restored_at
                detail = {"restored": _iso(restored_at)}
                if row.status != _RESOLVED:
                    detail |= {"from": row.status, "to": _RESOLVED}
                    row.status = _RESOLVED
                _audit(row, SYSTEM, restored_at, "restored", **detail)
                s.flush()
            return to_ticket(row)

    def mark_cleared(self, alarm_key: str, at: datetime) -> builtins.list[int]:
        """A symptom alarm cleared: set ``cleared_at`` on its row in every not-closed ticket that lists it
        (and is not marked cleared yet), one ``symptom_cleared`` audit entry each. Returns the ticket ids
        touched, ascending (repeating the call touches none)."""
        q = (
            select(SymptomRow)
            .join(TicketRow, TicketRow.id == SymptomRow.ticket_id)
            .where(SymptomRow.alarm_key == alarm_key, SymptomRow.cleared_at.is_(None), TicketRow.status != _CLOSED)
            .order_by(SymptomRow.ticket_id)
            .with_for_update()
        )
        touched: builtins.list[int] = []
        with self._tx() as s:
            for sym in s.scalars(q):
                sym.cleared_at = at
                detail = json.dumps({"symptom": alarm_key, "cleared": _iso(at)}, ensure_ascii=False)
                s.add(AuditRow(ticket_id=sym.ticket_id, actor=SYSTEM, time=at, action="symptom_cleared", detail=detail))
                sym.ticket.updated_at = at
                touched.append(sym.ticket_id)
        if touched:
            log.info("symptom %s cleared on tickets %s", alarm_key, ",".join(map(str, touched)))
        return touched

    def symptoms_of(self, ticket_ids: Sequence[int]) -> dict[int, tuple[SymptomState, ...]]:
        """Each ticket's symptoms with their attach and clear times (tickets without symptoms: absent)."""
        found: dict[int, builtins.list[SymptomState]] = {}
        ids = sorted(set(ticket_ids))
        with self._tx() as s:
            for i in range(0, len(ids), 500):
                q = select(SymptomRow).where(SymptomRow.ticket_id.in_(ids[i : i + 500])).order_by(SymptomRow.id)
                for r in s.scalars(q):
                    state = SymptomState(AlarmKey.parse(r.alarm_key), r.attached_at, r.cleared_at)
                    found.setdefault(r.ticket_id, []).append(state)
        return {k: tuple(v) for k, v in found.items()}

    def get(self, ticket_id: int) -> Ticket | None:
        with self._tx() as s:
            try:
                return to_ticket(self._row(s, ticket_id))
            except TicketNotFound:
                return None

    def find_open(self, dedup_key: str) -> Ticket | None:
        with self._tx() as s:
            row = self._open_row(s, dedup_key)
            return None if row is None else to_ticket(row)

    def list(
        self,
        *,
        status: Sequence[TicketStatus] = (),
        team: str | None = None,
        region: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[Ticket]:
        """Tickets newest first (by id), filtered by any of ``status``, by ``team`` and ``region``."""
        q = select(TicketRow).options(*_LOAD).order_by(TicketRow.id.desc()).limit(limit).offset(offset)
        if status:
            q = q.where(TicketRow.status.in_([TicketStatus(x).value for x in status]))
        if team is not None:
            q = q.where(TicketRow.team == team)
        if region is not None:
            q = q.where(TicketRow.region == region)
        with self._tx() as s:
            return [to_ticket(r) for r in s.scalars(q)]

    def transition(
        self,
        ticket_id: int,
        to: TicketStatus,
        actor: str,
        now: datetime,
        *,
        cause_code: str | None = None,
        note: str | None = None,
    ) -> Ticket:
        """A lifecycle move; with ``note``, the note is added in the same transaction (a refused move adds
        no note)."""
        to = TicketStatus(to)
        if note is not None and not note.strip():
            raise ValueError("empty note")
        try:
            with self._tx() as s:
                row = self._row(s, ticket_id)
                current = TicketStatus(row.status)
                code = cause_code if cause_code is not None else row.cause_code
                if cause_code is not None and to not in (TicketStatus.RESOLVED, TicketStatus.CLOSED):
                    raise InvalidTransition("a cause code is given when resolving or closing")
                check_transition(current, to, cause_code=code, known_causes=set(self.causes))
                if note is not None:
                    _add_note(row, actor, note, now)
                detail = {"from": current.value, "to": to.value}
                if is_reopen(current, to):
                    for name in ("restored", "closed", "cause_code"):
                        old = getattr(row, name)
                        if old is not None:
                            detail[f"previous_{name}"] = old if isinstance(old, str) else _iso(old)
                    row.restored = row.closed = row.cause_code = None
                if to in (TicketStatus.ACKNOWLEDGED, TicketStatus.IN_PROGRESS) and row.acknowledged is None:
                    row.acknowledged = now
                if to is TicketStatus.RESOLVED and row.restored is None:
                    row.restored = now
                if to is TicketStatus.CLOSED:
                    row.closed = now
                if cause_code is not None:
                    row.cause_code = cause_code
                    detail["cause_code"] = cause_code
                row.status = to.value
                _audit(row, actor, now, audit_action(current, to), **detail)
                s.flush()
                ticket = to_ticket(row)
        except IntegrityError as exc:
            raise InvalidTransition(f"ticket #{ticket_id}: another ticket with the same key is open") from exc
        log.info("ticket #%d %s → %s by %s", ticket_id, current.value, to.value, actor)
        return ticket

    def add_note(self, ticket_id: int, author: str, text: str, now: datetime) -> Ticket:
        if not text.strip():
            raise ValueError("empty note")
        with self._tx() as s:
            row = self._row(s, ticket_id)
            _add_note(row, author, text, now)
            s.flush()
            return to_ticket(row)

    def link_complaint(
        self,
        ticket_id: int,
        reported_at: datetime,
        actor: str,
        now: datetime,
        *,
        reference: str = "",
        contact: str = "",
    ) -> Ticket:
        """Record a customer's report: ``reported`` becomes the earliest linked report time. ``reference``
        (e.g. the hotline's case number) and ``contact`` go into the audit entry when given."""
        with self._tx() as s:
            row = self._row(s, ticket_id)
            if row.status == _CLOSED:
                raise InvalidTransition(f"ticket #{ticket_id} is closed: reopen it to link a complaint")
            detail = {"reported": _iso(reported_at)}
            if reference:
                detail["reference"] = reference
            if contact:
                detail["contact"] = contact
            if row.reported is not None:
                detail["previous_reported"] = _iso(row.reported)
            if row.reported is None or reported_at < row.reported:
                row.reported = reported_at
            _audit(row, actor, now, "complaint_linked", **detail)
            s.flush()
            return to_ticket(row)

    # --- the audit trail as a feed, and its readers' cursors ------------------------------------------------

    def changes_since(self, after_id: int, limit: int = 500) -> builtins.list[TicketChange]:
        """Audit rows with ``id > after_id``, ascending id, at most ``limit``."""
        q = select(AuditRow).where(AuditRow.id > after_id).order_by(AuditRow.id).limit(limit)
        with self._tx() as s:
            return [TicketChange(r.id, r.ticket_id, r.actor, r.time, r.action, _detail(r)) for r in s.scalars(q)]

    def cursor(self, name: str) -> int:
        """The last audit id the reader ``name`` recorded with :meth:`set_cursor` (0 when none)."""
        with self._tx() as s:
            row = s.get(DispatchCursorRow, name)
            return 0 if row is None else row.last_id

    def set_cursor(self, name: str, value: int) -> None:
        """Record that the reader ``name`` has handled the audit trail up to id ``value`` (an upsert)."""
        dialect = self.engine.dialect.name
        ins = postgresql.insert if dialect == "postgresql" else sqlite.insert
        stmt = ins(DispatchCursorRow).values(name=name, last_id=value)
        stmt = stmt.on_conflict_do_update(index_elements=["name"], set_={"last_id": value})
        with self._tx() as s:
            s.execute(stmt)

    def list_active(self) -> builtins.list[Ticket]:
        """Every ticket still to be worked on (open, acknowledged, in progress), oldest first, no limit."""
        q = (
            select(TicketRow)
            .where(TicketRow.status.in_([x.value for x in ACTIVE]))
            .options(*_LOAD)
            .order_by(TicketRow.id)
        )
        with self._tx() as s:
            return [to_ticket(r) for r in s.scalars(q)]

    # --- beyond the port: assignment and escalation marks ---------------------------------------------------

    def assign(self, ticket_id: int, team: str | None, actor: str, now: datetime) -> Ticket:
        with self._tx() as s:
            row = self._row(s, ticket_id)
            if row.team != team:
                detail = {"team": team or ""}
                if row.team is not None:
                    detail["previous_team"] = row.team
                row.team = team
                _audit(row, actor, now, "assigned", **detail)
                s.flush()
            return to_ticket(row)

    def mark_escalated(self, ticket_id: int, now: datetime, **detail: str) -> Ticket:
        """Record that the repair-limit escalation was sent (the escalation check reads this mark)."""
        with self._tx() as s:
            row = self._row(s, ticket_id)
            _audit(row, SYSTEM, now, "escalated", **detail)
            s.flush()
            return to_ticket(row)


def _unique_services(services: Sequence[AffectedService]) -> list[AffectedService]:
    return list({s.service_id: s for s in reversed(services)}.values())[::-1]


def _symptom_keys(root: str, keys: Iterable[AlarmKey]) -> list[str]:
    return [k for k in dict.fromkeys(str(k) for k in keys) if k != root]


def _merge(row: TicketRow, symptoms: Sequence[AlarmKey], impact: Impact, now: datetime) -> bool:
    """Attach new symptoms and services to ``row``, make cleared symptoms that come again active, lower the
    priority number; one ``attached`` audit entry when anything changed (returned)."""
    by_key = {x.alarm_key: x for x in row.symptoms}
    keys = _symptom_keys(row.dedup_key, symptoms)
    new = [k for k in keys if k not in by_key]
    again = [k for k in keys if k in by_key and by_key[k].cleared_at is not None]
    have_svc = {x.service_id for x in row.services}
    new_svc = [sv for sv in _unique_services(impact.services) if sv.service_id not in have_svc]
    priority = min(row.priority, impact.priority)
    if not new and not again and not new_svc and priority == row.priority:
        return False
    row.symptoms.extend(SymptomRow(alarm_key=k, attached_at=now) for k in new)
    for k in again:
        by_key[k].cleared_at = None
    row.services.extend(_service_row(sv) for sv in new_svc)
    detail: dict[str, str] = {}
    if new:
        detail["symptoms"] = ",".join(new)
    if again:
        detail["active_again"] = ",".join(again)
    if new_svc:
        detail["services"] = ",".join(sv.service_id for sv in new_svc)
    if priority != row.priority:
        detail["priority"] = f"{row.priority}→{priority}"
        row.priority = priority
    _audit(row, SYSTEM, now, "attached", **detail)
    return True


def _absorb(into: TicketRow, old: TicketRow, now: datetime) -> dict[str, str]:
    """Move ``old``'s alarms, services, complaint time and priority onto ``into`` (rows changed in place);
    the ``absorbed`` audit detail. A symptom both list stays once, active if either has it active."""
    by_key = {x.alarm_key: x for x in into.symptoms}
    incoming = [(old.dedup_key, None)] + [(x.alarm_key, x.cleared_at) for x in old.symptoms]
    new: list[str] = []
    for key, cleared in incoming:
        if key == into.dedup_key:
            continue
        have = by_key.get(key)
        if have is None:
            by_key[key] = SymptomRow(alarm_key=key, attached_at=now, cleared_at=cleared)
            into.symptoms.append(by_key[key])
            new.append(key)
        elif cleared is None and have.cleared_at is not None:
            have.cleared_at = None
    have_svc = {x.service_id for x in into.services}
    new_svc = [x for x in old.services if x.service_id not in have_svc]
    into.services.extend(
        ServiceRow(service_id=x.service_id, customer=x.customer, service_class=x.service_class,
                   subscribers=x.subscribers, via=x.via)
        for x in new_svc
    )  # fmt: skip
    detail = {"from": str(old.id), "root": old.dedup_key}
    if new:
        detail["symptoms"] = ",".join(new)
    if new_svc:
        detail["services"] = ",".join(x.service_id for x in new_svc)
    if old.priority < into.priority:
        detail["priority"] = f"{into.priority}→{old.priority}"
        into.priority = old.priority
    if old.reported is not None and (into.reported is None or old.reported < into.reported):
        if into.reported is not None:
            detail["previous_reported"] = _iso(into.reported)
        detail["reported"] = _iso(old.reported)
        into.reported = old.reported
    return detail


def _add_note(row: TicketRow, author: str, text: str, now: datetime) -> None:
    row.notes.append(NoteRow(author=author, time=now, text=text))
    _audit(row, author, now, "note", text=text[:200])


def _sqlite_setup(engine: Engine, memory: bool) -> None:
    """SQLite: foreign keys on, and every transaction ``BEGIN IMMEDIATE`` so that two writers queue on the
    busy timeout instead of failing to upgrade a read lock (pysqlite's own BEGIN is switched off)."""

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        if not memory:
            cur.execute("PRAGMA journal_mode=WAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str) -> Engine:
    """An engine for ``url`` with the settings the store needs (SQLite file dirs are created)."""
    u = make_url(url)
    if u.drivername == "postgresql":  # no driver named: the one we ship (psycopg 3), not psycopg2
        u = u.set(drivername="postgresql+psycopg")
    if u.get_backend_name() != "sqlite":
        return create_engine(u, pool_pre_ping=True)
    memory = u.database in (None, "", ":memory:")
    if memory:
        engine = create_engine(u, poolclass=StaticPool, connect_args={"check_same_thread": False})
    else:
        Path(str(u.database)).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(u, connect_args={"timeout": 30, "check_same_thread": False})
    _sqlite_setup(engine, memory)
    return engine


def open_store(
    url: str, *, causes: Mapping[str, CauseCode] = DEFAULT_CAUSES, migrate_schema: bool = True
) -> SqlTicketStore:
    """Connect to ``url`` (e.g. ``Settings.tickets.database_url``), bring the schema to the latest
    migration (``alembic upgrade head``, in code) and return the store."""
    engine = make_engine(url)
    if migrate_schema:
        migrate.upgrade(engine)
    return SqlTicketStore(engine, causes)
