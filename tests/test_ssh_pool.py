"""SessionPool and SshCollector behaviour with a test double of the CLI session.

:class:`FakeSession` is a **test double of the netmiko session** (the :class:`~collectors.ssh.session.CliSession`
port): scripted answers and failures, no server. It is used here only for what a real server cannot be made to
do on demand — hang a command past the scheduler's timeout, die between two polls, fail a login with a chosen
reason at a chosen moment. Logging in over real SSH (fakenos, OpenSSH) is covered by tests/test_ssh_live.py.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
from netmiko.exceptions import ReadTimeout

from collectors import measurements as m
from collectors.counters import Limits, RateTracker
from collectors.ssh.answers import Answer, AnswerError, unexpected
from collectors.ssh.collect import JOB_INTERFACES, JOB_ONU, SshCollector
from collectors.ssh.pool import MAX_WORKERS, SessionPool, workers_for
from collectors.ssh.session import CliSession, SshError, SshTarget
from lab.fakenos_olt import NO_ONT, UNKNOWN, lab_onus, render_ont_info, render_optical_info

AT = datetime(2026, 3, 1, tzinfo=UTC)
BOUND_S = 5.0  # every wait in these tests is bounded


@dataclass
class FakeSession:
    """Test double of the netmiko session: ``answer(command)`` gives the output (or raises)."""

    answer: Callable[[str], str]
    is_alive: bool = True
    closed: bool = False
    commands: list[str] = field(default_factory=list)
    threads: list[str] = field(default_factory=list)
    mode: str = ""

    def send_command(self, command: str) -> str:
        self.commands.append(command)
        self.threads.append(threading.current_thread().name)
        return self.answer(command)

    def enter_interface(self, kind: str, name: str) -> None:
        self.mode = f"{kind} {name}"

    def exit_interface(self) -> None:
        self.mode = ""

    def alive(self) -> bool:
        return self.is_alive and not self.closed

    def close(self) -> None:
        self.closed = True


@dataclass
class Opener:
    """Opens :class:`FakeSession` s (or raises the next planned login error); keeps what it opened."""

    answer: Callable[[str], str] = lambda command: f"ok {command}"
    login_errors: list[SshError | None] = field(default_factory=list)
    opened: list[FakeSession] = field(default_factory=list)
    calls: int = 0

    def __call__(self, target: SshTarget) -> CliSession:
        self.calls += 1
        if self.login_errors:
            err = self.login_errors.pop(0)
            if err is not None:
                raise err
        s = FakeSession(self.answer)
        self.opened.append(s)
        return s


def target(name: str, platform: str = "cisco_ios", **kw: object) -> SshTarget:
    return SshTarget(name, "192.0.2.1", platform, "u", tags={m.TAG_DEVICE: name}, **kw)  # type: ignore[arg-type]


async def wait_until(cond: Callable[[], bool]) -> None:
    deadline = time.monotonic() + BOUND_S
    while not cond():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.01)


@pytest.mark.parametrize(("devices", "workers"), [(0, 1), (1, 1), (5, 5), (16, 16), (500, MAX_WORKERS)])
def test_workers_for(devices: int, workers: int) -> None:
    assert workers_for(devices) == workers


# --- concurrency 1 per device, own threads ----------------------------------------------------------------------


async def test_per_device_concurrency_is_one_and_other_devices_go_on() -> None:
    gate = threading.Event()
    opener = Opener()
    pool = SessionPool(opener, workers=4)
    running = {"a": 0, "max_a": 0}

    def slow(s: CliSession) -> str:
        running["a"] += 1
        running["max_a"] = max(running["max_a"], running["a"])
        try:
            assert gate.wait(BOUND_S)
            return s.send_command("show clock")
        finally:
            running["a"] -= 1

    try:
        first = asyncio.create_task(pool.run(target("a"), slow))
        await wait_until(lambda: running["a"] == 1)
        with pytest.raises(SshError) as err:  # the same device while its work runs: refused at once
            await asyncio.wait_for(pool.run(target("a"), slow), BOUND_S)
        assert err.value.reason == "busy"
        other = await asyncio.wait_for(pool.run(target("b"), lambda s: s.send_command("show ver")), BOUND_S)
        assert other == "ok show ver"  # another device is not held up
        gate.set()
        assert await asyncio.wait_for(first, BOUND_S) == "ok show clock"
        assert await pool.run(target("a"), lambda s: s.send_command("x")) == "ok x"
    finally:
        gate.set()
        await pool.close()
    assert running["max_a"] == 1
    assert opener.calls == 2  # a (reused by its second poll) and b
    assert all(t.startswith("netqos-ssh") for s in opener.opened for t in s.threads)  # never the default executor


async def test_scheduler_timeout_leaves_the_device_busy_until_its_thread_ends() -> None:
    """The scheduler cancels a hung poll; the thread cannot be cancelled: the next poll is ``busy`` (not queued on
    a shared thread), and once the command returns the device is polled again on the same session."""
    gate = threading.Event()
    opener = Opener()
    pool = SessionPool(opener, workers=1)

    def hang(s: CliSession) -> str:
        assert gate.wait(BOUND_S)
        return s.send_command("display ont info 0 1 0 all")

    try:
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(pool.run(target("olt"), hang), 0.2)
        assert pool.busy("olt")
        with pytest.raises(SshError) as err:
            await pool.run(target("olt"), lambda s: s.send_command("x"))
        assert err.value.reason == "busy"
        # the default executor stays free meanwhile
        assert await asyncio.wait_for(asyncio.to_thread(lambda: 42), BOUND_S) == 42
        gate.set()
        await wait_until(lambda: not pool.busy("olt"))
        assert await pool.run(target("olt"), lambda s: s.send_command("y")) == "ok y"
    finally:
        gate.set()
        await pool.close()
    assert opener.calls == 1


async def test_a_cancelled_poll_that_never_started_frees_the_device() -> None:
    gate = threading.Event()
    pool = SessionPool(Opener(), workers=1)
    try:
        blocker = asyncio.create_task(pool.run(target("a"), lambda s: gate.wait(BOUND_S)))
        await wait_until(lambda: pool.busy("a"))
        with pytest.raises(TimeoutError):  # b waits for the only thread, then is timed out before it starts
            await asyncio.wait_for(pool.run(target("b"), lambda s: s.send_command("x")), 0.2)
        assert not pool.busy("b")
        gate.set()
        await asyncio.wait_for(blocker, BOUND_S)
        assert await pool.run(target("b"), lambda s: s.send_command("z")) == "ok z"
    finally:
        gate.set()
        await pool.close()


# --- reconnects and errors --------------------------------------------------------------------------------------


async def test_dead_reused_session_is_replaced() -> None:
    opener = Opener()
    pool = SessionPool(opener)
    try:
        await pool.run(target("r1"), lambda s: s.send_command("a"))
        opener.opened[0].is_alive = False  # e.g. the device closed the idle session
        assert await pool.run(target("r1"), lambda s: s.send_command("b")) == "ok b"
    finally:
        await pool.close()
    assert [s.closed for s in opener.opened] == [True, True] and opener.calls == 2
    assert opener.opened[1].commands == ["b"]


@pytest.mark.parametrize(
    ("failure", "retry_fails", "outcome", "logins"),
    [
        pytest.param(EOFError("Socket is closed"), False, "ok", 2, id="stale-session-reconnects-once"),
        pytest.param(OSError("Broken pipe"), True, "closed", 2, id="reconnect-fails-no-third-try"),
        pytest.param(SshError("auth", "denied"), False, "auth", 1, id="auth-not-retried"),
        pytest.param(SshError("hostkey", "changed"), False, "hostkey", 1, id="hostkey-not-retried"),
    ],
)
async def test_reused_session_failure(failure: Exception, retry_fails: bool, outcome: str, logins: int) -> None:
    calls = {"n": 0}

    def answer(command: str) -> str:
        calls["n"] += 1
        if command == "poll-2" and (calls["n"] == 2 or retry_fails):
            raise failure
        return f"ok {command}"

    opener = Opener(answer)
    pool = SessionPool(opener)
    try:
        await pool.run(target("r1"), lambda s: s.send_command("poll-1"))
        try:
            got = await pool.run(target("r1"), lambda s: s.send_command("poll-2"))
            result = "ok" if got == "ok poll-2" else got
        except SshError as exc:
            result = exc.reason
    finally:
        await pool.close()
    assert (result, opener.calls) == (outcome, logins)
    assert opener.opened[0].closed


async def test_answer_error_passes_through_and_keeps_the_session() -> None:
    """The device answered (``% Unknown command``): not a transport fault, no reconnect, the session is kept."""
    opener = Opener()
    pool = SessionPool(opener)

    def refuse(s: CliSession) -> str:
        raise unexpected(Answer("display board 0", s.send_command("display board 0")), "the slot table")

    try:
        await pool.run(target("olt"), lambda s: s.send_command("a"))
        with pytest.raises(AnswerError) as err:
            await pool.run(target("olt"), refuse)
        assert (err.value.kind, err.value.line) == ("parse", "ok display board 0")
        assert await pool.run(target("olt"), lambda s: s.send_command("b")) == "ok b"
    finally:
        await pool.close()
    assert opener.calls == 1 and opener.opened[0].commands == ["a", "display board 0", "b"]


@pytest.mark.parametrize(
    ("login_error", "reason"),
    [(SshError("auth", "Authentication failed."), "auth"), (SshError("hostkey", "not found in known_hosts"), "hostkey"),
     (SshError("refused", "Connection refused"), "refused")],
)
async def test_login_errors_are_not_retried(login_error: SshError, reason: str) -> None:
    opener = Opener(login_errors=[login_error])
    pool = SessionPool(opener)
    try:
        with pytest.raises(SshError) as err:
            await pool.run(target("r1"), lambda s: s.send_command("x"))
    finally:
        await pool.close()
    assert (err.value.reason, opener.calls) == (reason, 1)


async def test_command_timeout_fails_the_poll_and_drops_the_session() -> None:
    def answer(command: str) -> str:
        if command == "show interfaces":
            raise ReadTimeout("Pattern not detected: 'lab\\-c9500\\#' in output.")
        return "ok"

    opener = Opener(answer)
    pool = SessionPool(opener)
    try:
        with pytest.raises(SshError) as err:
            await pool.run(target("r1"), lambda s: s.send_command("show interfaces"))
        assert err.value.reason == "timeout"
        assert opener.opened[0].closed  # a session in an unknown state is not reused
        assert await pool.run(target("r1"), lambda s: s.send_command("show clock")) == "ok"
    finally:
        await pool.close()
    assert opener.calls == 2


async def test_closed_pool_refuses_and_logs_out() -> None:
    opener = Opener()
    pool = SessionPool(opener)
    await pool.run(target("r1"), lambda s: s.send_command("x"))
    await pool.close()
    assert opener.opened[0].closed
    with pytest.raises(SshError):
        await pool.run(target("r1"), lambda s: s.send_command("x"))


# --- the collector turns every failure into a PollResult naming device, command and answer ----------------------


def olt_answers(overrides: dict[str, str]) -> Callable[[str], str]:
    onus = lab_onus()

    def answer(command: str) -> str:
        if command in overrides:
            return overrides[command]
        if command == "display ont info 0 1 0 all":
            return render_ont_info("0/1/0", onus)
        if command == "display ont optical-info 0 all":
            return render_optical_info("0/1/0", onus)
        if command.startswith("display ont info 0 1 0 "):
            return "  ONT-ID : 2\n  Run state : offline\n  Last down cause : LOS\n"
        return NO_ONT

    return answer


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        pytest.param({}, None, id="good"),
        pytest.param({"display ont info 0 1 1 all": UNKNOWN},
                     "device: olt-1: 'display ont info 0 1 1 all': % Unknown command, the error locates at '^'",
                     id="unknown-command"),
        pytest.param({"display ont info 0 1 1 all": "  Failure: The board does not exist\n"},
                     "device: olt-1: 'display ont info 0 1 1 all': Failure: The board does not exist", id="no-board"),
        pytest.param({"display ont optical-info 1 all": "  % Parameter error\n"},
                     "device: olt-1: 'display ont optical-info 1 all': % Parameter error", id="optical-param-error"),
        pytest.param({"display ont info 0 1 1 all": ""}, "parse: olt-1: 'display ont info 0 1 1 all': (empty answer)",
                     id="empty"),
        pytest.param({"display ont info 0 1 0 2": "  Error: ONT is busy\n"},
                     "device: olt-1: 'display ont info 0 1 0 2': Error: ONT is busy", id="detail-error"),
    ],
)
async def test_onu_job_errors_become_failed_polls(overrides: dict[str, str], error: str | None) -> None:
    opener = Opener(olt_answers(overrides))
    pool = SessionPool(opener)
    t = target("olt-1", "huawei_smartax", pons=("0/1/0", "0/1/1"))
    try:
        r = await SshCollector({"olt-1": t}, pool, RateTracker(Limits(300)), lambda: AT).collect("olt-1", JOB_ONU)
    finally:
        await pool.close()
    assert r.error == error
    if error is None:
        pons = {s.tags[m.TAG_PON]: dict(s.fields) for s in r.samples if s.measurement == m.PON_PORT}
        assert pons["0/1/1"] == {m.F_ONUS_TOTAL: 0, m.F_ONUS_ONLINE: 0}  # the real "no ONT" answer
        causes = {s.tags[m.TAG_ONU_ID]: s.fields.get(m.F_LAST_DOWN_CAUSE) for s in r.samples
                  if s.measurement == m.ONU and s.fields.get(m.F_STATUS) == 2}
        assert causes == {"2": "los", "5": "los"}
    else:
        assert r.samples == ()  # never a false "empty PON"


async def test_down_cause_budget() -> None:
    opener = Opener(olt_answers({}))
    pool = SessionPool(opener)
    t = target("olt-1", "huawei_smartax", pons=("0/1/0",))
    try:
        r = await SshCollector({"olt-1": t}, pool, RateTracker(Limits(300)), lambda: AT, max_details=1).collect(
            "olt-1", JOB_ONU)
    finally:
        await pool.close()
    assert r.ok
    asked = [c for c in opener.opened[0].commands if c.startswith("display ont info 0 1 0 ") and not c.endswith("all")]
    assert asked == ["display ont info 0 1 0 2"]
    causes = {s.tags[m.TAG_ONU_ID]: s.fields.get(m.F_LAST_DOWN_CAUSE) for s in r.samples if s.measurement == m.ONU}
    assert (causes["2"], causes["5"]) == ("los", None)


async def test_busy_device_is_a_failed_poll_named_busy() -> None:
    gate = threading.Event()
    opener = Opener()
    pool = SessionPool(opener)
    collector = SshCollector({"r1": target("r1")}, pool, RateTracker(Limits(60)), lambda: AT)
    try:
        hung = asyncio.create_task(pool.run(target("r1"), lambda s: gate.wait(BOUND_S)))
        await wait_until(lambda: pool.busy("r1"))
        r = await asyncio.wait_for(collector.collect("r1", JOB_INTERFACES), BOUND_S)
        gate.set()
        await asyncio.wait_for(hung, BOUND_S)
    finally:
        gate.set()
        await pool.close()
    assert (r.ok, r.error, r.samples) == (False, "busy", ())
