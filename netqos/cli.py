"""The ``netqos`` command line: argument parsing and exit codes only; the work is in :mod:`netqos.app`."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from config.errors import ConfigError


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--inventory", type=Path, default=Path("inventory.yaml"), help="inventory file")
    p.add_argument("--config", type=Path, default=Path("config"), help="configuration directory")
    p.add_argument("-v", "--verbose", action="count", default=0, help="more logging (-vv for debug)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="netqos", description="Telecom network monitoring and service quality.")
    sub = parser.add_subparsers(dest="command", required=True)

    check = sub.add_parser("check", help="validate the inventory and configuration and say what they hold")
    _common(check)

    poll = sub.add_parser("poll", help="poll devices and print the samples (no InfluxDB needed)")
    _common(poll)
    poll.add_argument("--once", action="store_true", help="poll once and exit (the default for this command)")
    poll.add_argument("--device", action="append", default=[], help="only this inventory device (repeatable)")
    poll.add_argument("--job", action="append", default=[], help="only this job: system, interfaces (repeatable)")
    poll.add_argument("--format", choices=("line", "json"), default="line", help="output format")
    poll.add_argument("--count", type=int, default=1, help="polls per device (2+ gives counter rates)")
    poll.add_argument("--interval", type=float, default=10.0, help="seconds between polls with --count")
    adhoc = poll.add_argument_group("a device that is not in the inventory")
    adhoc.add_argument("--target", help="HOST:PORT (port defaults to 161)")
    adhoc.add_argument("--profile", default="auto", help="profile name, or auto (detect from sysObjectID)")
    adhoc.add_argument("--community", help="SNMPv2c community")
    adhoc.add_argument("--v3-user", help="SNMPv3 user (authPriv)")
    adhoc.add_argument("--auth-protocol", default="SHA", help="SHA, SHA224, SHA256, SHA384, SHA512, MD5")
    adhoc.add_argument("--auth-key", help="SNMPv3 authentication pass phrase")
    adhoc.add_argument("--priv-protocol", default="AES", help="AES, AES192, AES256, DES")
    adhoc.add_argument("--priv-key", help="SNMPv3 privacy pass phrase")
    adhoc.add_argument("--context", default="", help="SNMPv3 context name")
    adhoc.add_argument("--timeout", type=float, default=5.0, help="seconds per request")
    adhoc.add_argument("--retries", type=int, default=1, help="retries per request")

    run = sub.add_parser("run", help="run the collectors on their schedule until stopped (Ctrl-C)")
    _common(run)
    run.add_argument("--duration", type=float, default=None, help="stop by itself after this many seconds")
    run.add_argument("--progress", type=float, default=0.0, help="print a progress line every S seconds")

    lab = sub.add_parser("lab", help="the simulated network (snmpsim serving real device recordings)")
    _common(lab)
    lab_sub = lab.add_subparsers(dest="lab_command", required=True)
    lab_sub.add_parser("up", help="start every lab device (idempotent)")
    lab_sub.add_parser("down", help="stop every lab device")
    lab_sub.add_parser("status", help="list lab devices and whether they answer")
    fault = lab_sub.add_parser("fault", help="make a device (and all behind it) stop or resume answering")
    fault.add_argument("device")
    fault.add_argument("state", choices=("down", "up"))
    trap = lab_sub.add_parser("trap", help="make a lab device send a real SNMP trap to the receiver")
    trap.add_argument("device")
    trap.add_argument(
        "kind", choices=("linkDown", "linkUp", "coldStart", "warmStart", "bgpBackwardTransition", "bgpEstablished",
                         "eriAlarm", "eriAlarmClear"),
    )
    trap.add_argument("--ifindex", type=int, default=1, help="the interface of linkDown/linkUp")
    from alarms.api.cli import add_api_command, add_ticket_commands, add_token_commands

    for p in (add_ticket_commands(sub), add_token_commands(sub), add_api_command(sub)):
        for leaf in _leaves(p):
            _common(leaf)
    return parser


def _leaves(p: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    """The parsers that take options: ``p`` itself, or its subcommands' (recursively)."""
    subs = [a for a in p._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        return [p]
    return [leaf for a in subs for child in a.choices.values() for leaf in _leaves(child)]


def _logging(verbosity: int) -> None:
    level = logging.WARNING if verbosity == 0 else logging.INFO if verbosity == 1 else logging.DEBUG
    logging.basicConfig(level=level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # netqos logs each failed poll and skipped run itself (with device and job); the libraries' own lines
    # (APScheduler's per-run chatter, paramiko's tracebacks for a silent SSH peer) would repeat them as noise
    logging.getLogger("apscheduler").setLevel(max(level, logging.ERROR))
    logging.getLogger("paramiko").setLevel(max(level, logging.CRITICAL))


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _logging(args.verbose)
    from netqos import app  # the composition root; imported late so --help stays fast

    try:
        if args.command == "check":
            return app.check(args.inventory, args.config, sys.stdout)
        if args.command == "poll":
            return asyncio.run(app.poll(args, sys.stdout, sys.stderr))
        if args.command == "run":
            return asyncio.run(app.run(args.inventory, args.config, args.duration, args.progress))
        if args.command == "lab":
            return app.lab(args, sys.stdout)
        if args.command in ("tickets", "tokens", "api"):
            return app.tickets(args, sys.stdout, sys.stderr)
    except ConfigError as exc:
        print(f"netqos: configuration has {len(exc.problems)} problem(s):\n{exc}", file=sys.stderr)
        return 2
    except app.UsageError as exc:
        print(f"netqos: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
