"""Alembic env: always runs on the connection :mod:`alarms.tickets.migrate` passes in (no ini file)."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from alarms.tickets.schema import Base

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError("run ticket migrations through alarms.tickets.migrate (it passes the connection)")
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    version_table="alembic_version_tickets",
)
with context.begin_transaction():
    context.run_migrations()
