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
    for meas, field in ((m.DEVICE, m.F_REACHABLE), (m.INTERFACE, m.F_OPER_STATUS), (m.POLLER, m.F_OK)):
        rows = query(url, db, f'SELECT count("{field}") FROM "{meas}" {where}')
        n = int(rows[0]["values"][0][1]) if rows else 0
        out.append(f"points in '{meas}': {n}")
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
