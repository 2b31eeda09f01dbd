"""The ``netqos`` command line: argument parsing and exit codes only; the work is in :mod:`netqos.app`."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from config.errors import ConfigError
from config.models import V3_AUTH_PROTOCOLS, V3_PRIV_PROTOCOLS

SECRET_OPTIONS = (
    ("community", "community", "SNMPv2c community"),
    ("auth-key", "auth_key", "SNMPv3 authentication pass phrase"),
    ("priv-key", "priv_key", "SNMPv3 privacy pass phrase"),
)
"""(option, attribute, what): each secret of an ad-hoc target is given inline, ``--X-file PATH`` or ``--X-env VAR``."""


def _number(kind: type[int] | type[float], low: float, *, inclusive: bool) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if value < low or (value == low and not inclusive) or value != value:  # NaN fails too
            bound = f">= {low:g}" if inclusive else f"> {low:g}"
            raise argparse.ArgumentTypeError(f"must be {bound}, got {text}")
        return value

    return parse


_positive = _number(float, 0, inclusive=False)
_at_least_one = _number(int, 1, inclusive=True)
_non_negative_int = _number(int, 0, inclusive=True)


def _upper(text: str) -> str:
    return text.upper().replace("-", "")


def resolve_secret_args(args: argparse.Namespace, env: Mapping[str, str]) -> str | None:
    """Fill ``args.community/auth_key/priv_key`` from their ``_file``/``_env`` options (a file's first line,
    trailing newline dropped). Returns what is wrong (for a usage error), or None."""
    for option, attr, what in SECRET_OPTIONS:
        path: Path | None = getattr(args, f"{attr}_file", None)
        var: str | None = getattr(args, f"{attr}_env", None)
        if path is not None:
            try:
                value = path.read_text(encoding="utf-8").split("\n", 1)[0].rstrip("\r")
            except OSError as exc:
                return f"--{option}-file {path}: cannot read the {what}: {exc.strerror or exc}"
            except UnicodeDecodeError:
                return f"--{option}-file {path}: the file is not UTF-8 text"
            if not value:
                return f"--{option}-file {path}: the file is empty (the {what} is its first line)"
            setattr(args, attr, value)
        elif var is not None:
            value = env.get(var, "")
            if not value:
                return f"--{option}-env {var}: the environment variable is {'empty' if var in env else 'not set'}"
            setattr(args, attr, value)
    return None


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
    poll.add_argument("--count", type=_at_least_one, default=1, help="polls per device (2+ gives counter rates)")
    poll.add_argument("--interval", type=_positive, default=10.0, help="seconds between polls with --count")
    adhoc = poll.add_argument_group(
        "a device that is not in the inventory",
        "Secrets can be given inline (visible in the process list and shell history), or better from a file "
        "(--X-file PATH: its first line) or an environment variable (--X-env VAR).",
    )
    adhoc.add_argument("--target", help="HOST, HOST:PORT, IPv6 [ADDR]:PORT or a bare IPv6 address (port 161)")
    adhoc.add_argument("--profile", default="auto", help="profile name, or auto (detect from sysObjectID)")
    adhoc.add_argument("--v3-user", help="SNMPv3 user (authPriv)")
    adhoc.add_argument("--auth-protocol", type=_upper, choices=V3_AUTH_PROTOCOLS, default="SHA",
                       help=", ".join(V3_AUTH_PROTOCOLS))  # fmt: skip
    adhoc.add_argument("--priv-protocol", type=_upper, choices=V3_PRIV_PROTOCOLS, default="AES",
                       help=", ".join(V3_PRIV_PROTOCOLS) + " (AES192C/AES256C: Cisco's key extension)")  # fmt: skip
    for option, attr, what in SECRET_OPTIONS:
        one = adhoc.add_mutually_exclusive_group()
        one.add_argument(f"--{option}", dest=attr, metavar="TEXT", help=what)
        one.add_argument(f"--{option}-file", dest=f"{attr}_file", type=Path, metavar="PATH",
                         help=f"read the {what} from the first line of this file")  # fmt: skip
        one.add_argument(f"--{option}-env", dest=f"{attr}_env", metavar="VAR",
                         help=f"read the {what} from this environment variable")  # fmt: skip
    adhoc.add_argument("--context", default="", help="SNMPv3 context name")
    adhoc.add_argument("--timeout", type=_positive, default=5.0, help="seconds per request (> 0)")
    adhoc.add_argument("--retries", type=_non_negative_int, default=1, help="retries per request (>= 0)")

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
                         "eriAlarm", "eriAlarmClear", "emsHeartbeat"),
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
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "poll":
        problem = resolve_secret_args(args, os.environ)
        if problem is not None:
            print(f"netqos poll: error: {problem}", file=sys.stderr)
            return 2
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
