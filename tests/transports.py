"""Two ways to reach a recorded device, for tests that run the same checks over both.

``memory``: our in-memory :class:`~tests.snmprec.RecordingClient` answering from the parsed recording;
``snmpsim``: real snmpsim serving the same recording to the real pysnmp client. A test module using the
``transport`` fixture provides a ``recordings`` fixture (stem → parsed recording) for the memory side.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import pytest

from collectors.model import SnmpClient, Target
from tests.snmprec import Recording, RecordingClient


@dataclass(frozen=True, slots=True)
class Transport:
    """How a test reaches a recording: a Target by recording stem, and a client factory."""

    name: str
    target: Callable[[str], Target]
    factory: Callable[[Target], SnmpClient]


@pytest.fixture(params=["memory", "snmpsim"], scope="module")
async def transport(request: pytest.FixtureRequest, recordings: dict[str, Recording]) -> AsyncIterator[Transport]:
    if request.param == "memory":
        yield Transport(
            "memory",
            lambda stem: Target(stem, "127.0.0.1", community=stem),
            lambda t: RecordingClient(recordings[t.community]),
        )
        return
    from collectors.snmp.pysnmp_client import PysnmpEngine

    sim = request.getfixturevalue("snmpsim_recordings")
    async with PysnmpEngine() as engine:
        yield Transport("snmpsim", lambda stem: sim.target(stem, timeout_s=5.0, retries=2), engine.client)
