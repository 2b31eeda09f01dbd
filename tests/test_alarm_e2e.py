"""The whole alarm path on the lab, nothing replaced: snmpsim devices → ``netqos run`` (scheduler, collectors,
trap receiver, detection, engine, correlation) → tickets in SQLite.

- An aggregation router stops answering (``lab fault``): exactly one ticket, root = that router, the devices
  reachable only through it attached as symptoms, the customers they carry listed, exactly one ``opened``
  webhook delivered to a local receiver; it comes back: the ticket is ``resolved`` with its restore time.
- A trap-raised linkDown opens one ticket for that port; the linkUp restores it.
- ``netqos run`` killed with SIGKILL in the middle of an alarm storm and restarted: no duplicate ticket, no
  lost alarm (the alarm state file keeps every key with its occurrence count), no re-raise (InfluxDB holds
  one ``raised`` point per raise of each alarm that was saved before the kill).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import pytest

from alarms.model import AlarmKey, AlarmState, Ticket, TicketStatus
from alarms.state_store import StateStore
from alarms.tickets.store import SqlTicketStore, open_store
from collectors import measurements as m
from config.loader import load
from config.models import Device, Inventory
from lab.influxd import InfluxServer
from lab.runner import down, fault, up
from lab.snmpsim import free_udp_port
from lab.traps import V3Auth, send_trap
from tests.notify_fixtures import SECRET, Receiver, receiver  # noqa: F401

ROOT = Path(__file__).resolve().parents[1]
SECRETS = ROOT / "lab" / "secrets"
AGG = "agg-sh-pd-01"
BEHIND_AGG = {"olt-sh-pd-01", "mw-sh-pd-101a", "csr-sh-pd-101", "pwr-sh-pd-101"}  # reachable only through AGG
TRAP_DEVICE = "agg-sh-mh-01"
T = TypeVar("T")

SETTINGS = """\
influxdb: {{api: v1, url: "{url}", database: e2e_alarms}}
jobs:
  system: {{interval_s: 2, timeout_s: 1.5}}
  interfaces: {{interval_s: 4, timeout_s: 3}}
sink: {{batch_size: 2000, flush_interval_s: 0.5, timeout_s: 2}}
spool: {{dir: "{root}/spool", group_commit_s: 0.2}}
tickets: {{database_url: "sqlite:///{root}/tickets.db", alarm_state_file: "{root}/alarm-state.json"}}
"""
NOTIFY = """\
language: en
webhooks:
  - name: noc
    url: "{url}"
    secret: {{file: "{root}/webhook-secret"}}
    events: [opened, resolved]
    retry: {{max_attempts: 3, initial_s: 0.2}}
"""
DB = "e2e_alarms"


@dataclass(frozen=True, slots=True)
class Lab:
    root: Path
    inventory: Path
    config: Path
    state: Path
    trap_port: int

    @property
    def db_url(self) -> str:
        return f"sqlite:///{self.root}/tickets.db"

    @property
    def state_file(self) -> Path:
        return self.root / "alarm-state.json"


def _config_dir(root: Path, influx_url: str, trap_port: int, webhook_url: str) -> Path:
    """The shipped config/ with short intervals, a short grouping window, this test's paths and a webhook
    to the local receiver."""
    cfg = root / "config"
    cfg.mkdir()
    (cfg / "netqos.yaml").write_text(SETTINGS.format(url=influx_url, root=root))
    (root / "webhook-secret").write_bytes(SECRET)
    (cfg / "notify.yaml").write_text(NOTIFY.format(url=webhook_url, root=root))
    alarms = (ROOT / "config" / "alarms.yaml").read_text()
    alarms = re.sub(r"(?m)^group_window_s: auto", "group_window_s: 8", alarms)
    alarms = re.sub(r"clear_hold_down_s: \d+", "clear_hold_down_s: 4", alarms)
    alarms = re.sub(r"hold_down_s: [1-9]\d*", "hold_down_s: 2", alarms)
    (cfg / "alarms.yaml").write_text(alarms)
    traps = (ROOT / "config" / "traps.yaml").read_text().replace("../lab/secrets", str(SECRETS))
    (cfg / "traps.yaml").write_text(re.sub(r"(?m)^  port: \d+", f"  port: {trap_port}", traps))
    return cfg


@pytest.fixture
def lab(influx_up: InfluxServer, receiver: Receiver) -> Iterator[Lab]:  # noqa: F811
    """The shipped lab inventory on free ports, with its healthy baseline, a test config, an empty InfluxDB
    database and a fresh webhook receiver."""
    with tempfile.TemporaryDirectory(prefix="netqos-alarm-e2e-") as tmp:
        root = Path(tmp)
        text = (ROOT / "inventory.yaml").read_text().replace("lab/secrets/", f"{SECRETS}/")
        text = re.sub(r"(?m)^(    port: )201\d\d", lambda mt: f"{mt.group(1)}{free_udp_port()}", text)
        text = re.sub(r"(?m)^    ssh(_port)?: .*\n", "", text)  # SSH has its own tests; no SSH OLT here
        inv = root / "inventory.yaml"
        inv.write_text(text)
        influx_up.drop_db(DB)
        influx_up.create_db(DB)
        receiver.reset([])
        trap_port = free_udp_port()
        cfg = _config_dir(root, influx_up.url, trap_port, receiver.url)
        loaded = load(inv, cfg, os.environ)
        state = root / "lab"
        up(_lab_view(loaded.inventory), state)
        try:
            yield Lab(root, inv, cfg, state, trap_port)
        finally:
            down(state)


def _lab_view(inv: Inventory) -> Inventory:
    """The inventory the lab is laid from: ``TRAP_DEVICE``'s first watched port is not watched there, so the
    lab serves no status for it (its recording has none) and polls cannot tell it is up — the state a trap
    is the only witness of. (The lab sets every watched port up; netqos still watches it.)"""
    dev = inv.device(TRAP_DEVICE)
    quiet = dev.model_copy(update={"monitored_ports": dev.monitored_ports[1:]})
    return inv.model_copy(update={"devices": tuple(quiet if d.name == TRAP_DEVICE else d for d in inv.devices)})


def _run(lab: Lab) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "netqos", "run", "-v", "--inventory", str(lab.inventory), "--config", str(lab.config)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def _stop(proc: subprocess.Popen[str]) -> str:
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    log = "\n".join(x for x in err.splitlines() if "scheduler" not in x)
    sys.stderr.write(log[-20000:])  # pytest shows it when the test fails
    assert proc.returncode == 0, err[-3000:]
    return out


def _wait(what: str, probe: Callable[[], T | None], timeout_s: float) -> T:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        got = probe()
        if got:
            return got
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")


def _tickets(store: SqlTicketStore) -> list[Ticket]:
    return store.list(limit=1000)


def _restored(store: SqlTicketStore, ticket_id: int) -> datetime | None:
    t = store.get(ticket_id)
    return t.clock.restored if t is not None else None


def _notices(receiver: Receiver, event: str) -> list[dict[str, Any]]:  # noqa: F811
    return [r for r in list(receiver.requests) if r["body"]["event"] == event]


def test_aggregation_router_down_opens_one_ticket_with_its_symptoms_and_customers(
    lab: Lab, influx_up: InfluxServer, receiver: Receiver  # noqa: F811
) -> None:
    influx = influx_up
    proc = _run(lab)
    store = open_store(lab.db_url)
    try:
        time.sleep(12)  # polls settle: the baseline is healthy, no ticket
        assert _tickets(store) == [], [t.title for t in _tickets(store)]
        loaded = load(lab.inventory, lab.config, os.environ)
        fault(loaded.inventory, lab.state, AGG, "down")
        ticket = _wait("the ticket", lambda: _tickets(store), 60)[0]
        time.sleep(10)  # a grouping window more: late symptoms attach, nothing else opens
        tickets = _tickets(store)
        assert len(tickets) == 1, [t.title for t in tickets]
        ticket = tickets[0]
        assert (ticket.root.device, ticket.root.kind) == (AGG, "device_unreachable")
        assert {k.device for k in ticket.symptoms} == BEHIND_AGG
        carried = {s.id for s in loaded.inventory.services if s.carrier.device in {AGG, *BEHIND_AGG}}
        assert {s.service_id for s in ticket.services} == carried
        assert ticket.priority == 1  # enterprise lines and mobile backhaul among them
        assert ticket.team is not None and ticket.clock.restored is None

        opened = _wait("the opened notice", lambda: _notices(receiver, "opened"), 30)

        fault(loaded.inventory, lab.state, AGG, "up")
        restored = _wait("the restore time", lambda: _restored(store, ticket.id), 60)
        assert restored > ticket.clock.detected
        assert len(_tickets(store)) == 1
        back = store.get(ticket.id)
        assert back is not None and back.status is TicketStatus.RESOLVED and back.clock.restored == restored
        _wait("the resolved notice", lambda: _notices(receiver, "resolved"), 30)
    finally:
        summary = _stop(proc)
        store.close()
    assert "tickets opened=1" in summary
    # the webhook: exactly one signed ``opened`` notice for this ticket, processed once; then one ``resolved``
    opened = _notices(receiver, "opened")
    assert len(opened) == 1 and opened[0]["signed"], opened
    assert opened[0]["body"]["ticket"]["id"] == ticket.id
    assert opened[0]["body"]["ticket"]["root"]["device"] == AGG
    resolved = _notices(receiver, "resolved")
    assert len(resolved) == 1 and resolved[0]["body"]["ticket"]["status"] == "resolved"
    assert receiver.accepted == [opened[0]["delivery_id"], resolved[0]["delivery_id"]]
    # the Grafana feed: the alarm changes and the ticket's states are points in InfluxDB
    alarms = influx.rows(DB, f"SELECT * FROM \"{m.ALARM}\" WHERE \"{m.TAG_DEVICE}\" = '{AGG}'")
    assert {r[m.F_CHANGE] for r in alarms} >= {"raised", "cleared"}
    points = influx.rows(DB, f"SELECT * FROM \"{m.TICKET}\"")
    assert {r[m.TAG_TICKET] for r in points} == {str(ticket.id)}
    assert {r[m.F_STATUS_TEXT] for r in points} == {"open", "resolved"}


def test_trap_linkdown_opens_a_ticket_and_linkup_restores_it(lab: Lab) -> None:
    loaded = load(lab.inventory, lab.config, os.environ)
    dev = loaded.inventory.device(TRAP_DEVICE)
    port = dev.monitored_ports[0]
    proc = _run(lab)
    store = open_store(lab.db_url)
    auth = V3Auth("simv3", (SECRETS / "snmpv3-auth").read_text().strip(),
                  (SECRETS / "snmpv3-priv").read_text().strip(), engine_id=str(dev.snmp_engine_id)[2:])
    try:
        time.sleep(10)  # the interface job has named the ports (ifIndex → ifName for the trap)
        ifindex = _ifindex(loaded.inventory.device("agg-sh-mh-01").name, port, lab)
        send_trap("127.0.0.1", lab.trap_port, dev.address, "linkDown", ifindex=ifindex, version="3", v3=auth)
        ticket = _wait("the linkDown ticket", lambda: _tickets(store), 40)[0]
        assert ticket.root.device == "agg-sh-mh-01" and ticket.root.resource == port
        send_trap("127.0.0.1", lab.trap_port, dev.address, "linkUp", ifindex=ifindex, version="3", v3=auth)
        _wait("the restore", lambda: _restored(store, ticket.id), 40)
        assert len(_tickets(store)) == 1
    finally:
        _stop(proc)
        store.close()


def _ifindex(device: str, ifname: str, lab: Lab) -> int:
    """The ifIndex of ``ifname`` as the device serves it (read with net-snmp, the reference tool)."""
    loaded = load(lab.inventory, lab.config, os.environ)
    port = loaded.inventory.device(device).port
    out = ""
    for column in ("1.3.6.1.2.1.31.1.1.1.1", "1.3.6.1.2.1.2.2.1.2"):  # ifName, else ifDescr
        out += subprocess.run(
            ["snmpbulkwalk", "-v2c", "-c", "public", "-On", "-Oq", f"127.0.0.1:{port}", column],
            capture_output=True, text=True, timeout=30, check=True,
        ).stdout
    for line in out.splitlines():
        oid, _, name = line.partition(" ")
        if name.strip().strip('"') == ifname:
            return int(oid.rsplit(".", 1)[1])
    raise AssertionError(f"{device} has no port {ifname!r}")


def _trap_storm(lab: Lab, dev: Device, count: int) -> subprocess.Popen[str]:
    """``count`` linkDown/linkUp traps (net-snmp ``snmptrap``, SNMPv3 with ``dev``'s engine ID, so each is
    known to come from ``dev``), in the background."""
    auth, priv = (SECRETS / "snmpv3-auth").read_text().strip(), (SECRETS / "snmpv3-priv").read_text().strip()
    v3 = f"-v3 -e {dev.snmp_engine_id} -l authPriv -u simv3 -a SHA -A '{auth}' -x AES -X '{priv}'"
    lines = [
        f"snmptrap {v3} -Ln 127.0.0.1:{lab.trap_port} '' 1.3.6.1.6.3.1.1.5.{3 + i % 2} "
        f"1.3.6.1.2.1.2.2.1.1.{500 + i % 40} i {500 + i % 40} 1.3.6.1.6.3.18.1.3.0 a {dev.address}"
        for i in range(count)
    ]
    return subprocess.Popen(["bash", "-c", "\n".join(lines)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            text=True)


def _alarm_state(lab: Lab) -> dict[AlarmKey, tuple[AlarmState, int]]:
    """Every alarm of the saved state file: its state and occurrence count."""
    snap = StateStore(lab.state_file).load()
    assert snap is not None, "no alarm state saved"
    return {a.key: (a.state, a.occurrences) for a in snap.engine.alarms()}


def _raised_points(influx: InfluxServer) -> Counter[AlarmKey]:
    rows = influx.rows(DB, f"SELECT * FROM \"{m.ALARM}\" WHERE \"{m.F_CHANGE}\" = 'raised'")
    return Counter(
        AlarmKey(r[m.TAG_DEVICE], r[m.TAG_KIND], r.get(m.TAG_RESOURCE) or "") for r in rows
    )


def test_sigkill_in_an_alarm_storm_duplicates_no_ticket(lab: Lab, influx_up: InfluxServer) -> None:
    loaded = load(lab.inventory, lab.config, os.environ)
    proc = _run(lab)
    store = open_store(lab.db_url)
    try:
        time.sleep(8)
        fault(loaded.inventory, lab.state, "core-sh-01", "down")  # the whole lab behind it goes silent
        _wait("the storm's first ticket", lambda: _tickets(store), 60)
        storm = _trap_storm(lab, loaded.inventory.device("agg-sh-mh-01"), 200)  # and hundreds of trap events
        time.sleep(1)
        proc.send_signal(signal.SIGKILL)  # in the middle of it
        storm.wait(timeout=120)
        proc.wait(timeout=30)
        before = {t.dedup_key for t in _tickets(store)}
        alarms_before = _alarm_state(lab)
        raised_before = {k: n for k, (st, n) in alarms_before.items() if st in (AlarmState.RAISED, AlarmState.CLEARING)}
        assert raised_before, alarms_before  # the kill came after alarms were raised and saved
        proc = _run(lab)  # restart on the same state file and database
        time.sleep(15)
        after = _tickets(store)
        keys = [t.dedup_key for t in after if t.status.value != "closed"]
        assert len(keys) == len(set(keys)), keys  # one open ticket per root, never two
        assert before <= set(keys)  # nothing opened before the kill went missing
        assert any(t.root.device == "core-sh-01" for t in after)
    finally:
        _stop(proc)  # the sink flushes: every point is in InfluxDB
        store.close()
    # no lost alarm, no re-raise: every alarm saved before the kill is still there with its count
    alarms_after = _alarm_state(lab)
    lost = set(alarms_before) - set(alarms_after)
    assert not lost, lost
    recounted = {k: (n, alarms_after[k][1]) for k, (_, n) in alarms_before.items() if alarms_after[k][1] != n}
    assert not recounted, recounted
    # and InfluxDB holds exactly one ``raised`` point per raise of each of them (none lost, none repeated)
    points = _raised_points(influx_up)
    wrong = {k: (points[k], n) for k, n in raised_before.items() if points[k] != n}
    assert not wrong, wrong
