"""The API's JSON shapes (pydantic, for the OpenAPI spec) and the mapping from the ticket contract to them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from alarms.api.context import SiteInfo
from alarms.model import AlarmKey, Ticket, TicketStatus
from alarms.tickets.causes import CauseCode
from alarms.tickets.store import SymptomState


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class Problem(_Out):
    """RFC 9457 problem details."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str = ""
    instance: str = ""
    errors: list[dict[str, str]] | None = Field(default=None, description="validation errors (422 only)")


class AlarmOut(_Out):
    key: str
    device: str
    kind: str
    resource: str
    role: Literal["root", "symptom"]
    state: Literal["active", "cleared"]
    cleared_at: datetime | None = Field(description="UTC; the root: the ticket's restored time")


class ServiceOut(_Out):
    service_id: str
    customer: str
    service_class: str
    subscribers: int
    via: str


class ImpactOut(_Out):
    priority: int
    customers: list[str]
    subscribers: int
    services: list[ServiceOut]


class SiteOut(_Out):
    name: str
    region: str
    site_class: str | None
    address: str | None


class ClockOut(_Out):
    detected: datetime
    reported: datetime | None
    acknowledged: datetime | None
    restored: datetime | None
    closed: datetime | None
    repair_deadline: datetime | None = Field(description="UTC; the page counts down to it in Asia/Shanghai time")


class NoteOut(_Out):
    author: str
    time: datetime
    text: str


class AuditOut(_Out):
    actor: str
    time: datetime
    action: str
    detail: dict[str, str]


class TicketOut(_Out):
    id: int
    dedup_key: str
    status: TicketStatus
    priority: int
    title: str
    region: str
    team: str | None
    site: SiteOut
    root: AlarmOut
    alarms: list[AlarmOut] = Field(description="the root alarm first, then its symptoms")
    impact: ImpactOut
    clock: ClockOut
    cause_code: str | None
    notes: list[NoteOut]
    audit: list[AuditOut]


class CauseOut(_Out):
    code: str
    zh: str
    en: str
    excluded_from_sla: bool


class TicketPage(_Out):
    items: list[TicketOut]
    limit: int
    offset: int


class MeOut(_Out):
    name: str
    role: str
    team: str | None
    language: str
    timezone: str
    server_time: datetime


class Health(_Out):
    status: Literal["ok"]


NOTE_PATTERN = r"^[^\x00]*[^\s\x00][^\x00]*$"
"""Not blank, no NUL (PostgreSQL text cannot hold it). Python's ``re`` checks it (``regex_engine``), so the
server and schema-driven clients agree on what ``\\s`` and ``$`` mean."""


class NoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid", regex_engine="python-re")
    text: str = Field(min_length=1, max_length=4000, pattern=NOTE_PATTERN, description="not blank, no NUL")


class CloseIn(BaseModel):
    model_config = ConfigDict(extra="forbid", regex_engine="python-re")
    cause_code: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$", description="e.g. fiber_cut, power")


TEXT_PATTERN = r"^[^\x00-\x1f\x7f]*$"
"""One line of text: no control characters (no NUL: PostgreSQL text cannot hold it)."""


class ComplaintIn(BaseModel):
    model_config = ConfigDict(extra="forbid", regex_engine="python-re")
    reported_at: AwareDatetime = Field(description="when the customer reported the fault (with a UTC offset)")
    reference: str | None = Field(default=None, max_length=64, pattern=TEXT_PATTERN,
                                  description="e.g. the hotline's case number")
    contact: str | None = Field(default=None, max_length=200, pattern=TEXT_PATTERN,
                                description="who reported it and how to reach them")


class AssignIn(BaseModel):
    model_config = ConfigDict(extra="forbid", regex_engine="python-re")
    team: str = Field(min_length=1, max_length=64, pattern=TEXT_PATTERN, description="a field team of the inventory")


def cause_out(c: CauseCode) -> CauseOut:
    return CauseOut(code=c.code, zh=c.zh, en=c.en, excluded_from_sla=c.excluded_from_sla)


def _alarm(key: AlarmKey, role: Literal["root", "symptom"], cleared_at: datetime | None) -> AlarmOut:
    return AlarmOut(key=str(key), device=key.device, kind=key.kind, resource=key.resource, role=role,
                    state="active" if cleared_at is None else "cleared", cleared_at=cleared_at)


def ticket_out(t: Ticket, sites: Mapping[str, SiteInfo], deadline: datetime | None,
               symptoms: Sequence[SymptomState] = ()) -> TicketOut:
    """``symptoms``: the ticket's symptom states (their clear times); a symptom not among them is active."""
    info = sites.get(t.site)
    cleared = {str(s.key): s.cleared_at for s in symptoms}
    root = _alarm(t.root, "root", t.clock.restored)
    services = [ServiceOut(service_id=s.service_id, customer=s.customer, service_class=s.service_class,
                           subscribers=s.subscribers, via=s.via) for s in t.services]
    return TicketOut(
        id=t.id,
        dedup_key=t.dedup_key,
        status=t.status,
        priority=t.priority,
        title=t.title,
        region=t.region,
        team=t.team,
        site=SiteOut(name=t.site, region=info.region if info else t.region,
                     site_class=info.site_class if info else None, address=info.address if info else None),
        root=root,
        alarms=[root, *(_alarm(k, "symptom", cleared.get(str(k))) for k in t.symptoms)],
        impact=ImpactOut(priority=t.priority, customers=list(dict.fromkeys(s.customer for s in t.services)),
                         subscribers=sum(s.subscribers for s in t.services), services=services),
        clock=ClockOut(detected=t.clock.detected, reported=t.clock.reported, acknowledged=t.clock.acknowledged,
                       restored=t.clock.restored, closed=t.clock.closed, repair_deadline=deadline),
        cause_code=t.cause_code,
        notes=[NoteOut(author=n.author, time=n.time, text=n.text) for n in t.notes],
        audit=[AuditOut(actor=a.actor, time=a.time, action=a.action, detail=dict(a.detail)) for a in t.audit],
    )
