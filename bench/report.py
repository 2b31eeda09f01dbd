"""Pure summary of the bench's runs: medians per poller, ratios against the Go peer of the same round,
the varbind cross-check, and the printed table."""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from bench.workload import Section


@dataclass(frozen=True, slots=True)
class Measured:
    """One poller's pass in one round, with what the bench saw around it.

    ``process_cpu_s`` is the poller's whole process tree (start-up and imports included);
    ``agent_cpu_s`` the snmpd processes'; ``other_cpu_s`` what the rest of the machine burnt meanwhile.
    """

    round: int
    section: Section
    process_cpu_s: float
    agent_cpu_s: float
    other_cpu_s: float
    udp_drops: int = 0
    pdus: float = 0.0
    """SNMP request PDUs sent during the pass (half the UDP datagrams received in the namespace)."""

    @property
    def polled(self) -> int:
        return len(self.section.varbinds) + len(self.section.failures)

    @property
    def agents_per_s(self) -> float:
        return len(self.section.varbinds) / self.section.wall_s if self.section.wall_s > 0 else 0.0

    @property
    def varbinds_per_s(self) -> float:
        total = sum(self.section.varbinds.values())
        return total / self.section.wall_s if self.section.wall_s > 0 else 0.0

    @property
    def cpu_per_1000(self) -> float:
        return 1000.0 * self.section.cpu_s / self.polled if self.polled else 0.0

    @property
    def cpu_us_per_varbind(self) -> float:
        total = sum(self.section.varbinds.values())
        return 1e6 * self.section.cpu_s / total if total else float("nan")


@dataclass(frozen=True, slots=True)
class Summary:
    """Medians over the rounds for one poller (failures are summed over the rounds)."""

    poller: str
    workload: str
    rounds: int
    agents: int
    wall_s: float
    agents_per_s: float
    varbinds_per_s: float
    cpu_per_1000: float
    cpu_us_per_varbind: float
    process_cpu_per_1000: float
    agent_cpu_per_1000: float
    failures: int
    failure_reasons: Mapping[str, int]
    speed_vs_ref: float
    cpu_vs_ref: float
    varbinds_per_agent: Mapping[int, int]
    """varbinds kept per agent → how many agents (over all rounds); one key when all agree."""
    other_load_cores: float
    pdus_per_agent: float
    udp_drops: int
    """UDP datagrams dropped on full receive buffers in the fleet's namespace (summed over rounds)."""
    extra: Mapping[str, float]


def _median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def summarize(runs: Sequence[Measured], reference: str, workloads: Mapping[str, str]) -> list[Summary]:
    """One :class:`Summary` per poller, in first-seen order; ratios are per round against ``reference``."""
    by_poller: dict[str, list[Measured]] = {}
    for m in runs:
        by_poller.setdefault(m.section.poller, []).append(m)
    ref = {m.round: m for m in by_poller.get(reference, [])}
    out = []
    for poller, ms in by_poller.items():
        speed = [m.agents_per_s / ref[m.round].agents_per_s for m in ms if m.round in ref and ref[m.round].agents_per_s]
        cpu = [ref[m.round].cpu_per_1000 / m.cpu_per_1000 for m in ms if m.round in ref and m.cpu_per_1000]
        per_agent: Counter[int] = Counter(v for m in ms for v in m.section.varbinds.values())
        reasons: Counter[str] = Counter(r for m in ms for r in m.section.failures.values())
        extra_keys = sorted({k for m in ms for k in m.section.extra})
        out.append(
            Summary(
                poller=poller,
                workload=workloads.get(poller, "peers"),
                rounds=len(ms),
                agents=max(m.polled for m in ms),
                wall_s=_median([m.section.wall_s for m in ms]),
                agents_per_s=_median([m.agents_per_s for m in ms]),
                varbinds_per_s=_median([m.varbinds_per_s for m in ms]),
                cpu_per_1000=_median([m.cpu_per_1000 for m in ms]),
                cpu_us_per_varbind=_median([m.cpu_us_per_varbind for m in ms]),
                process_cpu_per_1000=_median([1000.0 * m.process_cpu_s / m.polled for m in ms if m.polled]),
                agent_cpu_per_1000=_median([1000.0 * m.agent_cpu_s / m.polled for m in ms if m.polled]),
                failures=sum(len(m.section.failures) for m in ms),
                failure_reasons=dict(reasons),
                speed_vs_ref=_median(speed),
                cpu_vs_ref=_median(cpu),
                varbinds_per_agent=dict(sorted(per_agent.items())),
                other_load_cores=_median([m.other_cpu_s / m.section.wall_s for m in ms if m.section.wall_s > 0]),
                pdus_per_agent=_median([m.pdus / m.polled for m in ms if m.polled]),
                udp_drops=sum(m.udp_drops for m in ms),
                extra={k: _median([m.section.extra[k] for m in ms if k in m.section.extra]) for k in extra_keys},
            )
        )
    return out


def varbind_mismatches(runs: Sequence[Measured], reference: str, workloads: Mapping[str, str]) -> list[str]:
    """Agents where a poller of the PEERS workload kept a different varbind count than ``reference``
    did for the same agent in the same round (and agents that the reference itself disagrees on)."""
    ref = {m.round: m.section.varbinds for m in runs if m.section.poller == reference}
    problems = []
    for m in runs:
        if m.section.poller == reference or workloads.get(m.section.poller, "peers") != "peers":
            continue
        want = ref.get(m.round, {})
        bad = {p: (v, want[p]) for p, v in m.section.varbinds.items() if p in want and want[p] != v}
        if bad:
            port, (got, exp) = next(iter(sorted(bad.items())))
            problems.append(
                f"round {m.round}: {m.section.poller} differs from {reference} on {len(bad)} agents "
                f"(e.g. 127.0.0.1:{port}: {got} vs {exp} varbinds)"
            )
    return problems


def _fmt(x: float, digits: int = 1) -> str:
    return "-" if x != x else f"{x:,.{digits}f}"  # NaN → "-"


def table(summaries: Sequence[Summary]) -> str:
    """The human table: one row per poller (medians), ratios against the reference of the same round."""
    head = (
        "poller",
        "workload",
        "wall s",
        "agents/s",
        "varbinds/s",
        "CPU-s/1k polls",
        "CPU µs/vb",
        "agent CPU-s/1k",
        "failures",
        "PDUs/agent",
        "UDP drops",
        "vb/agent",
        "× Go speed",
        "× Go CPU eff.",
    )
    rows = [head]
    for s in summaries:
        vb = "/".join(str(k) for k in s.varbinds_per_agent) or "-"
        rows.append(
            (
                s.poller,
                s.workload,
                _fmt(s.wall_s, 2),
                _fmt(s.agents_per_s),
                _fmt(s.varbinds_per_s, 0),
                _fmt(s.cpu_per_1000, 2),
                _fmt(s.cpu_us_per_varbind, 1),
                _fmt(s.agent_cpu_per_1000, 2),
                str(s.failures),
                _fmt(s.pdus_per_agent),
                str(s.udp_drops),
                vb,
                _fmt(s.speed_vs_ref, 3),
                _fmt(s.cpu_vs_ref, 3),
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    lines = []
    for n, r in enumerate(rows):
        cells = [c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True))]
        lines.append("  ".join(cells))
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def to_jsonable(summaries: Sequence[Summary], runs: Sequence[Measured]) -> dict[str, Any]:
    def run_dict(m: Measured) -> dict[str, Any]:
        s = m.section
        return {
            "round": m.round,
            "poller": s.poller,
            "wall_s": s.wall_s,
            "cpu_s": s.cpu_s,
            "process_cpu_s": m.process_cpu_s,
            "agent_cpu_s": m.agent_cpu_s,
            "other_cpu_s": m.other_cpu_s,
            "udp_drops": m.udp_drops,
            "pdus": m.pdus,
            "agents_ok": len(s.varbinds),
            "varbinds": sum(s.varbinds.values()),
            "failures": {str(k): v for k, v in s.failures.items()},
            "extra": dict(s.extra),
        }

    def summary_dict(s: Summary) -> dict[str, Any]:
        d = asdict(s)
        d["varbinds_per_agent"] = {str(k): v for k, v in s.varbinds_per_agent.items()}
        return d

    return {"summary": [summary_dict(s) for s in summaries], "runs": [run_dict(m) for m in runs]}
