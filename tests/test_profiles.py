"""Profile files: validation with file/line/field, ``extends``, detection, fit with the measurement schema."""

from __future__ import annotations

from pathlib import Path

import pytest

from collectors.snmp.collect import schema_problems
from config.errors import ConfigError
from config.profiles import BUILTIN_DIR, ProfileSet, ScalarsGroup, TableGroup, UnknownProfileError, load_profiles


@pytest.fixture(scope="module")
def builtin() -> ProfileSet:
    return load_profiles()


def write(d: Path, name: str, text: str) -> Path:
    p = d / f"{name}.yaml"
    p.write_text(text)
    return p


def test_builtin_profiles_fit_the_schema(builtin: ProfileSet) -> None:
    assert schema_problems(builtin) == []
    wanted = {"system", "if_mib", "generic", "cisco_iosxr", "cisco_iosxe", "huawei_vrp", "juniper_junos"}
    assert wanted <= set(builtin.profiles)


@pytest.mark.parametrize(
    "name", ["cisco_iosxr", "cisco_iosxe", "huawei_vrp", "juniper_junos", "huawei_smartax", "zte_zxa10",
             "ericsson_minilink", "ceragon", "eltek", "generic"],
)
def test_vendor_profiles_have_system_and_interfaces_jobs(builtin: ProfileSet, name: str) -> None:
    prof = builtin.get(name)
    assert {"system", "interfaces"} <= set(prof.jobs)
    [table] = prof.groups_for("interfaces")
    assert isinstance(table, TableGroup) and table.measurement == "interface"
    if name != "generic":
        assert prof.detect, "a vendor profile needs detect rules"


@pytest.mark.parametrize(
    ("sys_object_id", "sys_descr", "expected"),
    [
        ("1.3.6.1.4.1.9.1.1018", "", "cisco_iosxr"),
        (".1.3.6.1.4.1.9.1.1018", "", "cisco_iosxr"),  # leading dot as LibreNMS writes it
        ("1.3.6.1.4.1.9.1.9999", "Cisco IOS XR Software (NCS-5500)", "cisco_iosxr"),
        ("1.3.6.1.4.1.9.1.2066", "", "cisco_iosxe"),
        ("1.3.6.1.4.1.9.1.2102", "", "cisco_iosxe"),
        ("1.3.6.1.4.1.9.1.9999", "Cisco IOS Software, IOS-XE Software", "cisco_iosxe"),
        ("1.3.6.1.4.1.9.1.9999", "Cisco IOS Software, C2960 Software", "generic"),
        ("1.3.6.1.4.1.2011.2.62.30", "", "huawei_vrp"),
        ("1.3.6.1.4.1.2011.2.224.62", "", "huawei_vrp"),
        ("1.3.6.1.4.1.2011.2.239", "Huawei Versatile Routing Platform Software", "huawei_vrp"),
        ("1.3.6.1.4.1.2011.2.123", "Huawei Integrated Access Software", "huawei_smartax"),
        ("1.3.6.1.4.1.2011.2.80.8", "", "huawei_smartax"),
        ("1.3.6.1.4.1.2011.2.1230", "", "generic"),  # a prefix matches whole arcs only
        ("1.3.6.1.4.1.2636.1.1.1.2.41", "", "juniper_junos"),
        ("1.3.6.1.4.1.3902.1082.1001.320.2.1", "", "zte_zxa10"),
        ("1.3.6.1.4.1.193.223.2.1", "MINI-LINK 6352 80/21H", "ericsson_minilink"),
        ("1.3.6.1.4.1.2281.1.20.2.2", "", "ceragon"),
        ("1.3.6.1.4.1.12148.9", "", "eltek"),
        ("1.3.6.1.4.1.8072.3.2.10", "Linux", "generic"),
    ],
)
def test_detect(builtin: ProfileSet, sys_object_id: str, sys_descr: str, expected: str) -> None:
    assert builtin.detect(sys_object_id, sys_descr) == expected


def test_unknown_profile_name(builtin: ProfileSet) -> None:
    with pytest.raises(UnknownProfileError) as err:
        builtin.get("cisco_ios")
    assert "unknown profile 'cisco_ios'" in str(err.value) and "cisco_iosxe" in str(err.value)


def test_extra_dir_extends_and_overrides(tmp_path: Path) -> None:
    write(
        tmp_path,
        "acme",
        """\
name: acme_router
vendor: acme
extends: [cisco_iosxe]
detect:
  - sys_object_id: 1.3.6.1.4.1.99999
groups:
  - name: cpu            # replaces the inherited cpu group
    job: system
    kind: reduce
    measurement: device
    field: cpu_pct
    sources:
      - value: 1.3.6.1.4.1.99999.1.1
""",
    )
    ps = load_profiles([BUILTIN_DIR, tmp_path])
    prof = ps.get("acme_router")
    names = [g.name for g in prof.groups]
    assert names.count("cpu") == 1 and {"system", "interfaces", "memory"} <= set(names)
    [cpu] = [g for g in prof.groups if g.name == "cpu"]
    assert cpu.columns == ("1.3.6.1.4.1.99999.1.1",)  # type: ignore[union-attr]
    assert ps.detect("1.3.6.1.4.1.99999.3") == "acme_router"


BAD = [
    ("unknown key", "name: x\nextends: [system]\nfoo: 1\n", 3, "foo", "Extra inputs"),
    ("bad OID", "name: x\ngroups:\n  - name: c\n    job: system\n    kind: reduce\n    measurement: device\n"
     "    field: cpu_pct\n    sources:\n      - value: 1.3.6.x\n",
     9, "groups[0].sources[0].value", "pattern"),
    ("rate of no counter", "name: x\ngroups:\n  - name: t\n    job: interfaces\n    kind: table\n"
     "    measurement: interface\n    index_tag: ifindex\n    fields:\n      a: 1.3.6.1.2.1.2.2.1.10\n"
     "    rates:\n      in_bps: {counter: a}\n", 3, "groups[0]", "no source marked as a counter"),
    ("used without free", "name: x\ngroups:\n  - name: m\n    job: system\n    kind: reduce\n"
     "    measurement: device\n    field: mem_pct\n    sources:\n      - used: 1.3.6.1.4.1.9.9.48.1.1.1.5\n",
     9, "groups[0].sources[0]", "exactly one of 'free' or 'total'"),
    ("bad regex", "name: x\ndetect:\n  - sys_descr: '(unclosed'\n", 3, "detect[0]", "bad regex"),
    ("yaml syntax", "name: x\ngroups: [\n", 3, "", "YAML syntax"),
    ("suffix in scalars", "name: x\ngroups:\n  - name: p\n    job: power\n    kind: scalars\n"
     "    measurement: power\n    fields:\n      battery_v: {oid: 1.3.6.1.4.1.1.0, index_suffix: '.1'}\n",
     3, "groups[0]", "'index_suffix' belongs in table groups"),
    ("count and oid", "name: x\ngroups:\n  - name: p\n    job: power\n    kind: scalars\n"
     "    measurement: power\n    fields:\n      rectifiers_ok: {count: 1.3.6.1.4.1.1.5, oid: 1.3.6.1.4.1.1.6.0}\n",
     8, "groups[0].fields.rectifiers_ok.sources[0]", "exactly one of 'oid' or 'count'"),
]


@pytest.mark.parametrize(("text", "line", "field", "msg"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_errors_name_file_line_and_field(tmp_path: Path, text: str, line: int, field: str, msg: str) -> None:
    path = write(tmp_path, "bad", text)
    with pytest.raises(ConfigError) as err:
        load_profiles([tmp_path])
    [problem] = err.value.problems
    assert problem.file == str(path)
    assert problem.line == line
    assert problem.field_path == field
    assert msg in problem.message


@pytest.mark.parametrize(
    ("files", "msg"),
    [
        ({"a": "name: a\nextends: [b]\n", "b": "name: b\nextends: [a]\n"}, "cycle"),
        ({"a": "name: a\nextends: [nothere]\n"}, "unknown profile 'nothere'"),
        ({"a": "name: same\n", "b": "name: same\n"}, "also defined in"),
    ],
    ids=["cycle", "unknown parent", "duplicate name"],
)
def test_resolution_errors(tmp_path: Path, files: dict[str, str], msg: str) -> None:
    for name, text in files.items():
        write(tmp_path, name, text)
    with pytest.raises(ConfigError, match=msg):
        load_profiles([tmp_path])


def test_missing_dir_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_profiles([tmp_path / "nope"])


def test_schema_problems_catch_unknown_names(tmp_path: Path) -> None:
    write(
        tmp_path,
        "x",
        "name: x\ngroups:\n  - name: c\n    job: system\n    kind: reduce\n    measurement: device\n"
        "    field: cpu_percent\n    sources:\n      - value: 1.3.6.1.4.1.1.1\n",
    )
    problems = schema_problems(load_profiles([tmp_path]))
    assert len(problems) == 1 and "'cpu_percent' not in device" in problems[0]


def test_scalars_group_counts_whole_columns(tmp_path: Path) -> None:
    """A scalars group's ``count`` source walks its column (``count_columns``); the GET is of the rest."""
    write(
        tmp_path,
        "plant",
        """\
name: plant
groups:
  - name: power
    job: power
    kind: scalars
    measurement: power
    fields:
      battery_v: {oid: 1.3.6.1.4.1.99.1.0, scale: 0.01, type: float}
      rectifiers_total: {count: 1.3.6.1.4.1.99.5.1.2}
      rectifiers_ok:
        sources:
          - {count: 1.3.6.1.4.1.99.5.1.2, equals: 1}
          - 1.3.6.1.4.1.99.5.2.0
""",
    )
    [group] = load_profiles([tmp_path]).get("plant").groups
    assert isinstance(group, ScalarsGroup)
    assert group.count_columns == ("1.3.6.1.4.1.99.5.1.2",)
    assert group.scalar_oids == ("1.3.6.1.4.1.99.1.0", "1.3.6.1.4.1.99.5.2.0")
    assert [s.equals for s in group.fields["rectifiers_ok"].sources] == [1, None]
