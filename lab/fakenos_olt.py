"""The lab's SSH OLT: fakenos's Huawei SmartAX extended with ``interface gpon F/S`` mode and ONU tables.

The outputs are rendered in the vendor's format (MA5800: 8-column ``display ont optical-info``) from a
deterministic ONU table (:func:`lab_onus`), so tests know the expected values. The render functions are pure
and importable from the main venv; the server part imports fakenos lazily and runs from the side venv
``.venv-fakenos`` (fakenos pins ``paramiko<=4``)::

    .venv-fakenos/bin/python -m lab.fakenos_olt --port 16002 [--host-key FILE] [--username U --password-file F]
        [--failed-board SLOT] [--ios-port 16003 --ios-show-interfaces FILE]

Modes: ``enable`` → ``#``; ``config`` → ``(config)#``; ``interface gpon 0/1`` → ``(config-if-gpon-0/1)#``;
``quit`` leaves one level (and logs out from the top); ``return`` goes back to ``#``.

Commands added to fakenos's SmartAX, in the vendor's formats: ``display board 0`` (the PON boards: 4-port
H801GPBC, 8-port H807GPBD or 16-port H805GPFD, the smallest that holds the highest port used; ``--failed-board``
adds one in state ``Failed``),
``display port state all`` (GPON mode), ``display ont info F S P all`` and ``F S P ID`` (every port of every
board; ``Failure: The ONT does not exist`` where there is none), ``display ont optical-info P all`` (GPON mode),
and the vendor's ``% Unknown command`` for anything else. ``--ios-port`` serves a second host, fakenos's Cisco
IOS (prompt ``lab-c9500``) whose ``show interfaces`` answers the given capture.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Final

RULE: Final = "  " + "-" * 77
BASE_PROMPT: Final = "MA5800-X7"
IOS_PROMPT: Final = "lab-c9500"
NO_ONT: Final = "  Failure: The ONT does not exist"
UNKNOWN: Final = "                  ^\n  % Unknown command, the error locates at '^'"
"""What a SmartAX prints for a command it does not know (a caret line under the error, then the message)."""


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
    last_down_cause: str = ""
    """As the CLI prints it (``LOS``, ``LOSi/LOBi``, ``dying-gasp``); "" = never down (``-``)."""

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
    out.append(LabOnu("0/2/3", 7, "5A544547C0FFEE01", True, -27.96, 1.52, -29.01, 55, 3.3, 21, 19870, "far-end",
                      last_down_cause="dying-gasp"))
    out.append(LabOnu("0/2/3", 12, "5A544547C0FFEE02", False, description="lost", last_down_cause="LOSi/LOBi"))
    causes = {2: "dying-gasp", 5: "LOS"}
    return tuple(replace(o, last_down_cause=causes.get(o.onu_id, o.last_down_cause)) if o.pon == "0/1/0" else o
                 for o in out)


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


def _vendor(serial: str) -> str:
    """The vendor ID of a 16-hex-digit serial as text (``48575443...`` → ``HWTC``)."""
    try:
        return bytes.fromhex(serial[:8]).decode("ascii")
    except (ValueError, UnicodeDecodeError):
        return serial[:8]


def render_ont_detail(o: LabOnu) -> str:
    """``display ont info F S P ID`` for one ONT (MA5800 layout, first block: key : value lines)."""
    f, s, p = o.fsp
    on = o.online
    rows = [
        ("F/S/P", f"{f}/{s}/{p}"), ("ONT-ID", str(o.onu_id)), ("Control flag", "active"),
        ("Run state", "online" if on else "offline"), ("Config state", "normal" if on else "initial"),
        ("Match state", "match" if on else "initial"), ("DBA type", "SR"),
        ("ONT distance(m)", str(o.distance_m) if on else "-"), ("ONT last distance(m)", str(o.distance_m or 1734)),
        ("ONT battery state", "not support"), ("Memory occupation", "41%" if on else "-"),
        ("CPU occupation", "1%" if on else "-"), ("Temperature", f"{o.temperature_c}(C)" if on else "-"),
        ("Authentic type", "SN-auth"), ("SN", f"{o.serial} ({_vendor(o.serial)}-{o.serial[8:]})"),
        ("Management mode", "OMCI"), ("Software work mode", "normal"), ("Isolation state", "normal"),
        ("ONT IP 0 address/mask", "-"), ("Description", o.description),
        ("Last down cause", o.last_down_cause or "-"),
        ("Last up time", "2026-02-27 08:14:31+08:00"),
        ("Last down time", "2026-02-28 21:03:12+08:00" if o.last_down_cause else "-"),
        ("Last dying gasp time", "2026-02-28 21:03:12+08:00" if o.last_down_cause == "dying-gasp" else "-"),
        ("ONT online duration", "0 day(s), 3 hour(s), 12 minute(s), 9 second(s)" if on else "-"),
        ("Type C support", "Not support"), ("Interoperability-mode", "ITU-T"),
        ("Power reduction status", "-"), ("FEC upstream state", "use-profile-config"),
    ]
    lines = [RULE, *(f"  {k:<24}: {v}" for k, v in rows), RULE, "  VoIP configure method   : Default", RULE,
             "  Line profile ID      : 10", "  Line profile name    : line-profile_10", RULE]
    return "\n".join(lines)


BOARD_KINDS: Final = ((4, "H801GPBC"), (8, "H807GPBD"), (16, "H805GPFD"))
"""GPON boards by port count: the smallest that holds a board's highest used port is installed."""


def board_ports(pons: Sequence[str]) -> dict[str, int]:
    """Each board ``F/S`` of ``pons`` → its port count (4, 8 or 16: :data:`BOARD_KINDS`)."""
    top: dict[str, int] = {}
    for pon in pons:
        board, port = pon.rsplit("/", 1)
        top[board] = max(top.get(board, 0), int(port))
    return {b: next(n for n, _ in BOARD_KINDS if p < n) for b, p in top.items()}


def board_name(ports: int) -> str:
    return dict(BOARD_KINDS)[ports]


def render_boards(boards: dict[str, int], failed: Sequence[int] = ()) -> str:
    """``display board 0``: the GPON boards (``Normal``; ``failed`` slots ``Failed``), control boards in 9/10."""
    slots: dict[int, tuple[str, str]] = {int(b.split("/")[1]): (board_name(n), "Normal") for b, n in boards.items()}
    slots |= {s: ("H807GPBD", "Failed") for s in failed}
    slots |= {9: ("H901MPLA", "Active_normal"), 10: ("H901MPLA", "Standby_normal")}
    lines = [
        "  " + "-" * 73,
        "  SlotID  BoardName  Status          SubType0 SubType1    Online/Offline",
        "  " + "-" * 73,
    ]
    for slot in range(max(slots) + 2):
        name, status = slots.get(slot, ("", ""))
        lines.append(f"  {slot:<8}{name:<11}{status:<16}".rstrip() if name else f"  {slot:<6}")
    lines.append("  " + "-" * 73)
    return "\n".join(lines)


def render_port_state(board: str, ports: int, onus: Iterable[LabOnu]) -> str:
    """``display port state all`` in ``interface gpon F/S``: one Port Information block per port."""
    used = {o.pon for o in onus}
    out = []
    for port in range(ports):
        fsp = f"{board}/{port}"
        online = fsp in used
        out += [
            "  " + "-" * 76, "  Port Information", "  " + "-" * 76,
            f"  F/S/P                        {fsp}",
            f"  Port state                   {'Online' if online else 'Offline'}",
            "  Last down cause              -",
            f"  Last up time                 {'2026-02-20 03:11:52+08:00' if online else '-'}",
            "  Last down time               -",
            "  Port energy-saving flag      No",
            "  xPON MAC chipset state       Normal",
            "  Signal detect                Normal",
            "  Available bandwidth(Kbps)    1241088",
            "  Illegal rogue ONT            Inexistent",
            "  " + "-" * 76, "  Optical Module State", "  " + "-" * 76,
            "  Optical Module status        Online",
            "  Laser state                  Normal",
            "  TX fault                     Normal",
            f"  Temperature(C)               {31 + port}",
            "  TX Bias current(mA)          10",
            "  Supply Voltage(V)            3.20",
            "  TX power(dBm)                3.49",
        ]
    out.append("  " + "-" * 76)
    return "\n".join(out)


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


def lab_commands(
    onus: Sequence[LabOnu], pons: Sequence[str], failed_boards: Sequence[int] = ()
) -> dict[str, dict[str, Any]]:
    """fakenos command entries added to the built-in SmartAX: modes, boards, port state, ``display ont info``
    (table and per ONT), optical-info, and the vendor's unknown-command answer."""
    user, enable, config = "{base_prompt}>", "{base_prompt}#", "{base_prompt}(config)#"
    boards = board_ports(pons)
    if_prompts = [f"{{base_prompt}}(config-if-gpon-{b})#" for b in boards]
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

    def port_state(device: Any, base_prompt: str, current_prompt: str, command: str) -> str:
        board = current_prompt.rsplit("(config-if-gpon-", 1)[-1].rstrip(")#")
        return render_port_state(board, boards[board], onus)

    cmds: dict[str, dict[str, Any]] = {
        "_default_": {"output": UNKNOWN, "help": "unknown command", "prompt": every},
        "quit": {"output": quit_, "help": "leave the current mode", "prompt": every},
        "return": {"output": return_, "help": "back to privileged mode", "prompt": every},
        "config": {"output": "", "new_prompt": config, "help": "enter config mode", "prompt": enable},
        "display board 0": {"output": render_boards(boards, failed_boards), "help": "boards of frame 0",
                            "prompt": [user, enable, config]},
        "display port state all": {"output": port_state, "help": "GPON port state", "prompt": if_prompts},
    }
    for b, prompt in zip(boards, if_prompts, strict=True):
        cmds[f"interface gpon {b}"] = {"output": "", "new_prompt": prompt, "help": "GPON mode", "prompt": config}
    for board, count in boards.items():
        for port in range(count):
            pon = f"{board}/{port}"
            f, s = board.split("/")
            cmds[f"display ont info {f} {s} {port} all"] = {
                "output": render_ont_info(pon, onus), "help": "ONT states", "prompt": [user, enable, config],
            }
            cmds[f"display ont optical-info {port} all"] = {
                "output": optical(str(port)), "help": "ONT optics", "prompt": if_prompts,
            }
    for o in onus:
        fr, sl, po = o.fsp
        cmds[f"display ont info {fr} {sl} {po} {o.onu_id}"] = {
            "output": render_ont_detail(o), "help": "one ONT", "prompt": [user, enable, config],
        }
    return cmds


def build_nos(onus: Sequence[LabOnu], pons: Sequence[str], failed_boards: Sequence[int] = ()) -> Any:
    """fakenos's built-in ``huawei_smartax`` (yaml + py parts) plus :func:`lab_commands`, named ``lab_smartax``."""
    from fakenos.core.nos import Nos  # type: ignore[import-not-found,unused-ignore]
    from fakenos.plugins.nos import nos_plugins  # type: ignore[import-not-found,unused-ignore]

    nos = Nos()
    for f in nos_plugins["huawei_smartax"]:
        nos.from_file(f)
    nos.name = "lab_smartax"
    nos.commands.update(lab_commands(onus, pons, failed_boards))
    return nos


def build_ios_nos(show_interfaces: str) -> Any:
    """fakenos's built-in ``cisco_ios`` whose ``show interfaces`` answers ``show_interfaces``, named ``lab_ios``."""
    from fakenos.core.nos import Nos  # type: ignore[import-not-found,unused-ignore]
    from fakenos.plugins.nos import nos_plugins  # type: ignore[import-not-found,unused-ignore]

    nos = Nos()
    for f in nos_plugins["cisco_ios"]:
        nos.from_file(f)
    nos.name = "lab_ios"
    nos.commands["show interfaces"] = {
        "output": show_interfaces.replace("\r", "").rstrip("\n"), "help": "interface status and counters",
        "prompt": ["{base_prompt}>", "{base_prompt}#"],
    }
    return nos


def serve(
    port: int, username: str, password: str, host_key: str | None, stop: threading.Event,
    onus: Sequence[LabOnu] | None = None, pons: Sequence[str] | None = None,
    failed_boards: Sequence[int] = (), ios: tuple[int, str] | None = None,
) -> None:
    """Serve the lab OLT (``onus`` on ``pons``; default: the fixed test table) on 127.0.0.1:``port`` until
    ``stop`` is set; with ``ios`` = (port, show interfaces text), a Cisco IOS host too."""
    from fakenos import FakeNOS  # type: ignore[import-not-found,unused-ignore]

    onus = lab_onus() if onus is None else onus
    pons = LAB_PONS if pons is None else pons
    server_cfg: dict[str, Any] = {"address": "127.0.0.1", "timeout": 1}
    if host_key:
        server_cfg["ssh_key_file"] = host_key
    inventory: dict[str, Any] = {
        "default": {
            "username": username, "password": password,
            "server": {"plugin": "ParamikoSshServer", "configuration": server_cfg},
        },
        "hosts": {BASE_PROMPT: {"port": port, "nos": {"plugin": "lab_smartax"}}},
    }
    plugins = [build_nos(onus, pons, failed_boards)]
    if ios is not None:
        inventory["hosts"][IOS_PROMPT] = {"port": ios[0], "nos": {"plugin": "lab_ios"}}
        plugins.append(build_ios_nos(ios[1]))
    net = FakeNOS(inventory=inventory, plugins=plugins)
    net.start()
    print(f"lab SSH OLT {BASE_PROMPT}: {len(onus)} ONUs on {len(pons)} PON ports, 127.0.0.1:{port}", flush=True)
    if ios is not None:
        print(f"lab SSH router {IOS_PROMPT} (cisco_ios): 127.0.0.1:{ios[0]}", flush=True)
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
    ap.add_argument("--failed-board", type=int, action="append", default=[], help="a GPON board slot in Failed state")
    ap.add_argument("--ios-port", type=int, default=None, help="also serve a Cisco IOS host on this port")
    ap.add_argument("--ios-show-interfaces", type=Path, default=None, help="its 'show interfaces' answer (a file)")
    args = ap.parse_args(argv)
    with open(args.password_file, encoding="utf-8") as fh:
        password = fh.read().strip()
    ios = None
    if args.ios_port is not None:
        if args.ios_show_interfaces is None:
            ap.error("--ios-port needs --ios-show-interfaces")
        ios = (args.ios_port, args.ios_show_interfaces.read_text(encoding="utf-8"))
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    serve(args.port, args.username, password, args.host_key, stop, failed_boards=args.failed_board, ios=ios)
    return 0


if __name__ == "__main__":
    sys.exit(main())
