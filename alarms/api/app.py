"""The ticket API (FastAPI) and the technician page it serves.

``create_app(store, tokens, clock, language, teams=…)`` wires a :class:`~alarms.api.desk.TicketDesk` (the
ticket store), a token store, an injected clock (aware UTC), the page's default language and the inventory's
field team names (what a ticket may be assigned to); nothing here is global. Roles and what each may
do: :mod:`alarms.api.access`. Errors: :mod:`alarms.api.problems`.
"""


import logging
from collections.abc import Callable, Collection, Mapping
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path as FsPath
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Path, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.staticfiles import StaticFiles

from alarms.api import problems
from alarms.api.access import Action, may, sees, team_filter
from alarms.api.context import RepairDeadline, SiteInfo, no_deadline
from alarms.api.desk import TicketDesk
from alarms.api.schemas import (
    AssignIn,
    CauseOut,
    CloseIn,
    ComplaintIn,
    Health,
    MeOut,
    NoteIn,
    TicketOut,
    TicketPage,
    cause_out,
    ticket_out,
)
from alarms.api.tokens import Authenticator, Principal, TokenStore
from alarms.model import InvalidTransition, Ticket, TicketStatus

log = logging.getLogger("netqos.api")

TicketId = Annotated[int, Path(ge=1, le=2**63 - 1, description="ticket id")]
Clock = Callable[[], datetime]
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
EARLIEST_REPORT = datetime(2000, 1, 1, tzinfo=UTC)


def _static_dir() -> FsPath:
    return FsPath(str(resources.files("alarms.api") / "static"))


def create_app(
    store: TicketDesk,
    tokens: TokenStore,
    clock: Clock,
    language: str = "zh-CN",
    *,
    sites: Mapping[str, SiteInfo] | None = None,
    repair_deadline: RepairDeadline = no_deadline,
    timezone: str = "Asia/Shanghai",
    teams: Collection[str] = (),
) -> FastAPI:
    """``teams``: the inventory's field team names; assigning to any other name is refused (422)."""
    site_map: Mapping[str, SiteInfo] = sites or {}
    known_teams = frozenset(teams)
    auth = Authenticator(tokens)
    bearer = HTTPBearer(auto_error=False, description="an API token: `Authorization: Bearer nqt_…`")
    app = FastAPI(
        title="netqos ticket API",
        version="1",
        description="Trouble tickets for the NOC, field technicians and quality auditors. Errors are RFC 9457 "
        "problem details. A technician sees only their team's tickets: any other ticket answers 404.",
        responses=problems.problem_doc(401),
    )
    problems.install(app)

    def principal(creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> Principal:
        if creds is None:
            raise HTTPException(401, "no API token (Authorization: Bearer …)", {"WWW-Authenticate": "Bearer"})
        who = auth.authenticate(creds.credentials)
        if who is None:
            raise HTTPException(401, "unknown or invalid API token", {"WWW-Authenticate": "Bearer"})
        return who

    Caller = Annotated[Principal, Depends(principal)]

    def visible(who: Principal, ticket_id: int, action: Action) -> Ticket:
        if not may(who, action):
            raise HTTPException(403, f"role {who.role.value} may not {action.value} tickets")
        ticket = store.get(ticket_id)
        if ticket is None or not sees(who, ticket):
            raise HTTPException(404, f"no ticket {ticket_id}")
        return ticket

    def out(ticket: Ticket) -> TicketOut:
        return out_all([ticket])[0]

    def out_all(tickets: list[Ticket]) -> list[TicketOut]:
        states = store.symptoms_of([t.id for t in tickets if t.symptoms])
        return [ticket_out(t, site_map, repair_deadline(t), states.get(t.id, ())) for t in tickets]

    def change(who: Principal, ticket_id: int, action: Action, fn: Callable[[], Ticket]) -> TicketOut:
        visible(who, ticket_id, action)
        try:
            ticket = fn()
        except InvalidTransition as e:
            raise HTTPException(409, str(e) or f"cannot {action.value} ticket {ticket_id}") from e
        except LookupError as e:
            raise HTTPException(404, f"no ticket {ticket_id}") from e
        except ValueError as e:  # the store refusing a value the schema let through
            raise HTTPException(422, str(e)) from e
        log.info("api: ticket %d %s by %s (%s)", ticket_id, action.value, who.name, who.role.value)
        return out(ticket)

    def move(to: TicketStatus, action: Action) -> Callable[[Principal, int], TicketOut]:
        def handler(who: Caller, ticket_id: TicketId) -> TicketOut:
            return change(who, ticket_id, action, lambda: store.transition(ticket_id, to, who.name, clock()))

        return handler

    writes = problems.problem_doc(403, 404, 409, 422)

    @app.get("/healthz", response_model=Health, tags=["meta"], responses={})
    def healthz() -> Health:
        return Health(status="ok")

    @app.get("/api/me", response_model=MeOut, tags=["meta"])
    def me(who: Caller) -> MeOut:
        return MeOut(name=who.name, role=who.role.value, team=who.team, language=language, timezone=timezone,
                     server_time=clock())

    @app.get("/api/tickets", response_model=TicketPage, tags=["tickets"], responses=problems.problem_doc(422))
    def list_tickets(
        who: Caller,
        status: Annotated[list[TicketStatus], Query(description="any of these (repeatable)")] = [],  # noqa: B006
        region: Annotated[str | None, Query(max_length=64)] = None,
        team: Annotated[str | None, Query(max_length=64, description="technicians: always their own")] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
        offset: Annotated[int, Query(ge=0, le=2**31)] = 0,
    ) -> TicketPage:
        effective_team, empty = team_filter(who, team)
        empty = empty or any("\x00" in (v or "") for v in (region, team))  # no name holds NUL (PostgreSQL: error)
        found = [] if empty else store.list(status=tuple(status), team=effective_team, region=region,
                                             limit=limit, offset=offset)
        return TicketPage(items=out_all([t for t in found if sees(who, t)]), limit=limit, offset=offset)

    @app.get("/api/tickets/{ticket_id}", response_model=TicketOut, tags=["tickets"],
             responses=problems.problem_doc(404, 422))
    def get_ticket(who: Caller, ticket_id: TicketId) -> TicketOut:
        return out(visible(who, ticket_id, Action.READ))

    app.post("/api/tickets/{ticket_id}/ack", response_model=TicketOut, tags=["tickets"], responses=writes,
             summary="Acknowledge")(move(TicketStatus.ACKNOWLEDGED, Action.ACK))
    app.post("/api/tickets/{ticket_id}/progress", response_model=TicketOut, tags=["tickets"], responses=writes,
             summary="Start work (in progress)")(move(TicketStatus.IN_PROGRESS, Action.PROGRESS))
    app.post("/api/tickets/{ticket_id}/resolve", response_model=TicketOut, tags=["tickets"], responses=writes,
             summary="Resolve")(move(TicketStatus.RESOLVED, Action.RESOLVE))
    app.post("/api/tickets/{ticket_id}/reopen", response_model=TicketOut, tags=["tickets"], responses=writes,
             summary="Reopen (NOC only)")(move(TicketStatus.OPEN, Action.REOPEN))

    @app.post("/api/tickets/{ticket_id}/notes", response_model=TicketOut, tags=["tickets"], responses=writes)
    def add_note(who: Caller, ticket_id: TicketId, body: NoteIn) -> TicketOut:
        return change(who, ticket_id, Action.NOTE, lambda: store.add_note(ticket_id, who.name, body.text, clock()))

    @app.post("/api/tickets/{ticket_id}/close", response_model=TicketOut, tags=["tickets"], responses=writes)
    def close(who: Caller, ticket_id: TicketId, body: CloseIn) -> TicketOut:
        return change(who, ticket_id, Action.CLOSE, lambda: store.transition(
            ticket_id, TicketStatus.CLOSED, who.name, clock(), cause_code=body.cause_code))

    @app.post("/api/tickets/{ticket_id}/complaints", response_model=TicketOut, tags=["tickets"], responses=writes,
              summary="Link a customer complaint (NOC only)")
    def link_complaint(who: Caller, ticket_id: TicketId, body: ComplaintIn) -> TicketOut:
        visible(who, ticket_id, Action.COMPLAINT)  # 403/404 first
        now = clock()
        if not EARLIEST_REPORT <= body.reported_at <= now:
            raise HTTPException(422, f"reported_at must lie between {EARLIEST_REPORT.date()} and now "
                                     f"({now.isoformat()})")
        return change(who, ticket_id, Action.COMPLAINT, lambda: store.link_complaint(
            ticket_id, body.reported_at, who.name, now, reference=body.reference or "", contact=body.contact or ""))

    @app.post("/api/tickets/{ticket_id}/assign", response_model=TicketOut, tags=["tickets"], responses=writes,
              summary="Assign a field team (NOC only)")
    def assign(who: Caller, ticket_id: TicketId, body: AssignIn) -> TicketOut:
        visible(who, ticket_id, Action.ASSIGN)  # 403/404 before saying which teams exist
        if body.team not in known_teams:
            raise HTTPException(422, f"unknown team {body.team!r}: known teams are "
                                     f"{', '.join(sorted(known_teams)) or '(none configured)'}")
        return change(who, ticket_id, Action.ASSIGN, lambda: store.assign(ticket_id, body.team, who.name, clock()))

    @app.get("/api/causes", response_model=list[CauseOut], tags=["meta"], summary="Cause codes to close with")
    def causes(who: Caller) -> list[CauseOut]:
        return [cause_out(c) for c in store.causes.values()]

    static = _static_dir()
    page = (static / "index.html").read_text(encoding="utf-8").replace("{{LANG}}", language)

    @app.get("/", include_in_schema=False)
    def index() -> HTMLResponse:
        return HTMLResponse(page, headers=SECURITY_HEADERS)

    app.mount("/static", StaticFiles(directory=static), name="static")

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Callable[[Request], Any]) -> Any:
        response = await call_next(request)
        for k, v in SECURITY_HEADERS.items():
            response.headers.setdefault(k, v)
        return response

    return app
