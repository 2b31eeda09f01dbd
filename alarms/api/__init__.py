"""The ticket API and the technician page: :func:`create_app`."""

from alarms.api.app import create_app

__all__ = ["create_app"]
