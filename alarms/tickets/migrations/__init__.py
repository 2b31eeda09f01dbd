"""Alembic environment of the ticket store (run programmatically by :mod:`alarms.tickets.migrate`)."""
