"""Counter-rate math: hand cases and hypothesis properties."""

from __future__ import annotations

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from collectors.counters import (
    CounterState,
    Drop,
    Limits,
    Observation,
    RateRule,
    RateTracker,
    RowRates,
    assess,
    assess_row,
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
    ("32-bit, 1G, 60 s: wraps ambiguous", st_(0, 10, up=1, bits=32), st_(60, 20, up=6001, bits=32),
     {"wrap_rate": GBIT / 8}, None),
    ("32-bit, 1G, 20 s: one wrap at most", st_(0, M32 - 10, up=1, bits=32), st_(20, 10**9, up=2001, bits=32),
     {"wrap_rate": GBIT / 8, "ceiling": GBIT / 8 * 1.1}, (10**9 + 10) / 20),
    ("64-bit, 400G, 600 s: never ambiguous", st_(0, 10, up=1), st_(600, 20, up=60001),
     {"wrap_rate": 400 * GBIT / 8}, 10 / 600),
]

DROPS = [
    # id, prev, cur, kwargs, expected drop reason
    ("gap", st_(0, 100), st_(200, 300), {"max_dt_s": 150.0}, Drop.GAP),
    ("clock back", st_(10, 100), st_(5, 200), {}, Drop.GAP),
    ("reset", st_(0, 5000, up=500_000), st_(60, 100, up=3_000), {}, Drop.RESET),
    ("width", st_(0, 10, up=100, bits=32), st_(10, 20, up=1100, bits=64), {}, Drop.WIDTH),
    ("ambiguous", st_(0, 10, up=1, bits=32), st_(60, 20, up=6001, bits=32), {"wrap_rate": GBIT / 8},
     Drop.AMBIGUOUS_WRAP),
    ("above line", st_(0, 0, up=100), st_(1, 10**10, up=200), {"ceiling": 1.375e8}, Drop.ABOVE_LINE),
    ("fine", st_(0, 0, up=100), st_(1, 10, up=200), {"ceiling": 1.375e8}, None),
]


@pytest.mark.parametrize(
    ("prev", "cur", "kwargs", "expected"), [c[1:] for c in DROPS], ids=[c[0] for c in DROPS]
)
def test_assess_says_why(
    prev: CounterState, cur: CounterState, kwargs: dict[str, float], expected: Drop | None
) -> None:
    got = assess(prev, cur, "o", **kwargs)
    assert got.drop == expected
    assert (got.rate is None) == (expected is not None)


def test_missing_counter_is_no_drop() -> None:
    assert assess(CounterState(0, {}), CounterState(1, {"o": 1}), "o").drop is None


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


@pytest.mark.parametrize(
    ("bits", "speed", "dt", "expected_drop"),
    [
        (32, GBIT, 60, Drop.AMBIGUOUS_WRAP),  # 1G wraps a 32-bit octet counter every 34 s
        (32, GBIT, 30, None),
        (32, 10 * GBIT, 4, Drop.AMBIGUOUS_WRAP),
        (32, 100_000_000, 300, None),  # 100M: one wrap every 343 s
        (32, None, 30, Drop.AMBIGUOUS_WRAP),  # speed unknown: 1 Tbit/s assumed
        (64, None, 30, None),
        (64, 400 * GBIT, 300, None),
    ],
)
def test_octet_counter_wrap_ambiguity(bits: int, speed: int | None, dt: float, expected_drop: Drop | None) -> None:
    rules = (RateRule("in_bps", "in", scale=8, bits_per_unit=8), RateRule("in_errors_ps", "err", bits_per_unit=512))
    prev = CounterState(0, {"in": 1000, "err": 0}, {"in": bits, "err": 32}, uptime_cs=100_000)
    cur = CounterState(dt, {"in": 2000, "err": 3}, {"in": bits, "err": 32}, uptime_cs=100_000 + round(dt * 100))
    got = assess_row(prev, cur, rules, speed, Limits(interval_s=dt))
    assert got.dropped.get("in_bps") == expected_drop
    assert ("in_bps" in got.fields) == (expected_drop is None)
    assert got.fields["in_errors_ps"] == pytest.approx(3 / dt)  # packet counters keep the one-wrap reading


@pytest.mark.parametrize(
    ("dt", "gap_factor", "expected_drop"),
    [(60, None, None), (89, None, None), (91, None, Drop.GAP), (120, None, Drop.GAP),  # default 1.5
     (120, 2.5, None), (0, None, Drop.GAP)],
)
def test_a_missed_poll_is_a_gap(dt: float, gap_factor: float | None, expected_drop: Drop | None) -> None:
    limits = Limits(interval_s=60) if gap_factor is None else Limits(interval_s=60, gap_factor=gap_factor)
    rules = (RateRule("in_bps", "in", scale=8, bits_per_unit=8),)
    prev = CounterState(0, {"in": 0}, uptime_cs=100_000)
    cur = CounterState(dt, {"in": 600}, uptime_cs=100_000 + round(dt * 100))
    got = assess_row(prev, cur, rules, GBIT, limits)
    assert got.dropped.get("in_bps") == expected_drop


def test_tracker_counts_a_forgotten_interval_as_a_gap() -> None:
    tracker = RateTracker(Limits(interval_s=60))

    def obs(t: float, v: int) -> dict[str, Observation]:
        return {i: Observation(CounterState(t, {"in": v, "err": 0}, uptime_cs=1000 + int(t) * 100), GBIT)
                for i in ("1", "2")}

    assert tracker.assess("r1", obs(0, 0), RULES) == {"1": RowRates({}), "2": RowRates({})}  # first: no drop
    tracker.forget("r1")  # the next poll failed
    after = tracker.assess("r1", obs(120, 10), RULES)
    assert {i: dict(r.dropped) for i, r in after.items()} == {
        i: {"in_bps": Drop.GAP, "in_errors_ps": Drop.GAP} for i in ("1", "2")
    }
    assert tracker.assess("r1", obs(180, 20), RULES)["1"].dropped == {}  # back to normal
    tracker.forget("never-seen")  # nothing to forget: its first poll is no gap
    assert tracker.assess("never-seen", obs(0, 0), RULES)["1"].dropped == {}


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
        new_up = max(0, min(up - back, round(dt * 100) // 2 - 300))
        # a restart that lands where sysUpTime's own 497-day wrap would put it is indistinguishable from that
        # wrap (by design it reads as one): keep out of that window
        assume(abs((new_up + M32 - up) / 100.0 - dt) > max(2.0, 0.1 * dt))
        cur = st_(dt, b % mod, up=new_up, disc=0, bits=bits)
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


@settings(max_examples=300, deadline=None)
@given(speed_mbit=st.integers(min_value=1, max_value=400_000), dt=st.floats(min_value=0.5, max_value=600),
       start=st.integers(min_value=0, max_value=M32 - 1), load=st.floats(min_value=0.0, max_value=1.0),
       up=uptime_st)
def test_32bit_octets_never_undercount(speed_mbit: int, dt: float, start: int, load: float, up: int) -> None:
    """Whatever the traffic (up to line rate), a 32-bit octet counter either gives the true rate or none:
    never the remainder of an unseen extra wrap."""
    speed = speed_mbit * 1_000_000
    true_increase = int(speed / 8 * dt * load)
    prev = CounterState(0, {"in": start}, {"in": 32}, uptime_cs=up)
    cur = CounterState(dt, {"in": (start + true_increase) % M32}, {"in": 32}, uptime_cs=(up + round(dt * 100)) % M32)
    rules = (RateRule("in_bps", "in", scale=8, bits_per_unit=8),)
    got = assess_row(prev, cur, rules, speed, Limits(interval_s=dt))
    if speed / 8 * dt >= M32:
        assert got.dropped == {"in_bps": Drop.AMBIGUOUS_WRAP}
    else:
        assert got.fields["in_bps"] == pytest.approx(true_increase * 8 / dt)


@pytest.mark.parametrize(
    ("prev_up", "cur_up", "dt", "expected"),
    [(1000, 7000, 60, False), (7000, 1000, 60, True), (M32 - 3000, 3000, 60, False),
     (M32 - 3000, 3000, 600, True), (10**6, 10**6, 60, False), (100, 200, 60, True)],
)
def test_restarted(prev_up: int, cur_up: int, dt: float, expected: bool) -> None:
    prev, cur = CounterState(0, {}, uptime_cs=prev_up), CounterState(dt, {}, uptime_cs=cur_up)
    assert restarted(prev, cur) is expected
