"""Generate a big Huawei SmartAX OLT recording (1,000+ ONUs) for the lab and the round-trip tests.

``python -m lab.gen_olt [--onus 1024] [--seed 7] [--out lab/devices/generated/olt_big.snmprec]``

Deterministic for a seed. Values are written the way the device scales them (TELECOM.md A3): Rx/Tx in
0.01 dBm, OLT-side Rx as raw = dBm×100 + 10000, 2147483647 where an offline ONU has no reading, ranging
−1 when unknown. The answer key (:func:`generate`'s ``expected``) is computed from the chosen physical
values, not from the raw numbers, so a scaling error in a profile shows up as a mismatch.

Distribution (per ONU): ~6 % offline (last down cause LOS, LOSi or dying-gasp, no optics), ~8 % degraded
(Rx −27…−30 dBm), the rest healthy (Rx −14…−24 dBm); distance 300…20,000 m.
"""

from __future__ import annotations

import argparse
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from collectors.snmp.indexes import huawei_pon_ifindex

SENTINEL = 2147483647
SYS = "1.3.6.1.2.1.1"
X = "1.3.6.1.4.1.2011.6.128.1.1.2"
COL_SN, COL_RUN, COL_RANGE, COL_CAUSE = f"{X}.43.1.3", f"{X}.46.1.15", f"{X}.46.1.20", f"{X}.46.1.24"
COL_TEMP, COL_BIAS, COL_TX, COL_RX, COL_VOLT, COL_OLTRX = (f"{X}.51.1.{n}" for n in (1, 2, 3, 4, 5, 6))
DEFAULT_OUT = Path(__file__).resolve().parent / "devices" / "generated" / "olt_big.snmprec"


@dataclass(frozen=True, slots=True)
class Onu:
    """One generated ONU's physical truth (None = no reading)."""

    pon: str
    ifindex: int
    onu_id: int
    serial: bytes
    online: bool
    down_cause: int
    rx_dbm: float | None
    tx_dbm: float | None
    olt_rx_dbm: float | None
    temperature_c: int | None
    voltage_v: float | None
    bias_ma: int | None
    distance_m: int | None


def onus(count: int, seed: int) -> list[Onu]:
    """``count`` ONUs spread over slots 1–2, 16 ports each, up to 64 per port (deterministic)."""
    rng = random.Random(seed)
    out: list[Onu] = []
    ports = [(0, slot, port) for slot in (1, 2) for port in range(16)]
    per_port = -(-count // len(ports))
    for n in range(count):
        frame, slot, port = ports[n // per_port]
        onu_id = n % per_port
        ifindex = huawei_pon_ifindex(frame, slot, port)
        serial = b"HWTC" + rng.getrandbits(32).to_bytes(4, "big")
        roll = rng.random()
        if roll < 0.06:
            cause = rng.choice((1, 2, 13))
            out.append(Onu(f"{frame}/{slot}/{port}", ifindex, onu_id, serial, False, cause,
                           None, None, None, None, None, None, None if rng.random() < 0.5 else rng.randint(300, 20000)))
            continue
        rx = round(rng.uniform(-30.0, -27.01), 2) if roll < 0.14 else round(rng.uniform(-24.0, -14.0), 2)
        out.append(
            Onu(
                f"{frame}/{slot}/{port}", ifindex, onu_id, serial, True, rng.choice((1, 13)),
                rx, round(rng.uniform(0.5, 4.5), 2), round(rng.uniform(-28.0, -16.0), 2),
                rng.randint(25, 60), round(rng.uniform(3.20, 3.40), 3), rng.randint(8, 20), rng.randint(300, 20000),
            )
        )
    return out


def _raw(value: float | int | None, scale: float, offset: float = 0.0) -> int:
    return SENTINEL if value is None else round((value - offset) / scale)


def records(items: list[Onu]) -> Iterator[tuple[str, str, str]]:
    """``(oid, type, value)`` records in no particular order."""
    yield f"{SYS}.1.0", "4", "Huawei Integrated Access Software (generated)"
    yield f"{SYS}.2.0", "6", "1.3.6.1.4.1.2011.2.123"
    yield f"{SYS}.3.0", "67", "123456789"
    yield f"{SYS}.5.0", "4", "olt-big"
    for ifindex in sorted({o.ifindex for o in items}):
        yield f"1.3.6.1.2.1.2.2.1.8.{ifindex}", "2", "1"
        yield f"1.3.6.1.2.1.31.1.1.1.1.{ifindex}", "4", "GPON " + next(o.pon for o in items if o.ifindex == ifindex)
    for o in items:
        i = f"{o.ifindex}.{o.onu_id}"
        yield f"{COL_SN}.{i}", "4x", o.serial.hex()
        yield f"{COL_RUN}.{i}", "2", "1" if o.online else "2"
        yield f"{COL_RANGE}.{i}", "2", str(-1 if o.distance_m is None else o.distance_m)
        yield f"{COL_CAUSE}.{i}", "2", str(o.down_cause)
        yield f"{COL_TEMP}.{i}", "2", str(_raw(o.temperature_c, 1))
        yield f"{COL_BIAS}.{i}", "2", str(_raw(o.bias_ma, 1))
        yield f"{COL_TX}.{i}", "2", str(_raw(o.tx_dbm, 0.01))
        yield f"{COL_RX}.{i}", "2", str(_raw(o.rx_dbm, 0.01))
        yield f"{COL_VOLT}.{i}", "2", str(_raw(o.voltage_v, 0.001))
        yield f"{COL_OLTRX}.{i}", "2", str(_raw(o.olt_rx_dbm, 0.01, -100.0))


def _key(oid: str) -> tuple[int, ...]:
    return tuple(int(p) for p in oid.split("."))


def snmprec(items: list[Onu]) -> str:
    """The recording's text (records in OID order, as snmpsim needs)."""
    return "".join(f"{o}|{t}|{v}\n" for o, t, v in sorted(records(items), key=lambda r: _key(r[0])))


def write(path: Path, count: int, seed: int) -> list[Onu]:
    """Write the recording for ``count`` ONUs; returns the ONUs (the answer key)."""
    items = onus(count, seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(snmprec(items), encoding="iso-8859-1")
    return items


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--onus", type=int, default=1024)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = ap.parse_args(argv)
    items = write(args.out, args.onus, args.seed)
    offline = sum(not o.online for o in items)
    print(f"{args.out}: {len(items)} ONUs, {offline} offline")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
