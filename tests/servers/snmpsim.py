"""pytest fixtures for a real snmpsim server on 127.0.0.1 (registered in tests/conftest.py).

``snmpsim_recordings`` serves every recording in ``lab/devices`` (``NETQOS_DEVICES`` overrides the
directory) from one snmpsim process on one free UDP port, for the whole session. SNMPv2c community and SNMPv3
context name are the recording's file stem.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from collectors.model import Target
from lab.network import default_recordings_dir
from lab.snmpsim import SnmpsimError, SnmpsimProcess, V3User, free_udp_port, stage_recordings

DEVICES_DIR = default_recordings_dir()
"""Where the recorded devices live (``lab/devices`` in the checkout)."""

SNMPSIM_V3 = V3User("simv3", "simauthpass1", "SHA", "simprivpass1", "AES")
"""The simulator's one SNMPv3 user (authPriv, SHA/AES)."""


@dataclass(frozen=True, slots=True)
class SnmpsimRecordings:
    """A running snmpsim serving recordings: where it listens and how to reach each recording."""

    host: str
    port: int
    data_dir: Path
    stems: tuple[str, ...]
    process: SnmpsimProcess

    def recording(self, stem: str) -> Path:
        """The served copy of a recording (``data_dir/stem.snmprec``)."""
        if stem not in self.stems:
            raise KeyError(f"no recording {stem!r}; have {', '.join(self.stems)}")
        return self.data_dir / f"{stem}.snmprec"

    def target(self, stem: str, **overrides: Any) -> Target:
        """A v2c :class:`Target` for one recording (community = stem); keyword overrides replace fields."""
        self.recording(stem)
        base = Target(name=stem, address=self.host, port=self.port, community=stem, timeout_s=2.0, retries=1)
        return replace(base, **overrides)

    def target_v3(self, stem: str, **overrides: Any) -> Target:
        """A v3 authPriv (SHA/AES) :class:`Target` for one recording (context name = stem)."""
        base = self.target(stem, community="")
        v3 = replace(
            base,
            version="3",
            user=SNMPSIM_V3.user,
            auth_protocol=SNMPSIM_V3.auth_proto,
            auth_key=SNMPSIM_V3.auth_key,
            priv_protocol=SNMPSIM_V3.priv_proto,
            priv_key=SNMPSIM_V3.priv_key,
            context=stem,
        )
        return replace(v3, **overrides)


@pytest.fixture(scope="session")
def snmpsim_recordings() -> Iterator[SnmpsimRecordings]:
    """snmpsim serving all ``*.snmprec`` recordings on one free 127.0.0.1 port; stopped at session end.

    Its files live in a private temporary directory, not pytest's ``tmp_path``: pytest prunes old
    ``pytest-N`` directories when *other* sessions start, which would pull the recordings from under a
    running simulator.
    """
    sources = sorted(DEVICES_DIR.glob("*.snmprec"))
    if not sources:
        pytest.fail(f"no recordings in {DEVICES_DIR}")
    with tempfile.TemporaryDirectory(prefix="netqos-snmpsim-") as tmp:
        yield from _serve(sources, Path(tmp))


def _serve(sources: list[Path], root: Path) -> Iterator[SnmpsimRecordings]:
    data_dir = stage_recordings(sources, root / "data")
    stems = tuple(p.stem for p in sources)
    last_error: SnmpsimError | None = None
    for _attempt in range(3):  # the free port may be taken between the pick and snmpsim's bind
        port = free_udp_port()
        proc = SnmpsimProcess.start(
            data_dir, [("127.0.0.1", port)], root / "cache", root / "snmpsim.log", v3=SNMPSIM_V3
        )
        try:
            proc.wait_ready(stems[0], timeout_s=60)
        except SnmpsimError as exc:
            proc.stop()
            last_error = exc
            continue
        try:
            yield SnmpsimRecordings("127.0.0.1", port, data_dir, stems, proc)
        finally:
            proc.stop()
        return
    pytest.fail(f"snmpsim did not start: {last_error}")
