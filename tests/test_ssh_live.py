"""SSH collection over real SSH: the lab's fakenos OLT (ONU samples equal its table) and OpenSSH (host keys)."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import SecretStr

from collectors import measurements as m
from collectors.counters import Limits, RateTracker
from collectors.model import FieldValue
from collectors.snmp.decoders import gpon_serial
from collectors.ssh.collect import JOB_ONU, SshCollector
from collectors.ssh.pool import SessionPool
from collectors.ssh.session import NetmikoSession, SshError, SshTarget
from lab.fakenos_olt import LAB_PONS, LabOnu, lab_onus
from tests.servers.fakenos_olt import FakenosOlt
from tests.servers.sshd import SshdServer, keygen

AT = datetime(2026, 3, 1, tzinfo=UTC)
TAGS = {m.TAG_DEVICE: "olt-lab", m.TAG_SITE: "lab", m.TAG_REGION: "sh", m.TAG_ROLE: "olt"}


def expected_onu(o: LabOnu) -> tuple[dict[str, str], dict[str, FieldValue]]:
    """What the table says the ``onu`` sample of ``o`` must be (offline: status only)."""
    tags = {**TAGS, m.TAG_PON: o.pon, m.TAG_ONU_ID: str(o.onu_id), m.TAG_SERIAL: gpon_serial(o.serial) or ""}
    if not o.online:
        return tags, {m.F_STATUS: 2}
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


async def test_fakenos_olt_onu_samples_equal_the_table(fakenos_olt: FakenosOlt) -> None:
    pool = SessionPool(NetmikoSession.open)
    collector = SshCollector({"olt-lab": olt_target(fakenos_olt)}, pool, RateTracker(Limits(300)), lambda: AT)
    try:
        results = [await collector.collect("olt-lab", JOB_ONU) for _ in range(2)]
    finally:
        await pool.close()
    assert pool.opened == 1  # the session was reused by the second poll
    for r in results:
        assert r.ok, r.error
        got = {(s.tags[m.TAG_PON], s.tags[m.TAG_ONU_ID]): (dict(s.tags), dict(s.fields))
               for s in r.samples if s.measurement == m.ONU}
        want = {(o.pon, str(o.onu_id)): expected_onu(o) for o in lab_onus()}
        assert got == want
        pons = {s.tags[m.TAG_PON]: dict(s.fields) for s in r.samples if s.measurement == m.PON_PORT}
        assert pons == {
            p: {m.F_ONUS_TOTAL: sum(o.pon == p for o in lab_onus()),
                m.F_ONUS_ONLINE: sum(o.pon == p and o.online for o in lab_onus())}
            for p in LAB_PONS
        }


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
