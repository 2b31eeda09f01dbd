"""Counter-rate math: hand cases and hypothesis properties."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collectors.counters import (
    CounterState,
    Limits,
    Observation,
    RateRule,
    RateTracker,
    delta,
    rate,
    rates_for,
    restarted,
)

M32 = 1 << 32
M64 = 1 << 64
GBIT = 1_000_000_000


def st_(t: float, v: int, *, up: int | None = None, disc: int | None = None, bits: int = 64) -> CounterState:
    return CounterState(t, {"o": v}, {"o": bits}, uptime_cs=up, discontinuity=disc)


# --- hand cases --------------------------------------------------------------------------------------------

CASES = [
    # id, prev, cur, kwargs, expected rate (None = no value)
    ("monotone", st_(0, 1000, up=100_000), st_(10, 2000, up=101_000), {}, 100.0),
    ("no change", st_(0, 5, up=100_000), st_(60, 5, up=106_000), {}, 0.0),
    ("no uptime known", st_(0, 0), st_(4, 400), {}, 100.0),
    ("wrap 32", st_(0, M32 - 100, up=1000, bits=32), st_(10, 900, up=2000, bits=32), {}, 100.0),
    ("wrap 64", st_(0, M64 - 1, up=1000), st_(1, 9, up=1100), {}, 10.0),
    ("restart: uptime back", st_(0, 5000, up=500_000), st_(60, 100, up=3_000), {}, None),
    ("restart: uptime back, counter up", st_(0, 5000, up=500_000), st_(60, 9000, up=3_000), {}, None),
    ("restart: up less than interval", st_(0, 10, up=100), st_(60, 20, up=3_000), {}, None),
    ("sysUpTime own wrap is not a restart", st_(0, 100, up=M32 - 1000), st_(60, 700, up=5000), {}, 10.0),
    ("discontinuity changed", st_(0, 100, up=10_000, disc=0), st_(10, 200, up=11_000, disc=10_500), {}, None),
    ("discontinuity same", st_(0, 100, up=10_000, disc=7), st_(10, 200, up=11_000, disc=7), {}, 10.0),
    ("dt zero", st_(5, 100), st_(5, 200), {}, None),
    ("dt negative", st_(10, 100), st_(5, 200), {}, None),
    ("gap", st_(0, 100), st_(200, 300), {"max_dt_s": 150.0}, None),
    ("just within gap", st_(0, 100), st_(150, 250), {"max_dt_s": 150.0}, 1.0),
    ("implausible wrap 64 = reset", st_(0, 10**12, up=1000), st_(60, 5, up=7000), {"ceiling": 1.25e8}, None),
    ("plausible wrap 32", st_(0, M32 - 10, up=1, bits=32), st_(60, 10**9, up=6001, bits=32),
     {"ceiling": 1.25e8 * 1.1}, (10**9 + 10) / 60),
    ("jump above ceiling", st_(0, 0, up=100), st_(1, 10**10, up=200), {"ceiling": 1.375e8}, None),
    ("width changed", st_(0, 10, up=100, bits=32), st_(10, 20, up=1100, bits=64), {}, None),
]


@pytest.mark.parametrize(
    ("prev", "cur", "kwargs", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_rate_cases(
    prev: CounterState, cur: CounterState, kwargs: dict[str, float], expected: float | None
) -> None:
    got = rate(prev, cur, "o", **kwargs)
    if expected is None:
        assert got is None
    else:
        assert got == pytest.approx(expected)


@pytest.mark.parametrize(
    ("prev", "cur", "bits", "expected"),
    [(0, 10, 32, 10), (M32 - 1, 0, 32, 1), (M32 - 1, 4, 32, 5), (M64 - 2, 3, 64, 5), (7, 7, 64, 0)],
)
def test_delta(prev: int, cur: int, bits: int, expected: int) -> None:
    assert delta(prev, cur, bits) == expected


def test_missing_counter_gives_none() -> None:
    assert rate(CounterState(0, {}), CounterState(1, {"o": 1}), "o") is None


RULES = (
    RateRule("in_bps", "in", scale=8, bits_per_unit=8, util_field="in_util_pct"),
    RateRule("in_errors_ps", "err", bits_per_unit=512),
)


@pytest.mark.parametrize(
    ("speed", "d_octets", "expected"),
    [
        (GBIT, 125_000_000 * 60, {"in_bps": 1e9, "in_util_pct": 100.0, "in_errors_ps": 1.0}),
        (GBIT, 125_000_000 * 60 // 2, {"in_bps": 5e8, "in_util_pct": 50.0, "in_errors_ps": 1.0}),
        (GBIT, 2 * 125_000_000 * 60, {"in_errors_ps": 1.0}),  # 200 % of the line: dropped
        (0, 125_000_000 * 60, {"in_bps": 1e9, "in_errors_ps": 1.0}),  # speed unknown: no util
        (None, 125_000_000 * 60, {"in_bps": 1e9, "in_errors_ps": 1.0}),
    ],
    ids=["line rate", "half", "above speed x 1.1", "speed 0", "speed absent"],
)
def test_rates_for(speed: int | None, d_octets: int, expected: dict[str, float]) -> None:
    prev = CounterState(0, {"in": 1000, "err": 5}, {"in": 64, "err": 32}, uptime_cs=100_000)
    cur = CounterState(60, {"in": 1000 + d_octets, "err": 65}, {"in": 64, "err": 32}, uptime_cs=106_000)
    got = rates_for(prev, cur, RULES, speed, Limits(interval_s=60))
    assert got.keys() == expected.keys()
    for k, v in expected.items():
        assert got[k] == pytest.approx(v)


def test_tracker_first_poll_then_rate_then_forget() -> None:
    tracker = RateTracker(Limits(interval_s=60))

    def obs(t: float, v: int, up: int) -> dict[str, Observation]:
        return {"1": Observation(CounterState(t, {"in": v, "err": 0}, uptime_cs=up), GBIT)}

    assert tracker.observe("r1", obs(0, 0, 1000), RULES) == {"1": {}}
    second = tracker.observe("r1", obs(60, 750_000_000, 7000), RULES)
    assert second["1"]["in_bps"] == pytest.approx(1e8)
    assert second["1"]["in_util_pct"] == pytest.approx(10.0)
    tracker.forget("r1")  # a failed poll in between
    assert tracker.observe("r1", obs(180, 900_000_000, 19000), RULES) == {"1": {}}
    assert len(tracker) == 1
    tracker.observe("r1", {}, RULES)  # the interface vanished: forgotten
    assert len(tracker) == 0


def test_tracker_gap_is_unknown() -> None:
    tracker = RateTracker(Limits(interval_s=60))
    row = {"1": Observation(CounterState(0, {"in": 0}, uptime_cs=100), None)}
    tracker.observe("r1", row, RULES)
    late = {"1": Observation(CounterState(151, {"in": 10}, uptime_cs=15_200), None)}
    assert tracker.observe("r1", late, RULES) == {"1": {}}


# --- properties -----------------------------------------------------------------------------------------

bits_st = st.sampled_from([32, 64])
dt_st = st.floats(min_value=0.5, max_value=600, allow_nan=False)
uptime_st = st.integers(min_value=100_000, max_value=M32 - 1)


@settings(max_examples=300, deadline=None)
@given(bits=bits_st, start=st.integers(min_value=0, max_value=M64 - 1), d=st.integers(min_value=0),
       dt=dt_st, up=uptime_st)
def test_monotone_counter_gives_exact_rate(bits: int, start: int, d: int, dt: float, up: int) -> None:
    start %= 1 << bits
    d %= (1 << bits) - start  # no wrap: start + d < 2^bits
    up2 = (up + round(dt * 100)) % M32
    got = rate(st_(0, start, up=up, bits=bits), st_(dt, start + d, up=up2, bits=bits), "o")
    assert got == d / dt


@settings(max_examples=300, deadline=None)
@given(bits=bits_st, before=st.integers(min_value=1), after=st.integers(min_value=0), dt=dt_st, up=uptime_st)
def test_single_wrap_gives_exact_rate(bits: int, before: int, after: int, dt: float, up: int) -> None:
    mod = 1 << bits
    before = 1 + before % (mod - 1)  # counter was `before` short of the wrap
    prev_v = mod - before
    after %= prev_v  # and ended `after` past zero, below its old value (less than one full turn)
    up2 = (up + round(dt * 100)) % M32
    got = rate(st_(0, prev_v, up=up, bits=bits), st_(dt, after, up=up2, bits=bits), "o")
    assert got == (before + after) / dt


@settings(max_examples=300, deadline=None)
@given(bits=bits_st, a=st.integers(min_value=0), b=st.integers(min_value=0), dt=dt_st,
       up=uptime_st, back=st.integers(min_value=1, max_value=10**6), disc_change=st.booleans())
def test_reset_never_yields_a_value(
    bits: int, a: int, b: int, dt: float, up: int, back: int, disc_change: bool
) -> None:
    mod = 1 << bits
    prev = st_(0, a % mod, up=up, disc=0, bits=bits)
    if disc_change:  # counters reset while uptime advanced normally
        cur = st_(dt, b % mod, up=up + round(dt * 100), disc=up + 1, bits=bits)
    else:  # device restarted: uptime went back (and is shorter than the interval)
        cur = st_(dt, b % mod, up=max(0, min(up - back, round(dt * 100) // 2 - 300)), disc=0, bits=bits)
    assert rate(prev, cur, "o") is None


counter_state = st.builds(
    lambda t, v, up, disc, bits: st_(t, v % (1 << bits), up=up, disc=disc, bits=bits),
    st.floats(min_value=-1e6, max_value=1e6, allow_nan=False),
    st.integers(min_value=0, max_value=M64 - 1),
    st.one_of(st.none(), st.integers(min_value=0, max_value=M32 - 1)),
    st.one_of(st.none(), st.integers(min_value=0, max_value=3)),
    bits_st,
)


@settings(max_examples=500, deadline=None)
@given(prev=counter_state, cur=counter_state,
       speed=st.one_of(st.none(), st.integers(min_value=0, max_value=400 * GBIT)))
def test_rates_never_negative_and_util_bounded(
    prev: CounterState, cur: CounterState, speed: int | None
) -> None:
    r = rate(prev, cur, "o")
    assert r is None or r >= 0
    rules = (RateRule("bps", "o", scale=8, bits_per_unit=8, util_field="util"),)
    got = rates_for(prev, cur, rules, speed, Limits(interval_s=60))
    assert all(v >= 0 for v in got.values())
    if "util" in got:
        assert speed
        assert got["util"] <= 110.0 + 1e-9
        assert got["bps"] <= speed * 1.1 * (1 + 1e-12)


@pytest.mark.parametrize(
    ("prev_up", "cur_up", "dt", "expected"),
    [(1000, 7000, 60, False), (7000, 1000, 60, True), (M32 - 3000, 3000, 60, False),
     (M32 - 3000, 3000, 600, True), (10**6, 10**6, 60, False), (100, 200, 60, True)],
)
def test_restarted(prev_up: int, cur_up: int, dt: float, expected: bool) -> None:
    prev, cur = CounterState(0, {}, uptime_cs=prev_up), CounterState(dt, {}, uptime_cs=cur_up)
    assert restarted(prev, cur) is expected
