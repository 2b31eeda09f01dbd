"""The benchmark workload ("one agent poll", ../shared/PEERS.md) and the value every poller reports.

One agent poll = one GET of sysUpTime.0 + sysName.0, then a GETBULK walk (max-repetitions 25) of each of
eight IF-MIB columns. Timeout 10 s, 2 retries. Every poller runs exactly this, so their varbind counts per
agent must agree.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

SYS_UPTIME = "1.3.6.1.2.1.1.3.0"
SYS_NAME = "1.3.6.1.2.1.1.5.0"
SCALARS: tuple[str, ...] = (SYS_UPTIME, SYS_NAME)

IF_COLUMNS: tuple[tuple[str, str], ...] = (
    ("ifDescr", "1.3.6.1.2.1.2.2.1.2"),
    ("ifOperStatus", "1.3.6.1.2.1.2.2.1.8"),
    ("ifInErrors", "1.3.6.1.2.1.2.2.1.14"),
    ("ifOutErrors", "1.3.6.1.2.1.2.2.1.20"),
    ("ifHCInOctets", "1.3.6.1.2.1.31.1.1.1.6"),
    ("ifHCOutOctets", "1.3.6.1.2.1.31.1.1.1.10"),
    ("ifHighSpeed", "1.3.6.1.2.1.31.1.1.1.15"),
    ("ifAlias", "1.3.6.1.2.1.31.1.1.1.18"),
)
COLUMNS: tuple[str, ...] = tuple(oid for _, oid in IF_COLUMNS)

COMMUNITY = "public"
MAX_REPETITIONS = 25
TIMEOUT_S = 10.0
RETRIES = 2


def expected_varbinds(interfaces: int) -> int:
    """Varbinds one agent poll keeps from an agent with ``interfaces`` IF-MIB rows."""
    return len(SCALARS) + len(COLUMNS) * interfaces


@dataclass(frozen=True, slots=True)
class Section:
    """What one poller measured about its own timed section (one pass over the fleet).

    ``varbinds`` maps agent port → varbinds kept for that agent; ``failures`` maps port → reason.
    ``cpu_s`` is user+sys of the poller (and the processes it spawned) during the section only;
    ``extra`` holds poller-specific figures (e.g. the exporter's and the HTTP client's CPU apart).
    """

    poller: str
    wall_s: float
    cpu_s: float
    varbinds: Mapping[int, int]
    failures: Mapping[int, str] = field(default_factory=dict)
    extra: Mapping[str, float] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(
            {
                "poller": self.poller,
                "wall_s": self.wall_s,
                "cpu_s": self.cpu_s,
                "varbinds": {str(k): v for k, v in self.varbinds.items()},
                "failures": {str(k): v for k, v in self.failures.items()},
                "extra": dict(self.extra),
            }
        )

    @staticmethod
    def from_json(text: str) -> Section:
        raw: dict[str, Any] = json.loads(text)
        return Section(
            poller=str(raw["poller"]),
            wall_s=float(raw["wall_s"]),
            cpu_s=float(raw["cpu_s"]),
            varbinds={int(k): int(v) for k, v in raw["varbinds"].items()},
            failures={int(k): str(v) for k, v in raw.get("failures", {}).items()},
            extra={str(k): float(v) for k, v in raw.get("extra", {}).items()},
        )
