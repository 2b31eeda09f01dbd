"""The lab's SSH OLT: fakenos's Huawei SmartAX extended with ``interface gpon F/S`` mode and ONU tables.

The outputs are rendered in the vendor's format (MA5800: 8-column ``display ont optical-info``) from a
deterministic ONU table (:func:`lab_onus`), so tests know the expected values. The render functions are pure
and importable from the main venv; the server part imports fakenos lazily and runs from the side venv
``.venv-fakenos`` (fakenos pins ``paramiko<=4``)::

    .venv-fakenos/bin/python -m lab.fakenos_olt --port 16002 [--host-key FILE] [--username U --password-file F]

Modes: ``enable`` → ``#``; ``config`` → ``(config)#``; ``interface gpon 0/1`` → ``(config-if-gpon-0/1)#``;
``quit`` leaves one level (and logs out from the top); ``return`` goes back to ``#``.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final

RULE: Final = "  " + "-" * 77
BASE_PROMPT: Final = "MA5800-X7"
NO_ONT: Final = "  Failure: The ONT does not exist"


@dataclass(frozen=True, slots=True)
class LabOnu:
    """One simulated ONT. Offline ONTs have no optical readings (the device shows ``-``)."""

    pon: str  # F/S/P
    onu_id: int
    serial: str
    online: bool
    rx_dbm: float = 0.0
    tx_dbm: float = 0.0
    olt_rx_dbm: float = 0.0
    temperature_c: int = 0
    voltage_v: float = 0.0
    bias_ma: int = 0
    distance_m: int = 0
    description: str = ""

    @property
    def fsp(self) -> tuple[int, int, int]:
        f, s, p = (int(x) for x in self.pon.split("/"))
        return f, s, p


LAB_PONS: Final = ("0/1/0", "0/1/1", "0/2/3")
"""The lab OLT's PON ports: 0/1/0 with online and offline ONTs, 0/1/1 empty, 0/2/3 on another board."""


def lab_onus() -> tuple[LabOnu, ...]:
    """The deterministic ONU table the lab OLT serves (values in the device's own precision)."""
    out = []
    for i in range(6):
        online = i not in (2, 5)
        out.append(
            LabOnu(
                pon="0/1/0", onu_id=i, serial=f"48575443{0x1A2B3C00 + i:08X}", online=online,
                rx_dbm=round(-18.5 - 1.37 * i, 2), tx_dbm=round(2.1 + 0.11 * i, 2),
                olt_rx_dbm=round(-20.4 - 0.93 * i, 2), temperature_c=41 + i, voltage_v=round(3.22 + 0.02 * i, 3),
                bias_ma=9 + i, distance_m=1200 + 37 * i, description=f"home-{i}",
            )
        )
    out.append(LabOnu("0/2/3", 7, "5A544547C0FFEE01", True, -27.96, 1.52, -29.01, 55, 3.3, 21, 19870, "far-end"))
    out.append(LabOnu("0/2/3", 12, "5A544547C0FFEE02", False, description="lost"))
    return tuple(out)


def _num(v: float, digits: int, online: bool) -> str:
    return f"{v:.{digits}f}" if online else "-"


def render_ont_info(pon: str, onus: Iterable[LabOnu]) -> str:
    """``display ont info F S P all`` for ``pon`` (the state table, descriptions, totals)."""
    mine = sorted((o for o in onus if o.pon == pon), key=lambda o: o.onu_id)
    if not mine:
        return NO_ONT
    f, s, p = mine[0].fsp
    fsp = f"{f}/{s:>2}/{p}"
    lines = [
        RULE,
        "  F/S/P   ONT         SN         Control     Run      Config   Match    Protect",
        "          ID                     flag        state    state    state    side ",
        RULE,
    ]
    for o in mine:
        run, cfg, match = ("online", "normal", "match") if o.online else ("offline", "initial", "initial")
        lines.append(f"  {fsp}  {o.onu_id:>3}  {o.serial}  active      {run:<8} {cfg:<8} {match:<8} no ")
    lines += [RULE, "  F/S/P       ONT  Description  ", "              ID  ", RULE]
    lines += [f"  {fsp}     {o.onu_id:>3}   {o.description}" for o in mine]
    online = sum(1 for o in mine if o.online)
    lines += [RULE, f"  In port {fsp} , the total of ONTs are: {len(mine)}, online: {online}", RULE]
    return "\n".join(lines)


def render_optical_info(pon: str, onus: Iterable[LabOnu]) -> str:
    """``display ont optical-info P all`` (in ``interface gpon F/S``) for ``pon``, MA5800 8-column layout."""
    mine = sorted((o for o in onus if o.pon == pon), key=lambda o: o.onu_id)
    if not mine:
        return NO_ONT
    lines = [
        RULE,
        "  ONT  Rx power  Tx power  OLT Rx ONT  Temperature  Voltage  Current  Distance  ",
        "  ID   (dBm)     (dBm)     power(dBm)  (C)          (V)      (mA)     (m)       ",
        RULE,
    ]
    for o in mine:
        on = o.online
        cols = [
            f"{o.onu_id:>5}",
            f"  {_num(o.rx_dbm, 2, on):<10}",
            f"{_num(o.tx_dbm, 2, on):<10}",
            f"{_num(o.olt_rx_dbm, 2, on):<12}",
            f"{str(o.temperature_c) if on else '-':<13}",
            f"{_num(o.voltage_v, 3, on):<9}",
            f"{str(o.bias_ma) if on else '-':<9}",
            f"{str(o.distance_m) if on else '-':<9}",
        ]
        lines.append("".join(cols))
    lines.append(RULE)
    return "\n".join(lines)


# --- the fakenos server (side venv only) ---------------------------------------------------------------------

Handler = Callable[..., Any]


def _boards(pons: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(p.rsplit("/", 1)[0] for p in pons))


def lab_commands(onus: Sequence[LabOnu], pons: Sequence[str]) -> dict[str, dict[str, Any]]:
    """fakenos command entries added to the built-in SmartAX: modes, ``display ont info``, optical-info."""
    user, enable, config = "{base_prompt}>", "{base_prompt}#", "{base_prompt}(config)#"
    if_prompts = [f"{{base_prompt}}(config-if-gpon-{b})#" for b in _boards(pons)]
    every = [user, enable, config, *if_prompts]

    def quit_(device: Any, base_prompt: str, current_prompt: str, command: str) -> Any:
        if "(config-if-" in current_prompt:
            return {"output": "", "new_prompt": config}
        if current_prompt.endswith("(config)#"):
            return {"output": "", "new_prompt": enable}
        return True  # log out

    def return_(device: Any, base_prompt: str, current_prompt: str, command: str) -> Any:
        return {"output": "", "new_prompt": enable}

    def optical(port: str) -> Handler:
        def handler(device: Any, base_prompt: str, current_prompt: str, command: str) -> str:
            board = current_prompt.rsplit("(config-if-gpon-", 1)[-1].rstrip(")#")
            return render_optical_info(f"{board}/{port}", onus)

        return handler

    cmds: dict[str, dict[str, Any]] = {
        "quit": {"output": quit_, "help": "leave the current mode", "prompt": every},
        "return": {"output": return_, "help": "back to privileged mode", "prompt": every},
        "config": {"output": "", "new_prompt": config, "help": "enter config mode", "prompt": enable},
    }
    for b, prompt in zip(_boards(pons), if_prompts, strict=True):
        cmds[f"interface gpon {b}"] = {"output": "", "new_prompt": prompt, "help": "GPON mode", "prompt": config}
    for pon in pons:
        f, s, p = pon.split("/")
        cmds[f"display ont info {f} {s} {p} all"] = {
            "output": render_ont_info(pon, onus), "help": "ONT states", "prompt": [user, enable, config],
        }
        cmds[f"display ont optical-info {p} all"] = {
            "output": optical(p), "help": "ONT optics", "prompt": if_prompts,
        }
    return cmds


def build_nos(onus: Sequence[LabOnu], pons: Sequence[str]) -> Any:
    """fakenos's built-in ``huawei_smartax`` (yaml + py parts) plus :func:`lab_commands`, named ``lab_smartax``."""
    from fakenos.core.nos import Nos  # type: ignore[import-not-found,unused-ignore]
    from fakenos.plugins.nos import nos_plugins  # type: ignore[import-not-found,unused-ignore]

    nos = Nos()
    for f in nos_plugins["huawei_smartax"]:
        nos.from_file(f)
    nos.name = "lab_smartax"
    nos.commands.update(lab_commands(onus, pons))
    return nos


def serve(
    port: int, username: str, password: str, host_key: str | None, stop: threading.Event,
    onus: Sequence[LabOnu] | None = None, pons: Sequence[str] | None = None,
) -> None:
    """Serve the lab OLT (``onus`` on ``pons``; default: the fixed test table) on 127.0.0.1:``port`` until
    ``stop`` is set."""
    from fakenos import FakeNOS  # type: ignore[import-not-found,unused-ignore]

    onus = lab_onus() if onus is None else onus
    pons = LAB_PONS if pons is None else pons
    server_cfg: dict[str, Any] = {"address": "127.0.0.1", "timeout": 1}
    if host_key:
        server_cfg["ssh_key_file"] = host_key
    inventory = {
        "default": {
            "username": username, "password": password,
            "server": {"plugin": "ParamikoSshServer", "configuration": server_cfg},
        },
        "hosts": {BASE_PROMPT: {"port": port, "nos": {"plugin": "lab_smartax"}}},
    }
    net = FakeNOS(inventory=inventory, plugins=[build_nos(onus, pons)])
    net.start()
    print(f"lab SSH OLT {BASE_PROMPT}: {len(onus)} ONUs on {len(pons)} PON ports, 127.0.0.1:{port}", flush=True)
    try:
        stop.wait()
    finally:
        net.stop()


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m lab.fakenos_olt", description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--username", default="labuser")
    ap.add_argument("--password-file", default="lab/secrets/ssh-password")
    ap.add_argument("--host-key", default=None, help="RSA private key file (default: fakenos's built-in key)")
    args = ap.parse_args(argv)
    with open(args.password_file, encoding="utf-8") as fh:
        password = fh.read().strip()
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    serve(args.port, args.username, password, args.host_key, stop)
    return 0


if __name__ == "__main__":
    sys.exit(main())
