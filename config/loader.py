"""Load, resolve and validate ``inventory.yaml`` and ``config/netqos.yaml``.

The only code that reads the operator's YAML. Steps, each collecting problems rather than stopping at
the first:

1. read each file with ruamel.yaml's round-trip loader, keeping the line/column of every mapping key
   and sequence item (:class:`_Doc`);
2. resolve secret references (``{env: NAME}`` / ``{file: path}``) into :class:`~pydantic.SecretStr`
   — which fields are secrets is read from the pydantic models (every ``SecretStr`` field);
3. validate with the models of :mod:`config.models`, mapping pydantic's ``loc`` back to positions;
4. check cross-references (names, upstream topology, credential sets, profiles) on the raw data, so
   they are reported together with the schema problems.

Everything wrong is raised at once as :class:`~config.errors.ConfigError`.
"""

from __future__ import annotations

import copy
import difflib
import os
import re
import stat
import types
from collections import Counter
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, SecretStr, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from config.errors import ConfigError, Problem
from config.models import InfluxV1, InfluxV2, Inventory, SecretRef, Settings, SshCredentials
from config.profiles import ProfileSet

SETTINGS_FILE = "netqos.yaml"
AUTO_PROFILE = "auto"

YPath = tuple[str | int, ...]
Positions = Mapping[YPath, tuple[int, int]]

_SIMPLE_KEY = re.compile(r"[A-Za-z0-9_\-]+")
_KNOWN_LIST_MAX = 8


@dataclass(frozen=True, slots=True)
class Loaded:
    """The validated configuration, secrets resolved; ``warnings`` are problems that do not stop a run."""

    inventory: Inventory
    settings: Settings
    inventory_path: Path
    settings_path: Path
    warnings: tuple[Problem, ...] = ()


# --- reading YAML with positions ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Doc:
    """One YAML file as plain Python data plus the 1-based position of every key and item."""

    file: str
    path: Path
    data: Any
    positions: Positions

    def position(self, path: YPath) -> tuple[int, int]:
        """Position of ``path``, or of its nearest ancestor that has one."""
        p = path
        while p not in self.positions and p:
            p = p[:-1]
        return self.positions.get(p, (1, 1))

    def problem(self, path: YPath, message: str, *, at: YPath | None = None) -> Problem:
        line, col = self.position(path if at is None else at)
        return Problem(self.file, line, col, render_path(path), message)


def render_path(path: YPath) -> str:
    """``("devices", 3, "upstream", 0, "device")`` → ``devices[3].upstream[0].device``."""
    out = ""
    for e in path:
        if isinstance(e, int):
            out += f"[{e}]"
        elif _SIMPLE_KEY.fullmatch(e):
            out += f".{e}" if out else e
        else:
            out += f"[{e!r}]"
    return out


def _plain_scalar(v: Any) -> Any:
    if v is None or isinstance(v, bool):
        return v
    if isinstance(v, int):
        return int(v)
    if isinstance(v, float):
        return float(v)
    if isinstance(v, str):
        return str(v)
    return v


def _to_plain(node: Any, path: YPath, pos: dict[YPath, tuple[int, int]]) -> Any:
    if isinstance(node, CommentedMap):
        out: dict[Any, Any] = {}
        for k, v in node.items():
            key = _plain_scalar(k)
            try:
                line, col = node.lc.key(k)
                pos[(*path, key)] = (line + 1, col + 1)
            except (KeyError, TypeError):  # a key merged in with "<<:" has no position of its own
                pos[(*path, key)] = pos.get(path, (1, 1))
            out[key] = _to_plain(v, (*path, key), pos)
        return out
    if isinstance(node, CommentedSeq):
        items = []
        for i, v in enumerate(node):
            try:
                line, col = node.lc.item(i)
                pos[(*path, i)] = (line + 1, col + 1)
            except (KeyError, TypeError):
                pos[(*path, i)] = pos.get(path, (1, 1))
            items.append(_to_plain(v, (*path, i), pos))
        return items
    return _plain_scalar(node)


def _yaml_message(exc: YAMLError) -> str:
    if isinstance(exc, MarkedYAMLError):
        parts = [p for p in (exc.context, exc.problem) if p]
        msg = "; ".join(str(p) for p in parts) or "invalid YAML"
    else:
        msg = str(exc) or "invalid YAML"
    # never echo a value: a duplicated key may be a secret given inline
    return re.sub(r' with value ".*?"( \(original value: ".*?"\))?', "", msg)


def _read_yaml(path: Path, file: str) -> _Doc | Problem:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Problem(file, None, None, "", f"file not found: {path}")
    except (OSError, UnicodeDecodeError) as exc:
        return Problem(file, None, None, "", f"cannot read file: {exc}")
    try:
        root = YAML(typ="rt").load(text)
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + 1 if mark is not None else None
        col = mark.column + 1 if mark is not None else None
        return Problem(file, line, col, "", f"YAML syntax error: {_yaml_message(exc)}")
    if not isinstance(root, CommentedMap):
        what = "empty" if root is None else f"a {type(root).__name__}"
        return Problem(file, 1, 1, "", f"expected a mapping at the top level, found {what}")
    pos: dict[YPath, tuple[int, int]] = {(): (root.lc.line + 1, root.lc.col + 1)}
    data = _to_plain(root, (), pos)
    return _Doc(file, path, data, pos)


# --- walking the pydantic models ------------------------------------------------------------------------


def _unwrap(ann: Any) -> Any:
    while get_origin(ann) is Annotated:
        ann = get_args(ann)[0]
    return ann


def _is_union(ann: Any) -> bool:
    return get_origin(ann) in (Union, types.UnionType)


def _is_model(ann: Any) -> bool:
    return isinstance(ann, type) and issubclass(ann, BaseModel)


def _field_key(model: type[BaseModel], name: str) -> str:
    alias = model.model_fields[name].alias
    return alias if alias is not None else name


def secret_paths(ann: Any, data: Any, path: YPath = ()) -> Iterator[YPath]:
    """Paths in ``data`` of every field the model ``ann`` declares as ``SecretStr`` (unique, in order)."""
    seen: set[YPath] = set()
    for p in _secret_paths(ann, data, path):
        if p not in seen:
            seen.add(p)
            yield p


def _secret_paths(ann: Any, data: Any, path: YPath) -> Iterator[YPath]:
    ann = _unwrap(ann)
    if ann is SecretStr:
        if data is not None:
            yield path
        return
    origin = get_origin(ann)
    if _is_union(ann):
        for arg in get_args(ann):
            yield from _secret_paths(arg, data, path)
    elif origin in (tuple, list) and isinstance(data, list):
        item = get_args(ann)[0]
        for i, v in enumerate(data):
            yield from _secret_paths(item, v, (*path, i))
    elif origin is dict and isinstance(data, dict):
        value_ann = get_args(ann)[1]
        for k, v in data.items():
            yield from _secret_paths(value_ann, v, (*path, k))
    elif _is_model(ann) and isinstance(data, dict):
        for name, f in ann.model_fields.items():
            key = _field_key(ann, name)
            if key in data:
                yield from _secret_paths(f.annotation, data[key], (*path, key))


def _literal_values(ann: Any) -> tuple[Any, ...]:
    ann = _unwrap(ann)
    return get_args(ann) if get_origin(ann) is Literal else ()


def _model_for_loc(root: type[BaseModel], loc: Sequence[str | int]) -> type[BaseModel] | None:
    """The model class that pydantic's ``loc`` (without its last element) points into."""
    ann: Any = root
    for e in loc:
        ann = _unwrap(ann)
        if _is_union(ann):
            members = [_unwrap(a) for a in get_args(ann) if a is not type(None)]
            chosen = [
                m
                for m in members
                if _is_model(m)
                and (
                    m.__name__ == e
                    or any(e in _literal_values(f.annotation) for f in m.model_fields.values())
                )
            ]
            if chosen:
                ann = chosen[0]
                continue
            if len(members) == 1:
                ann = members[0]
            else:
                return None
        origin = get_origin(ann)
        if _is_model(ann):
            names = {_field_key(ann, n): n for n in ann.model_fields}
            if e not in names:
                return None
            ann = ann.model_fields[names[str(e)]].annotation
        elif origin in (tuple, list):
            ann = get_args(ann)[0]
        elif origin is dict:
            ann = get_args(ann)[1]
        else:
            return None
    ann = _unwrap(ann)
    if _is_union(ann):
        models = [m for m in (_unwrap(a) for a in get_args(ann)) if _is_model(m)]
        return models[0] if len(models) == 1 else None
    return ann if _is_model(ann) else None


# --- secrets ----------------------------------------------------------------------------------------------


def _get(data: Any, path: YPath) -> Any:
    for e in path:
        data = data[e]
    return data


def _set(data: Any, path: YPath, value: Any) -> None:
    _get(data, path[:-1])[path[-1]] = value


def _is_group_or_world_readable(mode: int) -> bool:
    return bool(mode & (stat.S_IRGRP | stat.S_IROTH))


def _read_secret_file(
    doc: _Doc, path: YPath, name: str, errors: list[Problem], warnings: list[Problem]
) -> str | None:
    target = Path(name).expanduser()
    if not target.is_absolute():
        target = doc.path.parent / target
    try:
        text = target.read_text(encoding="utf-8")
        mode = target.stat().st_mode
    except FileNotFoundError:
        errors.append(doc.problem(path, f"secret file not found: {target}"))
        return None
    except (OSError, UnicodeDecodeError) as exc:
        errors.append(doc.problem(path, f"cannot read secret file {target}: {exc}"))
        return None
    if text.endswith("\n"):
        text = text[:-1].removesuffix("\r")
    if not text:
        errors.append(doc.problem(path, f"secret file is empty: {target}"))
        return None
    if _is_group_or_world_readable(mode):
        warnings.append(
            doc.problem(
                path,
                f"secret file {target} is readable by group/others (mode {stat.S_IMODE(mode):04o}); "
                "chmod 600 it",
            )
        )
    return text


def _resolve_one(
    doc: _Doc, path: YPath, raw: Any, env: Mapping[str, str], errors: list[Problem], warnings: list[Problem]
) -> str | None:
    if not isinstance(raw, dict):
        errors.append(doc.problem(path, "secret given inline; use {env: ...} or {file: ...}"))
        return None
    try:
        ref = SecretRef.model_validate(raw)
    except ValidationError as exc:
        errors.extend(_validation_problems(doc, SecretRef, exc, prefix=path))
        return None
    if ref.env is not None:
        value = env.get(ref.env)
        if value is None:
            errors.append(doc.problem((*path, "env"), f"environment variable {ref.env} is not set"))
            return None
        if not value:
            errors.append(doc.problem((*path, "env"), f"environment variable {ref.env} is empty"))
            return None
        return value
    assert ref.file is not None  # SecretRef guarantees exactly one source
    return _read_secret_file(doc, (*path, "file"), ref.file, errors, warnings)


def _resolve_secrets(
    doc: _Doc, model: type[BaseModel], env: Mapping[str, str]
) -> tuple[Any, list[Problem], list[Problem]]:
    """A copy of ``doc.data`` with every secret reference replaced by its ``SecretStr`` value."""
    data = copy.deepcopy(doc.data)
    errors: list[Problem] = []
    warnings: list[Problem] = []
    for path in list(secret_paths(model, doc.data)):
        value = _resolve_one(doc, path, _get(doc.data, path), env, errors, warnings)
        # on error a placeholder keeps pydantic from reporting the same field a second time
        _set(data, path, SecretStr(value if value is not None else ""))
    return data, errors, warnings


def _resolve_key_files(doc: _Doc, data: Any, errors: list[Problem], warnings: list[Problem]) -> None:
    """Make each SSH ``key_file`` absolute (relative to the YAML file) and check it can be read."""
    creds = data.get("credentials") if isinstance(data, dict) else None
    ssh = creds.get("ssh") if isinstance(creds, dict) else None
    if not isinstance(ssh, dict):
        return
    key = _field_key(SshCredentials, "key_file")
    for name, entry in ssh.items():
        if not isinstance(entry, dict) or not isinstance(entry.get(key), str):
            continue
        path: YPath = ("credentials", "ssh", name, key)
        target = Path(entry[key]).expanduser()
        if not target.is_absolute():
            target = doc.path.parent / target
        entry[key] = str(target)
        try:
            mode = target.stat().st_mode
        except OSError:
            errors.append(doc.problem(path, f"key file not found: {target}"))
            continue
        if not os.access(target, os.R_OK):
            errors.append(doc.problem(path, f"key file is not readable: {target}"))
        elif _is_group_or_world_readable(mode):
            warnings.append(doc.problem(path, f"key file {target} is readable by group/others; chmod 600 it"))


# --- pydantic errors → problems ---------------------------------------------------------------------------


def _has(node: Any, e: str | int) -> bool:
    if isinstance(node, dict):
        return e in node
    return isinstance(node, list) and isinstance(e, int) and 0 <= e < len(node)


def _locate(data: Any, loc: Sequence[str | int]) -> tuple[YPath, YPath]:
    """Map pydantic's ``loc`` onto the data: (field path to report, path whose position to use).

    Elements that are not in the data (discriminated-union tags, validator names) are skipped; a
    last element missing from a mapping is a missing key: it is named, but positioned at its parent.
    """
    node = data
    path: YPath = ()
    last = len(loc) - 1
    for i, e in enumerate(loc):
        if _has(node, e):
            node, path = node[e], (*path, e)
        elif isinstance(node, dict) and i == last:
            return (*path, e), path
        elif isinstance(node, dict):
            continue
        else:
            break
    return path, path


def _clean_message(msg: str) -> str:
    for prefix in ("Value error, ", "Assertion failed, "):
        msg = msg.removeprefix(prefix)
    return msg


def _known(names: Collection[str]) -> str:
    ordered = sorted(names)
    if not ordered:
        return "none defined"
    more = ", …" if len(ordered) > _KNOWN_LIST_MAX else ""
    return ", ".join(ordered[:_KNOWN_LIST_MAX]) + more


def _did_you_mean(name: str, candidates: Collection[str]) -> str:
    close = difflib.get_close_matches(name, list(candidates), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def _error_message(model: type[BaseModel], err: Mapping[str, Any], data: Any, path: YPath) -> str:
    kind = err["type"]
    loc = err["loc"]
    if kind == "missing":
        return "required field missing"
    if kind == "extra_forbidden":
        parent = _model_for_loc(model, loc[:-1])
        allowed = {_field_key(parent, n) for n in parent.model_fields} if parent is not None else set()
        hint = _did_you_mean(str(loc[-1]), allowed)
        listing = f" (allowed: {', '.join(sorted(allowed))})" if allowed and not hint else ""
        return f"unknown key {loc[-1]!r}{listing}{hint}"
    msg = _clean_message(str(err["msg"]))
    if kind == "union_tag_invalid":
        tag = _get(data, path) if path else None
        if not isinstance(tag, str) and tag is not None:
            return f'{msg}; write it as a quoted string: "{tag}"'
        return msg
    value = err.get("input")
    if isinstance(value, str | int | float) and not isinstance(value, bool) and repr(value) not in msg:
        text = repr(redact_url(value)) if isinstance(value, str) else repr(value)  # no password of a URL
        shown = text if len(text) <= 60 else text[:57] + "..."
        msg = f"{msg} (got {shown})"
    return msg


def _validation_problems(
    doc: _Doc, model: type[BaseModel], exc: ValidationError, *, data: Any = None, prefix: YPath = ()
) -> list[Problem]:
    base = _get(doc.data, prefix) if data is None else data
    out: list[Problem] = []
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        field_path, at = _locate(base, loc)
        if err["type"] in ("union_tag_invalid", "union_tag_not_found"):
            key = str(err.get("ctx", {}).get("discriminator", "")).strip("'\"")
            node = _get(base, field_path) if field_path == at else None
            if isinstance(node, dict) and key in node:
                field_path = at = (*field_path, key)
            elif isinstance(node, dict):
                field_path = (*field_path, key)
        message = _error_message(model, err, base, field_path if field_path == at else ())
        out.append(doc.problem((*prefix, *field_path), message, at=(*prefix, *at)))
    return out


# --- cross-references -------------------------------------------------------------------------------------


def _items(data: Any, section: str) -> Iterator[tuple[YPath, dict[str, Any]]]:
    seq = data.get(section) if isinstance(data, dict) else None
    if isinstance(seq, list):
        for i, item in enumerate(seq):
            if isinstance(item, dict):
                yield (section, i), item


def _names(data: Any, section: str, key: str = "name") -> dict[str, YPath]:
    """First definition of each name in a section: name → path of its ``name`` key."""
    out: dict[str, YPath] = {}
    for path, item in _items(data, section):
        name = item.get(key)
        if isinstance(name, str) and name not in out:
            out[name] = (*path, key)
    return out


def _duplicates(doc: _Doc, section: str, kind: str, key: str = "name") -> list[Problem]:
    first: dict[str, YPath] = {}
    out: list[Problem] = []
    for path, item in _items(doc.data, section):
        name = item.get(key)
        if not isinstance(name, str):
            continue
        if name in first:
            line, _ = doc.position(first[name])
            out.append(
                doc.problem((*path, key), f"duplicate {kind} {key} {name!r} (first defined at line {line})")
            )
        else:
            first[name] = (*path, key)
    return out


def _unknown(kind: str, name: str, known: Collection[str]) -> str:
    return f"unknown {kind} {name!r} (known: {_known(known)}){_did_you_mean(name, known)}"


def _upstream_refs(device_path: YPath, device: Mapping[str, Any]) -> list[tuple[str, YPath]]:
    """(parent name, path of the reference) for each form: ``name``, ``{device: name}`` or a list."""
    raw = device.get("upstream")
    base: YPath = (*device_path, "upstream")
    entries: list[tuple[Any, YPath]]
    entries = [(v, (*base, j)) for j, v in enumerate(raw)] if isinstance(raw, list) else [(raw, base)]
    refs: list[tuple[str, YPath]] = []
    for value, path in entries:
        if isinstance(value, str):
            refs.append((value, path))
        elif isinstance(value, dict) and isinstance(value.get("device"), str):
            refs.append((value["device"], (*path, "device")))
    return refs


def find_cycles(graph: Mapping[str, Sequence[str]]) -> list[list[str]]:
    """Elementary cycles (depth-first search), one per set of nodes, each starting at its least name."""
    white, gray, black = 0, 1, 2
    color = dict.fromkeys(graph, white)
    cycles: list[list[str]] = []
    seen: set[frozenset[str]] = set()
    for start in sorted(graph):
        if color[start] != white:
            continue
        color[start] = gray
        trail = [start]
        stack: list[Iterator[str]] = [iter(graph[start])]
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                color[trail.pop()] = black
                stack.pop()
            elif color.get(nxt) == gray:
                cycle = trail[trail.index(nxt) :]
                if frozenset(cycle) not in seen:
                    seen.add(frozenset(cycle))
                    k = cycle.index(min(cycle))
                    cycles.append(cycle[k:] + cycle[:k])
            elif color.get(nxt) == white:
                color[nxt] = gray
                trail.append(nxt)
                stack.append(iter(graph[nxt]))
    return cycles


def _check_upstreams(doc: _Doc, devices: Mapping[str, YPath], out: list[Problem]) -> None:
    graph: dict[str, list[str]] = {name: [] for name in devices}
    edge_at: dict[tuple[str, str], YPath] = {}
    for path, dev in _items(doc.data, "devices"):
        name = dev.get("name")
        if not isinstance(name, str):
            continue
        for parent, ref in _upstream_refs(path, dev):
            if parent == name:
                out.append(doc.problem(ref, f"device {name!r} is upstream of itself"))
            elif parent not in devices:
                out.append(doc.problem(ref, _unknown("device", parent, devices)))
            elif devices[name][:2] == path:  # edges of the first definition only (duplicates reported apart)
                graph[name].append(parent)
                edge_at.setdefault((name, parent), ref)
    for cycle in find_cycles(graph):
        shown = " → ".join([*cycle, cycle[0]])
        out.append(doc.problem(edge_at[(cycle[0], cycle[1])], f"upstream cycle: {shown}"))


def _check_ref(
    doc: _Doc, item: Mapping[str, Any], path: YPath, key: str, kind: str, known: Collection[str]
) -> Problem | None:
    value = item.get(key)
    if isinstance(value, str) and value not in known:
        return doc.problem((*path, key), _unknown(kind, value, known))
    return None


def _check_carriers(doc: _Doc, roles: Mapping[str, Any], out: list[Problem]) -> None:
    for path, svc in _items(doc.data, "services"):
        carrier = svc.get("carrier")
        if not isinstance(carrier, dict):
            continue
        cpath: YPath = (*path, "carrier")
        problem = _check_ref(doc, carrier, cpath, "device", "carrier device", roles)
        if problem is not None:
            out.append(problem)
            continue
        device = carrier.get("device")
        if not isinstance(device, str):
            continue
        role = roles.get(device)
        if role != "olt" and carrier.get("pon") is not None:
            out.append(
                doc.problem(
                    (*cpath, "pon"),
                    f"'pon' given but {device!r} is a {role}, not an olt; give its 'interface'",
                )
            )


def cross_reference_problems(doc: _Doc, known_profiles: Collection[str] | None) -> list[Problem]:
    """Everything the schema cannot see: duplicate names and references to things not defined."""
    data = doc.data
    out: list[Problem | None] = []
    for section, kind, key in (
        ("regions", "region", "name"),
        ("sites", "site", "name"),
        ("devices", "device", "name"),
        ("services", "service", "id"),
        ("teams", "team", "name"),
    ):
        out.extend(_duplicates(doc, section, kind, key))
    regions = _names(data, "regions")
    sites = _names(data, "sites")
    devices = _names(data, "devices")
    creds = data.get("credentials") if isinstance(data, dict) else None
    snmp_sets = creds.get("snmp") if isinstance(creds, dict) else None
    ssh_sets = creds.get("ssh") if isinstance(creds, dict) else None
    snmp_names = [k for k in snmp_sets if isinstance(k, str)] if isinstance(snmp_sets, dict) else []
    ssh_names = [k for k in ssh_sets if isinstance(k, str)] if isinstance(ssh_sets, dict) else []
    profiles = None if known_profiles is None else {*known_profiles, AUTO_PROFILE}

    for path, site in _items(data, "sites"):
        out.append(_check_ref(doc, site, path, "region", "region", regions))
    roles: dict[str, Any] = {}
    for path, dev in _items(data, "devices"):
        if isinstance(dev.get("name"), str):
            roles.setdefault(dev["name"], dev.get("role"))
        out.append(_check_ref(doc, dev, path, "site", "site", sites))
        out.append(_check_ref(doc, dev, path, "snmp", "snmp credential set", snmp_names))
        out.append(_check_ref(doc, dev, path, "ssh", "ssh credential set", ssh_names))
        if profiles is not None:
            out.append(_check_ref(doc, dev, path, "profile", "profile", profiles))
    for path, team in _items(data, "teams"):
        regs = team.get("regions")
        for j, region in enumerate(regs if isinstance(regs, list) else []):
            if isinstance(region, str) and region not in regions:
                out.append(doc.problem((*path, "regions", j), _unknown("region", region, regions)))
    problems = [p for p in out if p is not None]
    _check_upstreams(doc, devices, problems)
    _check_carriers(doc, roles, problems)
    return problems


def job_problems(doc: _Doc, known_jobs: Collection[str] | None) -> list[Problem]:
    """Each job of ``netqos.yaml``'s ``jobs`` must be one that a profile (or the SSH collector) runs: a
    misspelt job would otherwise be scheduled and poll nothing."""
    jobs = doc.data.get("jobs") if isinstance(doc.data, dict) else None
    if known_jobs is None or not isinstance(jobs, dict):
        return []
    return [
        doc.problem(("jobs", name), _unknown("job", name, known_jobs))
        for name in jobs
        if isinstance(name, str) and name not in known_jobs
    ]


def job_timeout_warnings(doc: _Doc, settings: Settings) -> list[Problem]:
    """A job whose ``timeout_s`` is not below its ``interval_s``: a poll still running when the next one is
    due, so runs overlap or are skipped as overruns. A warning (``netqos check`` and ``run`` show it)."""
    out: list[Problem] = []
    for name, job in settings.jobs.items():
        if job.overruns:
            out.append(
                doc.problem(
                    ("jobs", name, "timeout_s"),
                    f"timeout_s ({job.timeout_s:g} s) should be less than interval_s ({job.interval_s:g} s): a "
                    "poll still running when the next one is due makes the next run an overrun (skipped)",
                )
            )
    return out


# --- putting it together ----------------------------------------------------------------------------------


@dataclass(slots=True)
class _Outcome:
    value: BaseModel | None = None
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)


def _load_file(
    path: Path,
    model: type[BaseModel],
    env: Mapping[str, str],
    known_profiles: Collection[str] | None = None,
    known_jobs: Collection[str] | None = None,
) -> _Outcome:
    doc = _read_yaml(path, str(path))
    if isinstance(doc, Problem):
        return _Outcome(errors=[doc])
    data, errors, warnings = _resolve_secrets(doc, model, env)
    if model is Inventory:
        _resolve_key_files(doc, data, errors, warnings)
        errors.extend(cross_reference_problems(doc, known_profiles))
    if model is Settings:
        errors.extend(job_problems(doc, known_jobs))
    outcome = _Outcome(errors=errors, warnings=warnings)
    try:
        outcome.value = model.model_validate(data)
    except ValidationError as exc:
        outcome.errors.extend(_validation_problems(doc, model, exc, data=data))
    if isinstance(outcome.value, Settings):
        outcome.warnings.extend(job_timeout_warnings(doc, outcome.value))
    return outcome


def load(
    inventory_path: Path,
    config_dir: Path,
    env: Mapping[str, str],
    known_profiles: Collection[str] | None = None,
    known_jobs: Collection[str] | None = None,
) -> Loaded:
    """Read, resolve and validate the inventory and ``config_dir/netqos.yaml``.

    ``env`` is where ``{env: NAME}`` secrets are looked up (pass ``os.environ`` in production).
    ``known_profiles``, when given, is the set of device profile names; each device's ``profile``
    must be one of them or ``auto``. ``known_jobs``, when given, is the set of job names something
    runs (the profiles' groups' jobs, the SSH jobs); each key of ``jobs`` must be one of them.
    Raises :class:`ConfigError` listing every problem in both files.
    """
    settings_path = config_dir / SETTINGS_FILE
    inv = _load_file(inventory_path, Inventory, env, known_profiles)
    cfg = _load_file(settings_path, Settings, env, known_jobs=known_jobs)
    errors = inv.errors + cfg.errors
    if errors or not isinstance(inv.value, Inventory) or not isinstance(cfg.value, Settings):
        raise ConfigError(errors)
    return Loaded(
        inventory=inv.value,
        settings=cfg.value,
        inventory_path=inventory_path,
        settings_path=settings_path,
        warnings=tuple(sorted(set(inv.warnings + cfg.warnings), key=str)),
    )


def load_with_profiles(
    inventory_path: Path,
    config_dir: Path,
    env: Mapping[str, str],
    profiles: ProfileSet,
    extra_jobs: Collection[str] = (),
) -> Loaded:
    """:func:`load`, checked against loaded ``profiles``: each device's profile must be one of them (or
    ``auto``) and each job of ``netqos.yaml`` one their groups run, or one of ``extra_jobs`` (the SSH jobs)."""
    return load(
        inventory_path,
        config_dir,
        env,
        known_profiles=set(profiles.profiles),
        known_jobs=profiles.jobs | set(extra_jobs),
    )


# --- describe (for `netqos check`) ------------------------------------------------------------------------


def _counts(values: Sequence[str]) -> str:
    c = Counter(values)
    return ", ".join(f"{k} {n}" for k, n in sorted(c.items())) or "none"


def redact_url(url: str) -> str:
    """``scheme://user:secret@host`` → ``scheme://user:***@host``."""
    return re.sub(r"(://[^/:@]*):[^/@]*@", r"\1:***@", url)


def _seconds(v: float) -> str:
    return f"{v:g} s"


def describe(loaded: Loaded) -> list[str]:
    """A short, secret-free summary of what was loaded, one line per fact."""
    inv, st = loaded.inventory, loaded.settings
    lines = [
        f"inventory: {loaded.inventory_path}",
        f"regions: {len(inv.regions)} ({', '.join(r.name for r in inv.regions)})",
        f"sites: {len(inv.sites)} ({_counts([s.site_class.value for s in inv.sites])})",
        f"devices: {len(inv.devices)} ({_counts([d.role.value for d in inv.devices])})"
        + (
            f", {sum(not d.enabled for d in inv.devices)} disabled"
            if any(not d.enabled for d in inv.devices)
            else ""
        ),
        f"services: {len(inv.services)} ({_counts([s.service_class.value for s in inv.services])})",
        f"teams: {len(inv.teams)} ({', '.join(t.name for t in inv.teams) or 'none'})",
        f"credential sets: snmp {len(inv.credentials.snmp)}, ssh {len(inv.credentials.ssh)}",
        f"settings: {loaded.settings_path}",
    ]
    for name, job in sorted(st.jobs.items()):
        lines.append(f"job {name}: every {_seconds(job.interval_s)}, timeout {_seconds(job.timeout_s)}")
    db = st.influxdb
    if isinstance(db, InfluxV1):
        rp = db.retention_policy or "default"
        auth = f", user {db.username}" if db.username else ""
        lines.append(
            f"influxdb: v1 API {redact_url(db.url)} database {db.database} (retention policy {rp}{auth})"
        )
    elif isinstance(db, InfluxV2):
        lines.append(f"influxdb: v2 API {redact_url(db.url)} org {db.org} bucket {db.bucket} (token set)")
    lines.append(f"spool: {st.spool.dir}; tickets: {redact_url(st.tickets.database_url)}")
    lines.append(f"timezone: {st.timezone}; language: {st.language}")
    lines.extend(f"warning: {w}" for w in loaded.warnings)
    return lines


M = TypeVar("M", bound=BaseModel)


def load_side_file(path: Path, model: type[M], env: Mapping[str, str]) -> M:
    """Read, resolve secrets in and validate one optional YAML file of ``config/`` (``traps.yaml``,
    ``notify.yaml``…) as ``model``; a missing file gives the model's defaults. Every problem is raised at
    once as :class:`ConfigError` with file, line and field."""
    if not path.exists():
        return model()
    doc = _read_yaml(path, str(path))
    if isinstance(doc, Problem):
        raise ConfigError([doc])
    data, errors, _warnings = _resolve_secrets(doc, model, env)
    try:
        value = model.model_validate(data)
    except ValidationError as exc:
        errors.extend(_validation_problems(doc, model, exc, data=data))
        raise ConfigError(errors) from None
    if errors:
        raise ConfigError(errors)
    return value
