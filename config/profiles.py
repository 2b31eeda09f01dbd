"""Device profiles: what to poll per device kind, as data (YAML), validated and resolved here.

A profile file holds one profile: a ``name``, an optional ``vendor``, ``extends`` (profiles whose
groups it inherits), ``detect`` rules (sysObjectID prefixes, optional sysDescr regex) and
``groups``. Each group belongs to one ``job`` (``system``, ``interfaces`` ...; jobs are
scheduled separately) and is one of three kinds:

- ``scalars``: one GET; each field/tag is a scalar OID (``.0``); one sample. A ``count`` source counts the
  rows of a whole column (optionally those ``equals`` a value), e.g. the rectifiers whose status is OK.
- ``table``: one table walk; one sample per index (e.g. IF-MIB, one ``interface`` per ifIndex).
- ``reduce``: walk columns and reduce all rows to one field of the device sample
  (e.g. ``cpu_pct`` = the busiest CPU).

Sources carry their conversion (``missing`` sentinels, ``map``, ``pattern``, ``decode``, ``scale`` +
``offset``, ``above``); table groups can decode their index into tags (``index``), filter rows (``where``,
``rows_from``) and count rows of another table per row (``count`` sources). The format reference is
``docs/profiles.md``.

:func:`load_profiles` reads the built-in directory ``collectors/profiles`` plus extra
directories from config (later directories override a profile of the same name) and
resolves ``extends``. Errors name the file, line and field.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError

from config.errors import ConfigError, Problem

OID_RE = r"^[0-2](\.(0|[1-9][0-9]*))+$"
Oid = Annotated[str, Field(pattern=OID_RE)]
ProfileName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]
BUILTIN_DIR = Path(__file__).resolve().parent.parent / "collectors" / "profiles"
"""Where the built-in profiles ship (data inside ``collectors/``)."""


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Source(_Model):
    """One place a value can come from: a column (table) or a scalar OID, with its conversion.

    The conversion of a raw value, in order: ``missing`` (the device's "no reading" values: the source
    gives nothing), ``map`` (raw → value; an unmapped value passes through), ``pattern`` (a regex; its
    first group is the text, no match: nothing), ``decode`` (a named value decoder), then for numbers
    ``value × scale + offset`` and ``above`` (1 when the result is at least ``above``, else 0).

    ``count`` is the other kind of source: a number of rows of a column, optionally only those whose value
    ``equals`` something. In a table group, the rows of another table that belong to this row (the ONUs of a
    PON port; the group's ``count_parent`` decoder names the row a counted row belongs to); in a scalars
    group, the rows of the whole column (the rectifiers whose status is OK). A column that answered no row at
    all gives nothing (unknown, not zero).
    """

    oid: Oid | None = None
    count: Oid | None = None
    equals: int | str | None = None
    scale: float = 1.0
    offset: float = 0.0
    counter: Literal[32, 64] | None = None
    """Set for counters: their width, which the rate math needs to undo a wrap."""
    nonzero: bool = False
    """Skip this source for a row whose value is 0 (e.g. ifHighSpeed is 0 below 1 Mbit/s)."""
    missing: tuple[int | str, ...] = ()
    """Raw values that mean "no reading" (Huawei's 2147483647): the source gives nothing, never a number."""
    map: dict[str, int | str] | None = None
    """Raw value (as text) → value, e.g. an enum to its name or to 1/2; unmapped values pass through."""
    pattern: str | None = None
    """A regex applied to the value as text; the first group (or the whole match) is kept."""
    decode: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")] | None = None
    """A named value decoder (collectors/snmp/decoders.py), e.g. ``gpon_serial``."""
    above: float | None = None
    """Turn the number into 1 when it is at least this, else 0 (e.g. mains present = phase ≥ 180 V)."""
    index_suffix: Annotated[str, Field(pattern=r"^(\.(0|[1-9][0-9]*))+$")] | None = None
    """(tables) This column indexes the row with extra trailing parts, e.g. ZTE's optics table
    ``{port}.{onu}.1`` for the row ``{port}.{onu}``: the suffix is stripped to find the row."""

    @field_validator("map", mode="before")
    @classmethod
    def _map_keys(cls, v: object) -> object:
        return {str(k): val for k, val in v.items()} if isinstance(v, Mapping) else v

    @model_validator(mode="after")
    def _kind(self) -> Source:
        if (self.oid is None) == (self.count is None):
            raise ValueError("give exactly one of 'oid' or 'count'")
        if self.count is None and self.equals is not None:
            raise ValueError("'equals' goes with 'count'")
        if self.pattern is not None:
            try:
                re.compile(self.pattern)
            except re.error as exc:
                raise ValueError(f"bad regex {self.pattern!r}: {exc}") from None
        return self

    @property
    def key(self) -> str:
        """How a row looks this source up: the OID, plus ``+suffix`` with an ``index_suffix``."""
        return self.column + (f"+{self.index_suffix}" if self.index_suffix else "")

    @property
    def column(self) -> str:
        """The OID this source reads (its ``oid`` or its ``count`` column)."""
        col = self.oid if self.oid is not None else self.count
        assert col is not None  # guaranteed by the validator
        return col


_SPEC_KEYS = ("type", "emit", "combine")


def _as_sources(v: object) -> object:
    """Accept ``OID``, ``{oid: ...}``, a list of either, or ``{sources: [...], ...}``."""
    if isinstance(v, str):
        return {"sources": [{"oid": v}]}
    if isinstance(v, list):
        return {"sources": [{"oid": i} if isinstance(i, str) else i for i in v]}
    if isinstance(v, Mapping) and ("oid" in v or "count" in v):
        extra = {k: v[k] for k in _SPEC_KEYS if k in v}
        src = {k: val for k, val in v.items() if k not in _SPEC_KEYS}
        return {"sources": [src], **extra}
    if isinstance(v, Mapping) and "sources" in v:
        srcs = v["sources"]
        if isinstance(srcs, list):
            return {**v, "sources": [{"oid": i} if isinstance(i, str) else i for i in srcs]}
    return v


class ValueSpec(_Model):
    """A field or tag: sources tried in order per row, the first present one wins."""

    sources: tuple[Source, ...] = Field(min_length=1)
    type: Literal["int", "float", "str"] = "int"
    emit: bool = True
    """False: read for the collector's own use (e.g. ifCounterDiscontinuityTime), not written."""
    combine: Literal["first", "min", "max", "sum"] = "first"
    """``first``: the first source with a value wins; ``min``/``max``/``sum``: over every source that
    has one (e.g. mains present on every phase = the minimum of the phases' 0/1)."""


def _specs(v: object) -> object:
    return {k: _as_sources(x) for k, x in v.items()} if isinstance(v, Mapping) else v


class Condition(_Model):
    """A row filter on another column of the same index: ``equals`` a value or ``matches`` a regex."""

    column: Oid
    equals: int | str | None = None
    matches: str | None = None

    @model_validator(mode="after")
    def _one(self) -> Condition:
        if (self.equals is None) == (self.matches is None):
            raise ValueError("give exactly one of 'equals' or 'matches'")
        if self.matches is not None:
            try:
                re.compile(self.matches)
            except re.error as exc:
                raise ValueError(f"bad regex {self.matches!r}: {exc}") from None
        return self


class ReduceSource(_Model):
    """Rows giving one number each: a ``value`` column, or a percentage of ``used`` / (used+free | total)."""

    value: Oid | None = None
    used: Oid | None = None
    free: Oid | None = None
    total: Oid | None = None
    scale: float = 1.0
    where: tuple[Condition, ...] = ()
    index_prefix: str | None = None
    """Keep only rows whose index starts with this (e.g. ``9.`` = Juniper Routing Engines)."""

    @model_validator(mode="after")
    def _shape(self) -> ReduceSource:
        if self.value is not None:
            if self.used or self.free or self.total:
                raise ValueError("give 'value' or 'used' with 'free'/'total', not both")
        elif self.used is None or (self.free is None) == (self.total is None):
            raise ValueError("give 'value', or 'used' with exactly one of 'free' or 'total'")
        return self

    @property
    def columns(self) -> tuple[str, ...]:
        cols = [c for c in (self.value, self.used, self.free, self.total) if c is not None]
        cols += [w.column for w in self.where]
        return tuple(dict.fromkeys(cols))


class Rate(_Model):
    """A per-second rate of a counter field, e.g. ``in_bps`` from ``in_octets`` × 8."""

    counter: str
    scale: float = 1.0
    """Multiplies the per-second delta (8 turns octets/s into bit/s)."""
    bits_per_unit: float = Field(8.0, gt=0)
    """Fewest bits on the wire one counted unit stands for (8 per octet, 512 per minimal frame): the
    ceiling for a plausible rate is speed × 1.1 / bits_per_unit units per second."""
    util: str | None = None
    """Also write rate / speed × 100 under this field (bit rates only)."""


class _Group(_Model):
    name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    job: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    measurement: str


class ScalarsGroup(_Group):
    """One GET of scalar OIDs, giving fields of one sample (``device``)."""

    kind: Literal["scalars"]
    fields: dict[str, ValueSpec]
    reachability: bool = False
    """Add ``reachable`` and ``response_ms``; an unreachable device still gives ``reachable=0``."""

    @field_validator("fields", mode="before")
    @classmethod
    def _norm(cls, v: object) -> object:
        return _specs(v)

    @model_validator(mode="after")
    def _no_suffix(self) -> ScalarsGroup:
        for name, spec in self.fields.items():
            if any(s.index_suffix is not None for s in spec.sources):
                raise ValueError(f"fields.{name}: 'index_suffix' belongs in table groups")
        return self

    @property
    def scalar_oids(self) -> tuple[str, ...]:
        """The OIDs the group GETs (its ``oid`` sources), in order, once."""
        return tuple(dict.fromkeys(s.oid for spec in self.fields.values() for s in spec.sources if s.oid))

    @property
    def count_columns(self) -> tuple[str, ...]:
        """The columns the group walks to count rows (its ``count`` sources), in order, once."""
        return tuple(dict.fromkeys(s.count for spec in self.fields.values() for s in spec.sources if s.count))


class TableGroup(_Group):
    """A table walk giving one sample per index."""

    kind: Literal["table"]
    index_tag: str | None = None
    """Tag holding the raw row index (``ifindex``); none when the decoded tags say it all."""
    index: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")] | None = None
    """A named index decoder (collectors/snmp/indexes.py) turning the row index into tags, e.g.
    ``huawei_onu``: ``4194304256.7`` → ``pon=0/0/1, onu_id=7``. A row it does not know is skipped."""
    where: tuple[Condition, ...] = ()
    """Keep only rows whose other columns match (e.g. ifName matches ``^gpon_``)."""
    rows_from: Oid | None = None
    """The column whose indexes are the rows (e.g. the radio table, so that the IF-MIB ifName looked up
    for the ``link`` tag does not make every interface a row). Default: every ``oid`` source's column."""
    count_parent: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")] | None = None
    """Parent decoder for ``count`` sources: which of this group's rows a counted row belongs to
    (default ``drop_last``: ``{port}.{onu}`` belongs to ``{port}``)."""
    tags: dict[str, ValueSpec] = {}
    fields: dict[str, ValueSpec]
    uptime: Oid | None = None
    """Scalar read with the walk (sysUpTime.0): tells a counter wrap from a device restart."""
    discontinuity: str | None = None
    """Field (usually emit: false) holding ifCounterDiscontinuityTime."""
    speed: str | None = None
    """Field holding the speed in bit/s (ceiling and utilisation)."""
    rates: dict[str, Rate] = {}

    @field_validator("fields", "tags", mode="before")
    @classmethod
    def _norm(cls, v: object) -> object:
        return _specs(v)

    @model_validator(mode="after")
    def _refs(self) -> TableGroup:
        for ref, what in ((self.discontinuity, "discontinuity"), (self.speed, "speed")):
            if ref is not None and ref not in self.fields:
                raise ValueError(f"{what}: {ref!r} is not one of the group's fields")
        for name, r in self.rates.items():
            if r.counter not in self.fields:
                raise ValueError(f"rates.{name}: counter {r.counter!r} is not one of the group's fields")
            if not any(s.counter for s in self.fields[r.counter].sources):
                raise ValueError(f"rates.{name}: field {r.counter!r} has no source marked as a counter")
        if not self.row_columns:
            raise ValueError("a table group needs at least one 'oid' source (count sources do not make rows)")
        if self.rows_from is not None and self.rows_from not in self.row_columns:
            raise ValueError(f"rows_from: {self.rows_from} is not the 'oid' of one of the group's sources")
        return self

    @property
    def columns(self) -> tuple[str, ...]:
        """Every column the group walks (row columns, counted columns, ``where`` columns)."""
        specs = [*self.tags.values(), *self.fields.values()]
        cols = [s.column for spec in specs for s in spec.sources] + [w.column for w in self.where]
        return tuple(dict.fromkeys(cols))

    @property
    def row_columns(self) -> tuple[str, ...]:
        """The columns whose indexes are the group's rows (``oid`` sources; not counted columns)."""
        return tuple(dict.fromkeys(s.oid for s in self.row_sources if s.oid is not None))

    @property
    def row_sources(self) -> tuple[Source, ...]:
        """The ``oid`` sources (one per lookup key): their indexes, less any suffix, are the rows."""
        specs = [*self.tags.values(), *self.fields.values()]
        found = {s.key: s for spec in specs for s in spec.sources if s.oid is not None}
        return tuple(found.values())


class ReduceGroup(_Group):
    """Rows of one or more sources reduced to one field of the device sample."""

    kind: Literal["reduce"]
    field: str
    reduce: Literal["max", "min", "mean"] = "max"
    combine: Literal["all", "first"] = "all"
    """``all``: reduce over the rows of every source; ``first``: the first source with a value wins."""
    sources: tuple[ReduceSource, ...] = Field(min_length=1)

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(c for s in self.sources for c in s.columns))


Group = Annotated[ScalarsGroup | TableGroup | ReduceGroup, Field(discriminator="kind")]


class DetectRule(_Model):
    """Matches when every given part matches: sysObjectID under ``sys_object_id``, sysDescr ``sys_descr``."""

    sys_object_id: Oid | None = None
    sys_descr: str | None = None

    @model_validator(mode="after")
    def _some(self) -> DetectRule:
        if self.sys_object_id is None and self.sys_descr is None:
            raise ValueError("give 'sys_object_id' and/or 'sys_descr'")
        if self.sys_descr is not None:
            try:
                re.compile(self.sys_descr)
            except re.error as exc:
                raise ValueError(f"bad regex {self.sys_descr!r}: {exc}") from None
        return self

    def score(self, sys_object_id: str, sys_descr: str) -> tuple[int, int] | None:
        """How specific the match is (prefix length, has regex), or None when it does not match."""
        length = 0
        if self.sys_object_id is not None:
            oid = sys_object_id.lstrip(".")
            if not (oid == self.sys_object_id or oid.startswith(self.sys_object_id + ".")):
                return None
            length = self.sys_object_id.count(".") + 1
        if self.sys_descr is not None and not re.search(self.sys_descr, sys_descr):
            return None
        return (length, int(self.sys_descr is not None))


class ProfileFile(_Model):
    """One profile file as written."""

    name: ProfileName
    vendor: str = ""
    description: str = ""
    extends: tuple[ProfileName, ...] = ()
    detect: tuple[DetectRule, ...] = ()
    max_requests_per_s: float | None = Field(None, gt=0)
    """Requests (PDUs) per second this kind of device is sent at most, across all its jobs (an OLT's
    management CPU is small); none: no limit. Inherited from ``extends`` when not set."""
    groups: tuple[Group, ...] = ()

    @model_validator(mode="after")
    def _unique_groups(self) -> ProfileFile:
        names = [g.name for g in self.groups]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"duplicate group names: {sorted(dup)}")
        return self


@dataclass(frozen=True, slots=True)
class Profile:
    """A resolved profile: its own groups after those it extends (a same-named group overrides)."""

    name: str
    vendor: str
    detect: tuple[DetectRule, ...]
    groups: tuple[ScalarsGroup | TableGroup | ReduceGroup, ...]
    source: str
    max_requests_per_s: float | None = None

    def groups_for(self, job: str) -> tuple[ScalarsGroup | TableGroup | ReduceGroup, ...]:
        return tuple(g for g in self.groups if g.job == job)

    @property
    def jobs(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(g.job for g in self.groups))


class UnknownProfileError(KeyError):
    """A profile name that no profile file defines."""

    def __init__(self, name: str, known: Iterable[str]) -> None:
        super().__init__(name)
        self.name = name
        self.known = tuple(sorted(known))

    def __str__(self) -> str:
        return f"unknown profile {self.name!r}; known profiles: {', '.join(self.known)}"


GENERIC = "generic"
"""The profile :meth:`ProfileSet.detect` falls back to when no rule matches (if one is defined)."""


@dataclass(frozen=True, slots=True)
class ProfileSet:
    """All resolved profiles by name."""

    profiles: Mapping[str, Profile]

    def get(self, name: str) -> Profile:
        try:
            return self.profiles[name]
        except KeyError:
            raise UnknownProfileError(name, self.profiles) from None

    def __contains__(self, name: object) -> bool:
        return name in self.profiles

    @property
    def jobs(self) -> frozenset[str]:
        """Every job some profile has groups for (``system``, ``interfaces``, ``onu``…)."""
        return frozenset(g.job for p in self.profiles.values() for g in p.groups)

    def detect(self, sys_object_id: str, sys_descr: str = "") -> str:
        """The name of the most specific profile whose detect rules match.

        The longest matching sysObjectID prefix wins; at equal length a rule with a sysDescr
        regex wins; then the name decides. No match: ``generic`` (or UnknownProfileError).
        """
        best: tuple[tuple[int, int], str] | None = None
        for name in sorted(self.profiles):
            for rule in self.profiles[name].detect:
                s = rule.score(sys_object_id, sys_descr)
                if s is not None and (best is None or s > best[0]):
                    best = (s, name)
        if best is not None:
            return best[1]
        if GENERIC in self.profiles:
            return GENERIC
        raise UnknownProfileError(f"<none matches sysObjectID {sys_object_id}>", self.profiles)


# --- loading ------------------------------------------------------------------------------------------


def _path_str(loc: Sequence[int | str]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _position(data: Any, loc: Sequence[int | str]) -> tuple[int | None, int | None]:
    """1-based line/column of the deepest node of ``loc`` that exists in the ruamel tree."""
    line: int | None = None
    col: int | None = None
    node = data
    for part in loc:
        lc = getattr(node, "lc", None)
        try:
            if isinstance(part, int) and isinstance(node, list) and part < len(node):
                if lc is not None:
                    ln, cn = lc.item(part)
                    line, col = ln + 1, cn + 1
                node = node[part]
            elif isinstance(part, str) and isinstance(node, Mapping) and part in node:
                if lc is not None:
                    ln, cn = lc.key(part)
                    line, col = ln + 1, cn + 1
                node = node[part]
            else:
                break
        except (KeyError, IndexError, TypeError, AttributeError):
            break
    if line is None and getattr(data, "lc", None) is not None:
        line, col = data.lc.line + 1, data.lc.col + 1
    return line, col


def _clean_loc(loc: Sequence[int | str], data: Any) -> list[int | str]:
    """Drop pydantic's union tags (``table``, ``function-after[...]``) that are not YAML keys."""
    out: list[int | str] = []
    node = data
    for part in loc:
        in_list = isinstance(part, int) and isinstance(node, list) and part < len(node)
        if in_list or (isinstance(part, str) and isinstance(node, Mapping) and part in node):
            out.append(part)
            node = node[part]
        elif isinstance(part, str) and (part in ("table", "scalars", "reduce") or "[" in part):
            continue
        else:
            out.append(part)
            node = None
    return out


def parse_profile_file(path: Path) -> ProfileFile:
    """Read and validate one profile file; raises ConfigError naming file, line and field."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([Problem(str(path), None, None, "", f"cannot read: {exc}")]) from None
    try:
        data = YAML(typ="rt").load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark
        line, col = (mark.line + 1, mark.column + 1) if mark is not None else (None, None)
        raise ConfigError([Problem(str(path), line, col, "", f"YAML syntax: {exc.problem}")]) from None
    if not isinstance(data, Mapping):
        raise ConfigError([Problem(str(path), 1, 1, "", "a profile file must be a mapping")])
    try:
        return ProfileFile.model_validate(_plain(data))
    except ValidationError as exc:
        problems = []
        errors = exc.errors()
        locs = [_clean_loc(e["loc"], data) for e in errors]
        for err, loc in zip(errors, locs, strict=True):
            # a bad item also makes its tuple "too short": report only the item
            if err["type"] == "too_short" and any(o != loc and o[: len(loc)] == loc for o in locs):
                continue
            line, col = _position(data, loc)
            problems.append(Problem(str(path), line, col, _path_str(loc), err["msg"]))
        raise ConfigError(problems) from None


def _plain(node: Any) -> Any:
    """ruamel's round-trip containers as plain dicts/lists (scalars as they are)."""
    if isinstance(node, Mapping):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    return node


def _resolve(files: Mapping[str, tuple[ProfileFile, str]]) -> dict[str, Profile]:
    resolved: dict[str, Profile] = {}
    problems: list[Problem] = []

    def visit(name: str, chain: tuple[str, ...]) -> Profile | None:
        if name in resolved:
            return resolved[name]
        pf, src = files[name]
        groups: dict[str, ScalarsGroup | TableGroup | ReduceGroup] = {}
        limit = pf.max_requests_per_s
        for parent in pf.extends:
            if parent in chain:
                cycle = " -> ".join((*chain, parent))
                problems.append(Problem(src, None, None, "extends", f"cycle: {cycle}"))
                return None
            if parent not in files:
                msg = str(UnknownProfileError(parent, files))
                problems.append(Problem(src, None, None, "extends", msg))
                return None
            base = visit(parent, (*chain, parent))
            if base is None:
                return None
            for g in base.groups:
                groups.pop(g.name, None)
                groups[g.name] = g
            if limit is None:
                limit = base.max_requests_per_s
        for g in pf.groups:
            groups.pop(g.name, None)
            groups[g.name] = g
        prof = Profile(pf.name, pf.vendor, pf.detect, tuple(groups.values()), src, limit)
        resolved[name] = prof
        return prof

    for name in files:
        visit(name, (name,))
    if problems:
        raise ConfigError(problems)
    return resolved


def load_profiles(dirs: Sequence[Path] = (BUILTIN_DIR,)) -> ProfileSet:
    """Load every ``*.yaml`` in ``dirs`` (in order; a later file overrides an earlier profile of
    the same name), validate, resolve ``extends``. Raises ConfigError with every problem found."""
    files: dict[str, tuple[ProfileFile, str]] = {}
    problems: list[Problem] = []
    for d in dirs:
        if not d.is_dir():
            problems.append(Problem(str(d), None, None, "", "profile directory does not exist"))
            continue
        seen_here: dict[str, str] = {}
        for path in sorted(d.glob("*.yaml")):
            try:
                pf = parse_profile_file(path)
            except ConfigError as exc:
                problems.extend(exc.problems)
                continue
            if pf.name in seen_here:
                msg = f"profile {pf.name!r} also defined in {seen_here[pf.name]}"
                problems.append(Problem(str(path), 1, 1, "name", msg))
                continue
            seen_here[pf.name] = str(path)
            files[pf.name] = (pf, str(path))
    if problems:
        raise ConfigError(problems)
    return ProfileSet(_resolve(files))
