"""The lab's healthy baseline: the ports an operator watches are up before anyone injects a fault.

Recordings come from production gear in whatever state it was in (spare uplinks down, a radio carrier
reported down). In the lab the inventory's monitored ports (and PON ports) start up, so the alarms a demo
shows are the ones its faults cause. Pure: records in, overlay records out.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence

from lab.recordings import Record

IF_DESCR = "1.3.6.1.2.1.2.2.1.2."
IF_ADMIN = "1.3.6.1.2.1.2.2.1.7."
IF_OPER = "1.3.6.1.2.1.2.2.1.8."
IF_NAME = "1.3.6.1.2.1.31.1.1.1.1."
_UP = "1"


def _text(r: Record) -> str:
    if r.tag.startswith("4x"):
        try:
            return bytes.fromhex(r.value).decode("utf-8", "replace")
        except ValueError:
            return r.value
    return r.value


def port_names(records: Iterable[Record]) -> dict[str, str]:
    """ifIndex → name (ifName, else ifDescr), as the collectors name ports."""
    descr: dict[str, str] = {}
    names: dict[str, str] = {}
    for r in records:
        if r.oid.startswith(IF_NAME):
            names[r.oid[len(IF_NAME):]] = _text(r)
        elif r.oid.startswith(IF_DESCR):
            descr[r.oid[len(IF_DESCR):]] = _text(r)
    return {**descr, **names}


def _matches(name: str, watched: Collection[str]) -> bool:
    return name in watched or any(name.endswith(f" {w}") or w.endswith(f" {name}") for w in watched)


def healthy(records: Sequence[Record], watched: Collection[str]) -> list[Record]:
    """Overlay records that set admin and oper status up on every port named in ``watched``."""
    if not watched:
        return []
    present = {r.oid for r in records}
    out: list[Record] = []
    for index, name in sorted(port_names(records).items()):
        if not _matches(name, watched):
            continue
        for column in (IF_ADMIN, IF_OPER):
            if column + index in present:
                out.append(Record(column + index, "2", _UP))
    return out
