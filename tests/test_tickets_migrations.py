"""Alembic migrations of the ticket store: upgrade on an empty database, round trip, schema equals the ORM."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from alarms.tickets import migrate, open_store
from alarms.tickets.schema import Base
from alarms.tickets.store import make_engine
from tests.servers.postgres import postgres  # noqa: F401  (fixture)
from tests.tickets_fixtures import at, db_url, open_action  # noqa: F401  (db_url: fixture)

TABLES = {"tickets", "ticket_symptoms", "ticket_services", "ticket_notes", "ticket_audit", "dispatch_cursors"}


def head() -> str:
    cfg = Config()
    cfg.set_main_option("script_location", str(migrate.MIGRATIONS))
    rev = ScriptDirectory.from_config(cfg).get_current_head()
    assert rev is not None
    return rev


def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_upgrade_head_on_empty_db_matches_the_models(db_url: str) -> None:  # noqa: F811
    engine = make_engine(db_url)
    try:
        assert migrate.current_revision(engine) is None
        migrate.upgrade(engine)
        assert migrate.current_revision(engine) == head()
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"version_table": migrate.VERSION_TABLE})
            assert compare_metadata(ctx, Base.metadata) == []
    finally:
        engine.dispose()
    assert _tables(db_url) >= TABLES


@pytest.mark.parametrize("cycles", [2])
def test_downgrade_upgrade_round_trip(db_url: str, cycles: int) -> None:  # noqa: F811
    for _ in range(cycles):
        store = open_store(db_url)
        t, created = store.open_or_get(open_action(), None, at(0))
        assert created and store.get(t.id) == t
        store.close()
        engine = make_engine(db_url)
        try:
            migrate.downgrade(engine, "base")
            assert migrate.current_revision(engine) is None
        finally:
            engine.dispose()
        assert _tables(db_url) & TABLES == set()


def test_open_store_twice_is_a_no_op_upgrade(db_url: str) -> None:  # noqa: F811
    with open_store(db_url) as a:
        t, _ = a.open_or_get(open_action(), None, at(0))
    with open_store(db_url) as b:
        assert b.get(t.id) == t
        assert migrate.current_revision(b.engine) == head()


def test_plain_postgresql_url_uses_psycopg() -> None:
    engine = make_engine("postgresql://u@127.0.0.1:1/x")
    try:
        assert engine.dialect.driver == "psycopg"
    finally:
        engine.dispose()


@pytest.mark.parametrize("start", ["0001", "0002"])
def test_upgrade_keeps_tickets_written_by_an_older_schema(db_url: str, start: str) -> None:  # noqa: F811
    """A database at an older revision with a ticket in it: upgrading keeps the ticket, its symptoms are
    active (no ``cleared_at``) and the dispatch cursors start at 0; downgrading again works."""
    engine = make_engine(db_url)
    try:
        migrate.upgrade(engine, start)
        with engine.begin() as conn:
            tid = conn.execute(
                sa.text(
                    "INSERT INTO tickets (dedup_key, status, priority, title, region, site, detected, created_at, "
                    "updated_at) VALUES ('olt|device_unreachable|', 'open', 2, 't', 'r', 's', :t, :t, :t) "
                    "RETURNING id"
                ),
                {"t": at(0).replace(tzinfo=None)},
            ).scalar_one()
            conn.execute(
                sa.text("INSERT INTO ticket_symptoms (ticket_id, alarm_key, attached_at) VALUES (:id, 'onu|x|', :t)"),
                {"id": tid, "t": at(0).replace(tzinfo=None)},
            )
    finally:
        engine.dispose()
    with open_store(db_url) as store:
        assert migrate.current_revision(store.engine) == head()
        t = store.get(tid)
        assert t is not None and [str(k) for k in t.symptoms] == ["onu|x|"]
        assert store.symptoms_of([tid])[tid][0].cleared_at is None
        assert store.cursor("notify") == 0
        assert store.mark_cleared("onu|x|", at(5)) == [tid]
    engine = make_engine(db_url)
    try:
        migrate.downgrade(engine, start)
        assert migrate.current_revision(engine) == start
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("audit_rows", "cursors_before", "cursors_after"),
    [
        (0, {}, {"notify": 0, "grafana": 0}),  # no history: the readers start at the beginning
        (3, {}, None),  # history and no cursor: both start at the end of the trail (None: its last id)
        (3, {"notify": 1}, {"notify": 1, "grafana": None}),  # a cursor already there is kept
        (2, {"notify": 2, "grafana": 1}, {"notify": 2, "grafana": 1}),
    ],
)
def test_upgrade_starts_the_dispatch_cursors_at_the_end_of_existing_history(
    db_url: str,  # noqa: F811
    audit_rows: int,
    cursors_before: dict[str, int],
    cursors_after: dict[str, int | None] | None,
) -> None:
    """A database at 0003 written before the dispatcher ran: upgrading must not make it replay every change."""
    engine = make_engine(db_url)
    try:
        migrate.upgrade(engine, "0003")
        with engine.begin() as conn:
            tid = conn.execute(
                sa.text(
                    "INSERT INTO tickets (dedup_key, status, priority, title, region, site, detected, created_at, "
                    "updated_at) VALUES ('olt|device_unreachable|', 'open', 2, 't', 'r', 's', :t, :t, :t) "
                    "RETURNING id"
                ),
                {"t": at(0).replace(tzinfo=None)},
            ).scalar_one()
            ids = [
                conn.execute(
                    sa.text(
                        "INSERT INTO ticket_audit (ticket_id, actor, time, action, detail) "
                        "VALUES (:id, 'system', :t, 'note', '{}') RETURNING id"
                    ),
                    {"id": tid, "t": at(i).replace(tzinfo=None)},
                ).scalar_one()
                for i in range(audit_rows)
            ]
            for name, value in cursors_before.items():
                conn.execute(
                    sa.text("INSERT INTO dispatch_cursors (name, last_id) VALUES (:n, :v)"), {"n": name, "v": value}
                )
    finally:
        engine.dispose()
    last = max(ids, default=0)
    expected = {n: last if v is None else v for n, v in (cursors_after or {"notify": None, "grafana": None}).items()}
    with open_store(db_url) as store:
        assert migrate.current_revision(store.engine) == head()
        assert {n: store.cursor(n) for n in expected} == expected
        assert audit_rows == 0 or expected["grafana"] > 0  # the case is not vacuous
    engine = make_engine(db_url)
    try:
        migrate.downgrade(engine, "0003")
        assert migrate.current_revision(engine) == "0003"
    finally:
        engine.dispose()
