"""``python -m lab.summary URL DB SINCE``: what a demo run wrote to InfluxDB, read back with InfluxQL."""

from __future__ import annotations

import json
import sys
import urllib.parse
import urllib.request
from typing import Any

from collectors import measurements as m


def query(url: str, db: str, q: str) -> list[dict[str, Any]]:
    body = urllib.parse.urlencode({"db": db, "q": q}).encode()
    with urllib.request.urlopen(urllib.request.Request(f"{url}/query", data=body), timeout=30) as r:
        doc = json.loads(r.read())
    series: list[dict[str, Any]] = doc["results"][0].get("series", [])
    return series


def points_written(url: str, db: str, where: str) -> dict[str, int]:
    """Points per measurement of the schema (:data:`collectors.measurements.SCHEMA`, in its order).

    InfluxQL has no count of points, only of a field's values: ``count(*)`` counts each field, and a point's
    measurement always carries at least one field, so the largest of those counts is the number of points
    (exact when some field is in every point, as ``reachable``, ``oper_status``, ``status``… are)."""
    out: dict[str, int] = {}
    for meas in m.SCHEMA:
        rows = query(url, db, f'SELECT count(*) FROM "{meas.name}" {where}')
        counts = [v for v in rows[0]["values"][0][1:] if isinstance(v, int)] if rows else []
        out[meas.name] = max(counts, default=0)
    return out


def summary(url: str, db: str, since: str) -> list[str]:
    out: list[str] = []
    where = f"WHERE time > '{since}'"
    polls = query(
        url, db, f'SELECT count("{m.F_OK}"), sum("{m.F_OK}") FROM "{m.POLLER}" {where} GROUP BY "{m.TAG_DEVICE}"'
    )
    total = ok = 0
    for s in polls:
        _, count, oks = s["values"][0]
        total += int(count)
        ok += int(oks)
    out.append(f"devices polled: {len(polls)}; polls: {total} ({ok} ok, {total - ok} failed)")
    written = points_written(url, db, where)
    out.append(f"samples written: {sum(written.values())} in {sum(1 for n in written.values() if n)} measurements")
    out.extend(f"points in '{meas}': {n}" for meas, n in written.items())
    down = query(url, db, f'SELECT count("{m.F_REACHABLE}") FROM "{m.DEVICE}" {where} AND "{m.F_REACHABLE}" = 0 '
                          f'GROUP BY "{m.TAG_DEVICE}"')
    for s in down:
        out.append(f"unreachable polls: {s['tags'][m.TAG_DEVICE]} x{int(s['values'][0][1])}")
    top = query(url, db, f'SELECT max("{m.F_IN_BPS}") FROM "{m.INTERFACE}" {where} GROUP BY "{m.TAG_DEVICE}"')
    for s in sorted(top, key=lambda s: -(s["values"][0][1] or 0))[:5]:
        bps = s["values"][0][1]
        if bps:
            out.append(f"busiest interface on {s['tags'][m.TAG_DEVICE]}: {bps / 1e6:,.1f} Mbit/s in")
    return out


def main(argv: list[str]) -> int:
    url, db, since = argv
    for line in summary(url, db, since):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
