"""SSH collection over real SSH: the lab's fakenos OLT (ONU samples equal its table, PON discovery, device errors),
``show interfaces`` over fakenos's Cisco IOS and over OpenSSH (a forced-command CLI), and OpenSSH host keys."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import SecretStr

from collectors import measurements as m
from collectors.counters import Limits, RateTracker
from collectors.model import FieldValue
from collectors.snmp.decoders import gpon_serial
from collectors.ssh.answers import Answer
from collectors.ssh.cisco_ios import parse_show_interfaces
from collectors.ssh.collect import JOB_INTERFACES, JOB_ONU, SshCollector
from collectors.ssh.pool import SessionPool
from collectors.ssh.session import NetmikoSession, SshError, SshTarget
from lab.fakenos_olt import LAB_PONS, LabOnu, board_ports, lab_onus
from tests.servers.fakenos_olt import FAILED_BOARD, SHOW_INTERFACES, FakenosOlt
from tests.servers.sshd import SshdServer, keygen

AT = datetime(2026, 3, 1, tzinfo=UTC)
TAGS = {m.TAG_DEVICE: "olt-lab", m.TAG_SITE: "lab", m.TAG_REGION: "sh", m.TAG_ROLE: "olt"}


CAUSES = {"LOS": "los", "LOSi/LOBi": "losi", "dying-gasp": "dying_gasp"}
"""The CLI's down causes → the SNMP path's names (profile huawei_smartax: 1 los, 2 losi, 13 dying_gasp)."""


def expected_onu(o: LabOnu) -> tuple[dict[str, str], dict[str, FieldValue]]:
    """What the table says the ``onu`` sample of ``o`` must be (offline: status and down cause)."""
    tags = {**TAGS, m.TAG_PON: o.pon, m.TAG_ONU_ID: str(o.onu_id), m.TAG_SERIAL: gpon_serial(o.serial) or ""}
    if not o.online:
        return tags, {m.F_STATUS: 2, m.F_LAST_DOWN_CAUSE: CAUSES[o.last_down_cause]}
    return tags, {
        m.F_STATUS: 1, m.F_RX_DBM: o.rx_dbm, m.F_TX_DBM: o.tx_dbm, m.F_OLT_RX_DBM: o.olt_rx_dbm,
        m.F_TEMPERATURE_C: float(o.temperature_c), m.F_VOLTAGE_V: o.voltage_v, m.F_BIAS_MA: float(o.bias_ma),
        m.F_DISTANCE_M: o.distance_m,
    }


def olt_target(olt: FakenosOlt, **kw: object) -> SshTarget:
    base = SshTarget(
        name="olt-lab", address=olt.host, port=olt.port, platform="huawei_smartax", username=olt.username,
        password=SecretStr(olt.password), known_hosts=str(olt.known_hosts), conn_timeout_s=5, command_timeout_s=10,
        pons=tuple(f"GPON {p}" for p in LAB_PONS), tags=TAGS,
    )
    from dataclasses import replace

    return replace(base, **kw)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def olt_pool() -> Iterator[SessionPool]:
    """One pool for the lab OLT's polls in this module: they share (and so test the reuse of) one session."""
    pool = SessionPool(NetmikoSession.open)
    yield pool
    asyncio.run(pool.close())


def expected_pons(pons: Iterable[str]) -> dict[str, dict[str, FieldValue]]:
    return {
        p: {m.F_ONUS_TOTAL: sum(o.pon == p for o in lab_onus()),
            m.F_ONUS_ONLINE: sum(o.pon == p and o.online for o in lab_onus())}
        for p in pons
    }


@pytest.mark.parametrize("listed", [True, False], ids=["pon-ports-listed", "pon-ports-discovered"])
async def test_fakenos_olt_onu_samples_equal_the_table(
    fakenos_olt: FakenosOlt, olt_pool: SessionPool, listed: bool
) -> None:
    """ONU samples equal the lab table, with the inventory's PON ports or, when it lists none, with the ports
    discovered from ``display board 0`` (the board in state Failed left out) and ``display port state all``."""
    target = olt_target(fakenos_olt, pons=tuple(f"GPON {p}" for p in LAB_PONS) if listed else ())
    collector = SshCollector({"olt-lab": target}, olt_pool, RateTracker(Limits(300)), lambda: AT)
    r = await collector.collect("olt-lab", JOB_ONU)
    assert r.ok, r.error
    assert olt_pool.opened == 1  # every poll of this module reuses one session
    got = {(s.tags[m.TAG_PON], s.tags[m.TAG_ONU_ID]): (dict(s.tags), dict(s.fields))
           for s in r.samples if s.measurement == m.ONU}
    assert got == {(o.pon, str(o.onu_id)): expected_onu(o) for o in lab_onus()}
    every_port = [f"{board}/{i}" for board, count in board_ports(LAB_PONS).items() for i in range(count)]
    assert not any(p.startswith(f"0/{FAILED_BOARD}/") for p in every_port)
    pons = {s.tags[m.TAG_PON]: dict(s.fields) for s in r.samples if s.measurement == m.PON_PORT}
    assert pons == expected_pons(LAB_PONS if listed else every_port)


async def test_fakenos_olt_device_error_is_a_failed_poll_not_an_empty_pon(
    fakenos_olt: FakenosOlt, olt_pool: SessionPool
) -> None:
    target = olt_target(fakenos_olt, pons=("0/1/0", "0/5/0"))  # no board in slot 5
    r = await SshCollector({"olt-lab": target}, olt_pool, RateTracker(Limits(300)), lambda: AT).collect(
        "olt-lab", JOB_ONU)
    assert (r.ok, r.samples) == (False, ())
    assert r.error == "device: olt-lab: 'display ont info 0 5 0 all': % Unknown command, the error locates at '^'"
    assert olt_pool.opened == 1  # the device answered: its session is kept


async def test_fakenos_olt_unknown_host_key_is_a_failed_poll(fakenos_olt: FakenosOlt) -> None:
    with tempfile.TemporaryDirectory(prefix="netqos-kh-") as tmp:
        empty = Path(tmp) / "known_hosts"
        empty.write_text("")
        pool = SessionPool(NetmikoSession.open)
        target = olt_target(fakenos_olt, known_hosts=str(empty))
        r = await SshCollector({"olt-lab": target}, pool, RateTracker(Limits(300)), lambda: AT).collect(
            "olt-lab", JOB_ONU
        )
        await pool.close()
    assert (r.ok, r.error, r.samples) == (False, "hostkey", ())


# --- show interfaces over real SSH: fakenos cisco_ios and OpenSSH -----------------------------------------------


def router_target(kind: str, olt: FakenosOlt, sshd: SshdServer, known_hosts: Path) -> SshTarget:
    if kind == "fakenos":
        host, port, user, password = olt.host, olt.ios_port, olt.username, olt.password
        known_hosts = olt.known_hosts
    else:
        host, port, user, password = sshd.host, sshd.port, sshd.ios_username, sshd.password
        known_hosts.write_text(sshd.known_hosts_line())
    return SshTarget(
        name="rtr-lab", address=host, port=port, platform="cisco_ios", username=user, password=SecretStr(password),
        known_hosts=str(known_hosts), conn_timeout_s=5, command_timeout_s=10,
        tags={m.TAG_DEVICE: "rtr-lab", m.TAG_SITE: "lab", m.TAG_REGION: "sh", m.TAG_ROLE: "router"},
    )


@pytest.mark.parametrize("kind", ["fakenos", "openssh"])
async def test_show_interfaces_over_real_ssh_yields_interface_samples(
    fakenos_olt: FakenosOlt, sshd_server: SshdServer, kind: str
) -> None:
    capture = SHOW_INTERFACES.read_text(encoding="utf-8")
    with tempfile.TemporaryDirectory(prefix="netqos-kh-") as tmp:
        target = router_target(kind, fakenos_olt, sshd_server, Path(tmp) / "known_hosts")
        pool = SessionPool(NetmikoSession.open)
        try:
            r = await SshCollector({"rtr-lab": target}, pool, RateTracker(Limits(60)), lambda: AT).collect(
                "rtr-lab", JOB_INTERFACES)
        finally:
            await pool.close()
    assert r.ok, r.error
    got = {s.tags[m.TAG_IFNAME]: (dict(s.tags), dict(s.fields)) for s in r.samples}
    assert all(s.measurement == m.INTERFACE for s in r.samples)
    assert len(got) == len(r.samples) == capture.count(", line protocol is ")  # every interface of the capture
    want = {row.tags[m.TAG_IFNAME]: (dict(row.tags), dict(row.fields))
            for row in parse_show_interfaces(Answer("show interfaces", capture).text, target.tags)}
    assert got == want  # what went over the wire parses as the capture itself does
    assert got["Te1/1/1"][1][m.F_IN_OCTETS] == 2783400652228


# --- OpenSSH: host-key verification --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def other_key() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="netqos-otherkey-") as tmp:
        yield keygen(Path(tmp) / "other")


@pytest.mark.parametrize(
    ("known_hosts", "check", "password", "outcome"),
    [
        pytest.param("right", True, "right", "ok", id="right-key-connects"),
        pytest.param("wrong", True, "right", "hostkey", id="wrong-key-refused"),
        pytest.param("empty", True, "right", "hostkey", id="unknown-host-refused"),
        pytest.param("wrong", False, "right", "ok", id="explicit-opt-out-connects"),
        pytest.param("right", True, "wrong", "auth", id="wrong-password"),
    ],
)
async def test_openssh_host_key_verification(
    sshd_server: SshdServer,
    other_key: str,
    known_hosts: str,
    check: bool,
    password: str,
    outcome: str,
) -> None:
    with tempfile.TemporaryDirectory(prefix="netqos-kh-") as tmp:
        kh = Path(tmp) / "known_hosts"
        kh.write_text({"right": sshd_server.known_hosts_line(), "wrong": sshd_server.known_hosts_line(other_key),
                       "empty": ""}[known_hosts])
        target = SshTarget(
            name="linux-1", address=sshd_server.host, port=sshd_server.port, platform="linux",
            username=sshd_server.username,
            password=SecretStr(sshd_server.password if password == "right" else "not-the-password"),
            known_hosts=str(kh), host_key_check=check, conn_timeout_s=5, command_timeout_s=5,
        )
        pool = SessionPool(NetmikoSession.open)
        try:
            answer = await pool.run(target, lambda s: s.send_command("expr 6 '*' 7"))
            result = "ok"
        except SshError as exc:
            answer, result = "", exc.reason
        finally:
            await pool.close()
    assert result == outcome
    if outcome == "ok":
        assert answer.strip() == "42"
