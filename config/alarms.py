"""The alarm rules: pydantic models of ``config/alarms.yaml`` and their loader.

Rules carry a severity, a hold-down before raising and a clear hold-down; threshold rules add a limit and
a duration in polls; the ONU Rx rule has optics windows per optics class (B+, C+); the group window and
the occurrence window set how the engine correlates and counts; maintenance windows suppress tickets.
Errors name the file, line and field (the helpers of :mod:`config.loader`).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from config.errors import ConfigError, Problem
from config.loader import _Doc, _read_yaml, _validation_problems
from config.models import Job, Name
from config.traps import VendorMapping

ALARMS_FILE = "alarms.yaml"

SeverityName = Literal["critical", "major", "minor", "warning"]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Rule(_Model):
    """What every rule has: a severity, a hold-down before raising and a clear hold-down (seconds)."""

    enabled: bool = True
    severity: SeverityName = "major"
    hold_down_s: float = Field(default=0.0, ge=0)
    clear_hold_down_s: float = Field(default=0.0, ge=0)


class UnreachableRule(Rule):
    job: str = "system"
    failures: int = Field(default=2, ge=1)
    """Consecutive failed polls of ``job`` before the device counts as unreachable."""


class FlapRule(_Model):
    enabled: bool = True
    severity: SeverityName = "major"
    transitions: int = Field(default=4, ge=2)
    """Up/down changes of one port within ``window_s`` that make it flapping."""
    window_s: float = Field(default=600.0, gt=0)
    quiet_s: float = Field(default=900.0, gt=0)
    """The flapping alarm clears after this long without a change."""


class ThresholdRule(Rule):
    above: float | None = None
    below: float | None = None
    polls: int = Field(default=3, ge=1)
    """Consecutive polls beyond the limit before the condition is active."""

    @model_validator(mode="after")
    def _one_limit(self) -> ThresholdRule:
        if (self.above is None) == (self.below is None):
            raise ValueError("give exactly one of 'above' or 'below'")
        return self

    def breached(self, value: float) -> bool:
        if self.above is not None:
            return value > self.above
        assert self.below is not None
        return value < self.below


class BatteryRuntimeRule(ThresholdRule):
    """The battery's remaining runtime (``power.battery_runtime_min``, minutes at the present load) below the
    limit while the site is on battery (``mains_ok`` = 0; a plant that reports no mains status is judged on
    the runtime alone)."""

    below: float | None = 60.0
    polls: int = Field(default=2, ge=1)
    on_battery_only: bool = True
    """Only while on battery: on mains the runtime is an estimate of a battery that is not being used."""


class OpticsWindow(_Model):
    min_dbm: float
    max_dbm: float

    @model_validator(mode="after")
    def _ordered(self) -> OpticsWindow:
        if self.min_dbm >= self.max_dbm:
            raise ValueError("min_dbm must be below max_dbm")
        return self


class OnuRxRule(Rule):
    polls: int = Field(default=2, ge=1)
    classes: dict[str, OpticsWindow] = {
        "B+": OpticsWindow(min_dbm=-27.0, max_dbm=-8.0),
        "C+": OpticsWindow(min_dbm=-30.0, max_dbm=-8.0),
    }
    default_class: str = "B+"
    pon_classes: dict[str, str] = {}
    """Optics class of an OLT (``device``) or of one PON port (``device:pon``)."""

    @model_validator(mode="after")
    def _known_classes(self) -> OnuRxRule:
        for name in (self.default_class, *self.pon_classes.values()):
            if name not in self.classes:
                raise ValueError(f"unknown optics class {name!r} (known: {', '.join(sorted(self.classes))})")
        return self

    def window(self, device: str, pon: str) -> OpticsWindow:
        name = self.pon_classes.get(f"{device}:{pon}", self.pon_classes.get(device, self.default_class))
        return self.classes[name]


class RadioRslRule(Rule):
    polls: int = Field(default=2, ge=1)
    rx_threshold_dbm: float = -78.0
    """The receiver's threshold (sensitivity at the link's modulation)."""
    min_fade_margin_db: float = Field(default=10.0, ge=0)
    """Alarm when RSL − rx_threshold_dbm falls below this."""
    links: dict[str, float] = {}
    """Per-radio receiver threshold overrides, by ``device`` or ``device:link``."""

    def threshold(self, device: str, link: str) -> float:
        return self.links.get(f"{device}:{link}", self.links.get(device, self.rx_threshold_dbm))


class OnuLosRule(Rule):
    ignore_causes: tuple[str, ...] = ("dying", "gasp")
    """An offline ONU whose last down cause contains one of these (customer power off) is not LOS."""


class BgpRule(Rule):
    """A BGP session down: polled (``bgp_peer`` samples) and trapped (``bgpBackwardTransition``), one alarm."""

    polls: int = Field(default=2, ge=1)
    """Consecutive polls with the peer admin-started (2) and not established (6) before the condition holds."""
    peers: dict[str, tuple[str, ...]] = {}
    """Which peers of a device the poll watches, by device name (``{"agg-1": ["10.0.0.1"]}``); a device not
    listed: every admin-started peer. Traps are not filtered."""


class TrapRule(_Model):
    alarm: str | None = None
    """Alarm kind raised (None: ``trap:<kind>``)."""
    severity: SeverityName | None = None
    """None: the event's own severity."""
    clears: str | None = None
    """The trap kind this one clears (besides the event's own ``clears``)."""
    auto_clear_s: float | None = Field(default=None, ge=0)
    """Clears this long after it was last raised (an event, e.g. coldStart). None: a kind with a clearing
    trap stands until that trap (or :attr:`TrapRules.stale_clear_s`); one without takes
    :attr:`TrapRules.default_auto_clear_s`."""
    monitored_only: bool = False
    """Raise only when the event's resource is a monitored port of the device."""
    ignore: bool = False


def _default_traps() -> dict[str, TrapRule]:
    return {
        "linkDown": TrapRule(alarm="interface_down", severity="major", monitored_only=True),
        "linkUp": TrapRule(clears="linkDown"),
        "coldStart": TrapRule(severity="warning", auto_clear_s=300),
        "warmStart": TrapRule(severity="warning", auto_clear_s=300),
        "bgpBackwardTransition": TrapRule(alarm="bgp_down", severity="major"),
        "bgpEstablished": TrapRule(clears="bgpBackwardTransition"),
        "emsFeedLost": TrapRule(severity="major"),
        "emsFeedRestored": TrapRule(clears="emsFeedLost"),
        "authenticationFailure": TrapRule(ignore=True),
    }


class TrapRules(_Model):
    kinds: dict[str, TrapRule] = Field(default_factory=_default_traps)
    default_severity: SeverityName | None = None
    default_auto_clear_s: float | None = Field(default=3600.0, ge=0)
    """Auto-clear of a trap kind without a clearing trap and without its own ``auto_clear_s`` (None: never)."""
    stale_clear_s: float | None = Field(default=7 * 86400.0, ge=0)
    """A kind that has a clearing trap stands until that trap arrives; after this long without it (nor a
    repeat of the raise) the clear is taken as lost and the alarm clears (None: never)."""
    cleared_kinds: tuple[str, ...] = ()
    """Kinds raised and cleared by vendor mappings (``config/traps.yaml`` mappings with ``clear`` or
    ``clear_when``: the clear is the same kind): they stand until cleared. :func:`with_trap_clears` adds
    them from the mappings; a kind another kind ``clears`` here needs no listing."""

    def has_clearing_trap(self, kind: str) -> bool:
        """Whether some trap clears ``kind``: a rule here ``clears`` it, or a vendor mapping does."""
        return kind in self.cleared_kinds or any(r.clears == kind for r in self.kinds.values())

    def auto_clear(self, kind: str) -> float | None:
        """How long after its last raise an alarm of trap ``kind`` clears by itself (None: never): its own
        ``auto_clear_s``, else the stale limit when a trap clears it, else the default auto-clear."""
        rule = self.kinds.get(kind)
        if rule is not None and rule.auto_clear_s is not None:
            return rule.auto_clear_s
        if self.has_clearing_trap(kind):
            return self.stale_clear_s
        return self.default_auto_clear_s


class Rules(_Model):
    device_unreachable: UnreachableRule = UnreachableRule(severity="critical", clear_hold_down_s=60)
    interface_down: Rule = Rule(severity="major", hold_down_s=30, clear_hold_down_s=60)
    flap: FlapRule = FlapRule()
    pon_down: Rule = Rule(severity="critical", hold_down_s=15, clear_hold_down_s=60)
    onu_los: OnuLosRule = OnuLosRule(severity="minor", hold_down_s=60, clear_hold_down_s=60)
    onu_rx_power: OnuRxRule = OnuRxRule(severity="minor", clear_hold_down_s=300)
    radio_down: Rule = Rule(severity="critical", hold_down_s=15, clear_hold_down_s=60)
    radio_rsl_low: RadioRslRule = RadioRslRule(severity="major", clear_hold_down_s=300)
    on_battery: Rule = Rule(severity="major", clear_hold_down_s=300)
    bgp_down: BgpRule = BgpRule(severity="major", hold_down_s=30, clear_hold_down_s=60)
    """Raised by polls (a peer admin-started and not established for ``polls`` polls) and by traps
    (``bgpBackwardTransition``); cleared by an established poll or ``bgpEstablished``."""
    cpu_high: ThresholdRule = ThresholdRule(severity="minor", above=90, polls=3, clear_hold_down_s=120)
    mem_high: ThresholdRule = ThresholdRule(severity="minor", above=95, polls=3, clear_hold_down_s=120)
    util_high: ThresholdRule = ThresholdRule(severity="major", above=90, polls=3, clear_hold_down_s=120)
    errors_high: ThresholdRule = ThresholdRule(severity="minor", above=10, polls=3, clear_hold_down_s=120)
    battery_low: ThresholdRule = ThresholdRule(severity="critical", below=47.0, polls=2, clear_hold_down_s=300)
    battery_runtime_low: BatteryRuntimeRule = BatteryRuntimeRule(severity="critical", clear_hold_down_s=300)
    traps: TrapRules = TrapRules()

    def hold_downs(self) -> tuple[float, ...]:
        """The hold-down of every enabled rule, seconds."""
        rules = [getattr(self, name) for name in type(self).model_fields]
        return tuple(r.hold_down_s for r in rules if isinstance(r, Rule) and r.enabled)


CORRELATION_JOBS = ("system", "interfaces", "onu", "pon", "radio", "power", "bgp")
"""The poll jobs whose results raise alarms that correlation relates (reachability, ports, PON/ONUs,
radios, site power, BGP): a root seen by one of them may come one of its intervals after its symptoms."""
ROOT_JOBS = ("system", "interfaces", "radio", "power", "bgp")
"""The jobs whose alarms can be a root that arrives after symptoms seen by *another* job (a device unreachable,
a port or radio link down, a site on battery, a BGP session down). The ``onu``/``pon`` walk is not among them:
a PON port down and the LOS of its ONUs come from the same walk."""
MAX_AUTO_GROUP_WINDOW_S = 300.0
"""The ``auto`` group window never exceeds this: beyond it a ticket waits too long for its root."""
DEFAULT_POLL_S = 60.0
"""The poll interval assumed when none of :data:`CORRELATION_JOBS` is configured."""


def auto_group_window_s(jobs: Mapping[str, Job], hold_downs: Iterable[float]) -> float:
    """The ``auto`` group window: the longest interval of the jobs that detect roots (:data:`ROOT_JOBS`: a
    root seen by one of them comes at most one of its intervals after symptoms another job saw) plus the longest
    hold-down, at most :data:`MAX_AUTO_GROUP_WINDOW_S`. Every ticket waits this long, so it stays short."""
    intervals = [job.interval_s for name, job in jobs.items() if name in ROOT_JOBS]
    return _capped(max(intervals, default=DEFAULT_POLL_S), hold_downs)


def detection_lag_s(rules: Rules, jobs: Mapping[str, Job], poll_interval_s: float | None = None) -> float:
    """How long after its symptoms a root alarm may be first seen: the longest interval of the jobs that
    feed correlation, or the reachability job's interval times the failed polls ``device_unreachable``
    needs, whichever is longer (``poll_interval_s`` stands in for every job's interval when given;
    :data:`DEFAULT_POLL_S` for a job not configured)."""
    def interval(name: str) -> float:
        if poll_interval_s is not None:
            return poll_interval_s
        job = jobs.get(name)
        return DEFAULT_POLL_S if job is None else job.interval_s

    corr = [job.interval_s for name, job in jobs.items() if name in CORRELATION_JOBS]
    longest = poll_interval_s if poll_interval_s is not None else max(corr, default=DEFAULT_POLL_S)
    r = rules.device_unreachable
    return max(longest, interval(r.job) * r.failures)


def _capped(poll_interval_s: float, hold_downs: Iterable[float]) -> float:
    return min(poll_interval_s + max(hold_downs, default=0.0), MAX_AUTO_GROUP_WINDOW_S)


class Priority(_Model):
    """Ticket priority from impact: 1 for these classes, then by affected subscribers, else 4."""

    p1_classes: tuple[str, ...] = ("enterprise_line", "mobile_backhaul")
    p2_min_subscribers: int = Field(default=50, ge=1)
    p3_min_subscribers: int = Field(default=1, ge=1)


class MaintenanceWindow(_Model):
    start: datetime
    end: datetime
    devices: tuple[Name, ...] = ()
    sites: tuple[Name, ...] = ()
    reason: str = ""

    @field_validator("start", "end")
    @classmethod
    def _aware(cls, v: datetime) -> datetime:
        if v.tzinfo is None:
            raise ValueError("give a time zone (e.g. 2026-12-01T02:00:00+08:00)")
        return v

    @model_validator(mode="after")
    def _ordered(self) -> MaintenanceWindow:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        if not self.devices and not self.sites:
            raise ValueError("give 'devices' or 'sites'")
        return self


class AlarmsConfig(_Model):
    rules: Rules = Rules()
    group_window_s: float | Literal["auto"] = "auto"
    """How long a raised alarm waits for its root before a ticket is opened, seconds; ``auto``: the longest
    interval of the jobs that feed correlation plus the longest hold-down, at most 300 s
    (:func:`auto_group_window_s`)."""
    occurrence_window_s: float = Field(default=3600.0, ge=0)
    """A cleared alarm raised again within this long is the same alarm, its occurrence count + 1."""
    ticket_severities: tuple[SeverityName, ...] = ("critical", "major")
    """Roots of these severities open tickets; others are only recorded."""
    priority: Priority = Priority()
    maintenance: tuple[MaintenanceWindow, ...] = ()

    @field_validator("group_window_s")
    @classmethod
    def _non_negative(cls, v: float | str) -> float | str:
        if not isinstance(v, str) and v < 0:
            raise ValueError("must be >= 0 (or auto)")
        return v

    def group_window(self, poll_interval_s: float) -> float:
        """The group window in seconds: as configured, or for ``auto`` one poll interval (the longest job
        interval: a root's poll may come that much after its symptoms') plus the longest hold-down, capped."""
        if not isinstance(self.group_window_s, str):
            return self.group_window_s
        return _capped(poll_interval_s, self.rules.hold_downs())

    def group_window_for(self, jobs: Mapping[str, Job]) -> float:
        """The group window in seconds for these poll jobs (``netqos.yaml``'s ``jobs``): as configured, or
        :func:`auto_group_window_s` of them and this file's hold-downs."""
        if not isinstance(self.group_window_s, str):
            return self.group_window_s
        return auto_group_window_s(jobs, self.rules.hold_downs())


def with_trap_clears(cfg: AlarmsConfig, mappings: Iterable[VendorMapping]) -> AlarmsConfig:
    """``cfg`` knowing which vendor kinds have a clearing trap (``config/traps.yaml`` mappings with ``clear``
    or ``clear_when``): their alarms then stand until cleared instead of auto-clearing."""
    traps = cfg.rules.traps
    kinds = {m.kind for m in mappings if m.clear_oids or m.clear_when is not None} - set(traps.cleared_kinds)
    if not kinds:
        return cfg
    new = traps.model_copy(update={"cleared_kinds": (*traps.cleared_kinds, *sorted(kinds))})
    return cfg.model_copy(update={"rules": cfg.rules.model_copy(update={"traps": new})})


def _cross_references(doc: _Doc, cfg: AlarmsConfig, devices: Collection[str], sites: Collection[str]) -> list[Problem]:
    out: list[Problem] = []
    for i, w in enumerate(cfg.maintenance):
        for j, d in enumerate(w.devices):
            if d not in devices:
                out.append(doc.problem(("maintenance", i, "devices", j), f"unknown device {d!r}"))
        for j, s in enumerate(w.sites):
            if s not in sites:
                out.append(doc.problem(("maintenance", i, "sites", j), f"unknown site {s!r}"))
    for name in cfg.rules.onu_rx_power.pon_classes:
        if name.split(":", 1)[0] not in devices:
            path = ("rules", "onu_rx_power", "pon_classes", name)
            out.append(doc.problem(path, f"unknown device {name.split(':', 1)[0]!r}"))
    for name in cfg.rules.bgp_down.peers:
        if name not in devices:
            out.append(doc.problem(("rules", "bgp_down", "peers", name), f"unknown device {name!r}"))
    for name in cfg.rules.radio_rsl_low.links:
        if name.split(":", 1)[0] not in devices:
            out.append(doc.problem(("rules", "radio_rsl_low", "links", name), f"unknown device {name!r}"))
    return out


def load_alarms(
    path: Path, devices: Collection[str] | None = None, sites: Collection[str] | None = None
) -> AlarmsConfig:
    """Read and validate ``alarms.yaml``; with ``devices``/``sites`` also check the names it uses.

    Raises :class:`ConfigError` with every problem (file:line:column field: message).
    """
    doc = _read_yaml(path, str(path))
    if isinstance(doc, Problem):
        raise ConfigError([doc])
    try:
        cfg = AlarmsConfig.model_validate(doc.data)
    except ValidationError as exc:
        raise ConfigError(_validation_problems(doc, AlarmsConfig, exc, data=doc.data)) from None
    if devices is not None:
        problems = _cross_references(doc, cfg, devices, sites or ())
        if problems:
            raise ConfigError(problems)
    return cfg
