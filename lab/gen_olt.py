"""Generate a big Huawei SmartAX OLT recording (1,000+ ONUs) for the lab and the round-trip tests.

``python -m lab.gen_olt [--onus 1024] [--seed 7] [--out lab/devices/generated/olt_big.snmprec]``

Deterministic for a seed. Values are written the way the device scales them (TELECOM.md A3): Rx/Tx in
0.01 dBm, OLT-side Rx as raw = dBm×100 + 10000, 2147483647 where an offline ONU has no reading, ranging
−1 when unknown. The answer key (:func:`generate`'s ``expected``) is computed from the chosen physical
values, not from the raw numbers, so a scaling error in a profile shows up as a mismatch.

Distribution (per ONU): ~6 % offline (last down cause LOS, LOSi or dying-gasp, no optics), ~8 % degraded
(Rx −27…−30 dBm), the rest healthy (Rx −14…−24 dBm); distance 300…20,000 m.

The lab OLTs (``netqos lab up``) get their ONUs from :func:`plan_onus` (an :class:`OnuPlan`: device, vendor,
PON ports, ONUs per port, seed), rendered as extra SNMP records laid over the device's real recording
(:func:`onu_overlay`: Huawei SmartAX or ZTE ZXA10 encoding) and as the fakenos SSH OLT's table
(:func:`to_lab_onus`), so the SNMP and SSH paths of one lab OLT see the same ONUs.
"""

from __future__ import annotations

import argparse
import random
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from collectors.snmp.indexes import ZTE_BASE, huawei_pon_ifindex, zte_ifindex_to_gpon
from lab.fakenos_olt import LabOnu

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
    yield from huawei_onu_rows(items)


def huawei_onu_rows(items: Iterable[Onu]) -> Iterator[tuple[str, str, str]]:
    """The SmartAX ONU tables (serial, run state, ranging, down cause, optics) of ``items``, rows
    ``{ponIfIndex}.{ontId}``, values in the device's units (the sentinel where there is no reading)."""
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


# --- the lab OLTs: one ONU table per device, rendered as SNMP records and as the SSH OLT's table --------------

Vendor = Literal["huawei", "zte"]
IF_OPER_STATUS = "1.3.6.1.2.1.2.2.1.8"
HW_ADDED_ONTS = f"{X}.21.1.16"
Z = "1.3.6.1.4.1.3902.1012.3"
ZTE_NAME, ZTE_SN, ZTE_STATE = f"{Z}.28.1.1.2", f"{Z}.28.1.1.5", f"{Z}.28.2.1.2"
ZTE_RX, ZTE_OLT_RX = f"{Z}.50.12.1.1.10", f"{Z}.50.12.1.1.14"
ZTE_STEP_DBM = 0.002
"""ZTE optics: raw = (dBm + 30) / 0.002 (the profile decodes raw × 0.002 − 30)."""
DOWN_CAUSES = (1, 13)
"""Why the lab's offline ONUs went down: 1 LOS (fibre cut), 13 dying gasp (power off)."""


@dataclass(frozen=True, slots=True)
class OnuPlan:
    """How many ONUs a lab OLT carries on which of its (recorded) PON ports, and the seed of their values."""

    device: str
    vendor: Vendor
    pons: tuple[tuple[str, int], ...]
    """(PON port as the device names it: Huawei ``F/S/P``, ZTE ``1/S/P``; ONU count)."""
    seed: int
    offline_share: float = 0.07
    degraded_share: float = 0.10


def pon_ifindex(vendor: Vendor, pon: str) -> int:
    """The IF-MIB ifIndex of a PON port: Huawei ``(125<<25)+(F<<19)+(S<<13)+(P<<8)``; ZTE
    ``0x10000000 + (S−1)·65536 + (P−1)·256`` (its GPON tables add 65792)."""
    f, s, p = (int(x) for x in pon.split("/"))
    if vendor == "huawei":
        return huawei_pon_ifindex(f, s, p)
    if f != 1 or s < 1 or p < 1:
        raise ValueError(f"ZTE PON port {pon!r}: expected 1/slot/port with slot, port >= 1")
    return ZTE_BASE + (s - 1) * 65536 + (p - 1) * 256


def _zte_dbm(rng: random.Random, lo: float, hi: float) -> float:
    """A dBm value in [lo, hi] on the ZTE raw grid (so raw × 0.002 − 30 gives it back)."""
    raw = rng.randint(round((lo + 30) / ZTE_STEP_DBM), round((hi + 30) / ZTE_STEP_DBM))
    return round(raw * ZTE_STEP_DBM - 30, 3)


def plan_onus(plan: OnuPlan) -> list[Onu]:
    """The ONUs of a lab OLT (deterministic for the plan): ``offline_share`` offline (LOS or dying gasp, no
    readings), ``degraded_share`` degraded (Rx −27…−30 dBm), the rest healthy (Rx −14…−24 dBm). Huawei ONT
    ids start at 0, ZTE ONU ids at 1; serials are unique (``HWTC``/``ZTEG`` + 4 random bytes). The ZTE
    tables the profile reads carry Rx and OLT Rx only, so its ONUs have no other readings."""
    rng = random.Random(plan.seed)
    out: list[Onu] = []
    seen: set[bytes] = set()
    vendor_id = b"HWTC" if plan.vendor == "huawei" else b"ZTEG"
    first_id = 0 if plan.vendor == "huawei" else 1
    for pon, count in plan.pons:
        ifindex = pon_ifindex(plan.vendor, pon)
        for n in range(count):
            serial = vendor_id + rng.getrandbits(32).to_bytes(4, "big")
            while serial in seen:
                serial = vendor_id + rng.getrandbits(32).to_bytes(4, "big")
            seen.add(serial)
            roll = rng.random()
            onu_id = first_id + n
            if roll < plan.offline_share:
                out.append(Onu(pon, ifindex, onu_id, serial, False, rng.choice(DOWN_CAUSES),
                               None, None, None, None, None, None, None))
                continue
            lo, hi = (-30.0, -27.01) if roll < plan.offline_share + plan.degraded_share else (-24.0, -14.0)
            if plan.vendor == "zte":
                out.append(Onu(pon, ifindex, onu_id, serial, True, 1, _zte_dbm(rng, lo, hi), None,
                               _zte_dbm(rng, -28.0, -16.0), None, None, None, None))
                continue
            out.append(
                Onu(
                    pon, ifindex, onu_id, serial, True, rng.choice(DOWN_CAUSES),
                    round(rng.uniform(lo, hi), 2), round(rng.uniform(0.5, 4.5), 2), round(rng.uniform(-28.0, -16.0), 2),
                    rng.randint(25, 60), round(rng.uniform(3.20, 3.40), 3), rng.randint(8, 20), rng.randint(300, 20000),
                )
            )
    return out


def zte_onu_rows(items: Iterable[Onu]) -> Iterator[tuple[str, str, str]]:
    """The ZXA10 ONU tables of ``items``: name/serial/state rows ``{gponIndex}.{onuId}``, optics rows
    ``{gponIndex}.{onuId}.1`` (raw = (dBm + 30) / 0.002; the sentinel where there is no reading)."""
    for o in items:
        gpon = zte_ifindex_to_gpon(o.ifindex)
        if gpon is None:
            raise ValueError(f"ONU {o.pon}:{o.onu_id}: ifIndex {o.ifindex} is not a ZTE PON port")
        i = f"{gpon}.{o.onu_id}"
        yield f"{ZTE_NAME}.{i}", "4", f"lab-{o.pon}-{o.onu_id}"
        yield f"{ZTE_SN}.{i}", "4x", o.serial.hex()
        yield f"{ZTE_STATE}.{i}", "2", "1" if o.online else "2"
        yield f"{ZTE_RX}.{i}.1", "2", str(_raw(o.rx_dbm, ZTE_STEP_DBM, -30.0))
        yield f"{ZTE_OLT_RX}.{i}.1", "2", str(_raw(o.olt_rx_dbm, ZTE_STEP_DBM, -30.0))


def onu_overlay(vendor: Vendor, items: Sequence[Onu]) -> list[tuple[str, str, str]]:
    """What a lab OLT's recording gains (OID order): the ONU tables, and its populated PON ports up
    (``ifOperStatus`` 1; Huawei: "Added ONTs" = the port's ONU count)."""
    out: list[tuple[str, str, str]] = []
    for ifindex in sorted({o.ifindex for o in items}):
        out.append((f"{IF_OPER_STATUS}.{ifindex}", "2", "1"))
        if vendor == "huawei":
            out.append((f"{HW_ADDED_ONTS}.{ifindex}", "2", str(sum(o.ifindex == ifindex for o in items))))
    out += huawei_onu_rows(items) if vendor == "huawei" else zte_onu_rows(items)
    return sorted(out, key=lambda r: _key(r[0]))


CLI_CAUSES = {1: "LOS", 2: "LOSi/LOBi", 13: "dying-gasp"}  # hwGponDeviceOntLastDownCause → the CLI's words


def to_lab_onus(items: Iterable[Onu]) -> tuple[LabOnu, ...]:
    """The same ONUs as the fakenos SSH OLT's table (serial as the CLI shows it: 16 hex digits)."""
    out: list[LabOnu] = []
    for o in items:
        desc = f"lab-{o.pon}-{o.onu_id}"
        if not o.online or o.rx_dbm is None:
            out.append(LabOnu(o.pon, o.onu_id, o.serial.hex().upper(), False, description=desc,
                              last_down_cause=CLI_CAUSES.get(o.down_cause, "")))
            continue
        out.append(
            LabOnu(
                o.pon, o.onu_id, o.serial.hex().upper(), True, o.rx_dbm, o.tx_dbm or 0.0, o.olt_rx_dbm or 0.0,
                o.temperature_c or 0, o.voltage_v or 0.0, o.bias_ma or 0, o.distance_m or 0, desc,
            )
        )
    return tuple(out)


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
