"""The config boundary: the shipped lab inventory and settings load clean, and each kind of broken input
is reported with its file, line and field path — all problems at once.

Broken inputs are small edits of a valid base inventory/settings. The expected line of each problem is the
line the edit marks with ``#<n>`` (n = the problem's number in the case), so the expectations follow the
text rather than being typed in by hand.
"""

from __future__ import annotations

import re
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from config.errors import ConfigError, Problem
from config.loader import Loaded, describe, find_cycles, load, render_path
from config.models import SnmpV2c, SnmpV3
from lab.network import default_recordings_dir

REPO = Path(__file__).resolve().parents[1]
DEVICES_DIR = default_recordings_dir()

# --- the shipped lab network --------------------------------------------------------------------------------

# device, role, recording, port, upstream devices, site, site class (the lab engineer's table)
LAB = (
    ("core-sh-01", "router", "iosxr_asr9904", 20161, (), "sh-idc-01", "urban"),
    ("agg-sh-pd-01", "router", "vrp_ne", 20162, ("core-sh-01",), "sh-pd-co", "urban"),
    ("agg-sh-mh-01", "router", "junos", 20163, ("core-sh-01",), "sh-mh-co", "urban"),
    ("dist-sh-01", "router", "iosxe_c3650", 20164, ("agg-sh-pd-01", "agg-sh-mh-01"), "sh-pd-co", "urban"),
    ("olt-sh-pd-01", "olt", "smartax", 20165, ("agg-sh-pd-01",), "sh-pd-co", "urban"),
    ("olt-sh-mh-01", "olt", "zxa10_c320", 20166, ("agg-sh-mh-01",), "sh-mh-co", "urban"),
    ("ent-sh-pd-01", "router", "vrp_ar169sfp", 20167, ("dist-sh-01",), "sh-pd-lujiazui", "urban"),
    ("mw-sh-pd-101a", "microwave", "ericsson-ml", 20168, ("agg-sh-pd-01",), "sh-pd-bs101", "urban"),
    ("csr-sh-pd-101", "cell_router", "iosxe_asr920", 20169, ("mw-sh-pd-101a",), "sh-pd-bs101", "urban"),
    ("pwr-sh-pd-101", "power", "eltek-webpower", 20170, ("csr-sh-pd-101",), "sh-pd-bs101", "urban"),
    ("mw-sh-cm-201a", "microwave", "ceraos", 20171, ("agg-sh-mh-01",), "sh-cm-bs201", "rural"),
    ("csr-sh-cm-201", "cell_router", "iosxe_asr920", 20172, ("mw-sh-cm-201a",), "sh-cm-bs201", "rural"),
)


@pytest.fixture(scope="module")
def shipped() -> Loaded:
    return load(REPO / "inventory.yaml", REPO / "config", env={})


def test_shipped_config_loads_clean(shipped: Loaded) -> None:
    # git does not keep 0600: the only acceptable warnings are about secret file modes
    assert all("readable by group/others" in w.message for w in shipped.warnings), shipped.warnings
    inv = shipped.inventory
    assert [d.name for d in inv.devices] == [row[0] for row in LAB]
    assert {r.name for r in inv.regions} == {"sh-east", "sh-north"}
    assert len(inv.services) >= 12
    assert {s.service_class.value for s in inv.services} == {
        "enterprise_line",
        "home_broadband",
        "mobile_backhaul",
    }
    assert len(inv.teams) == 2
    st = shipped.settings
    assert st.influxdb.api == "v1" and st.influxdb.url == "http://127.0.0.1:18086"
    assert st.influxdb.database == "netqos"
    assert {n: j.interval_s for n, j in st.jobs.items()} == {
        "system": 30, "interfaces": 30, "onu": 120, "radio": 30, "power": 30, "bgp": 30, "ssh_onu": 300,
        "ssh_interfaces": 60,
    }
    assert (st.spool.dir, st.tickets.database_url) == ("var/spool", "sqlite:///var/tickets.db")
    assert (st.timezone, st.language) == ("Asia/Shanghai", "zh-CN")


def test_lab_community_is_resolved_by_reference(shipped: Loaded) -> None:
    creds = shipped.inventory.credentials.snmp
    used = {d.snmp for d in shipped.inventory.devices}
    assert used == {"lab-v2c"}
    lab = creds["lab-v2c"]
    assert isinstance(lab, SnmpV2c)
    assert lab.community.get_secret_value() == (REPO / "lab/secrets/snmp-community").read_text().strip()
    assert lab.community.get_secret_value() == "public"
    text = "\n".join(describe(shipped)) + repr(shipped)
    assert "public" not in text and "labpass" not in text and "simauthpass1" not in text


@pytest.mark.parametrize("row", LAB, ids=[row[0] for row in LAB])
def test_shipped_device_matches_lab_table(shipped: Loaded, row: tuple[object, ...]) -> None:
    name, role, _recording, port, upstream, site, site_class = row
    inv = shipped.inventory
    dev = inv.device(str(name))
    assert (dev.role.value, dev.address, dev.port, dev.site) == (role, "127.0.0.1", port, site)
    assert tuple(u.device for u in dev.upstream) == upstream
    assert inv.site(dev.site).site_class.value == site_class
    assert dev.site in {s.name for s in inv.sites}


def _if_names(recording: Path) -> set[str]:
    """ifName of every interface in an snmprec file, falling back to ifDescr (as the collectors do)."""
    names: dict[int, str] = {}
    descrs: dict[int, str] = {}
    for line in recording.read_text(encoding="utf-8", errors="replace").splitlines():
        oid, _, rest = line.partition("|")
        tag, _, value = rest.partition("|")
        if tag == "4x":
            value = bytes.fromhex(value).decode("utf-8", errors="replace")
        for prefix, into in (("1.3.6.1.2.1.31.1.1.1.1.", names), ("1.3.6.1.2.1.2.2.1.2.", descrs)):
            if oid.startswith(prefix) and oid[len(prefix) :].isdigit():
                into[int(oid[len(prefix) :])] = value
    return {names.get(i, descrs[i]) for i in descrs} | set(names.values())


@pytest.mark.parametrize("row", LAB, ids=[row[0] for row in LAB])
def test_shipped_ports_exist_in_the_recordings(shipped: Loaded, row: tuple[object, ...]) -> None:
    recording = DEVICES_DIR / f"{row[2]}.snmprec"
    if not recording.is_file():
        pytest.fail(f"recordings not available: {recording}")
    inv = shipped.inventory
    dev = inv.device(str(row[0]))
    real = _if_names(recording)
    ports = set(dev.monitored_ports)
    ports |= {
        s.carrier.interface for s in inv.services if s.carrier.device == dev.name and s.carrier.interface
    }
    ports |= {u.port for d in inv.devices for u in d.upstream if u.device == dev.name and u.port}
    assert ports <= real, f"not in {row[2]}: {sorted(ports - real)}"


def test_shipped_profiles_are_known() -> None:
    profiles = pytest.importorskip("config.profiles")
    known = set(profiles.load_profiles().profiles)
    loaded = load(REPO / "inventory.yaml", REPO / "config", env={}, known_profiles=known)
    explicit = {d.profile for d in loaded.inventory.devices} - {"auto"}
    assert len(explicit) == 2 and explicit <= known


# --- broken inputs ------------------------------------------------------------------------------------------

BASE_INVENTORY = """\
regions:
  - name: east
    description: 浦东
sites:
  - name: site-a
    region: east
    class: urban
    address: 上海市浦东新区某路1号
credentials:
  snmp:
    lab:
      version: "2c"
      community: {env: NQ_COMMUNITY}
  ssh:
    cli:
      username: labuser
      password: {file: secrets/ssh-password}
devices:
  - name: core-1
    role: router
    address: 127.0.0.1
    port: 20161
    snmp: lab
    site: site-a
  - name: agg-1
    role: router
    address: 127.0.0.1
    port: 20162
    snmp: lab
    site: site-a
    upstream: core-1
  - name: olt-1
    role: olt
    profile: auto
    address: 127.0.0.1
    port: 20163
    snmp: lab
    ssh: cli
    site: site-a
    upstream: [{device: agg-1, port: ge-0/0/1}]
services:
  - id: svc-1
    customer: 上海浦东某银行
    class: enterprise_line
    carrier: {device: agg-1, interface: ge-0/0/2}
    committed_bps: 100000000
    monthly_fee: 8000
  - id: svc-2
    customer: 浦东某小区 张先生
    class: home_broadband
    carrier: {device: olt-1, pon: 0/1/0, onu: 1}
    committed_bps: 300000000
teams:
  - name: field-east
    regions: [east]
    skills: [fiber]
"""

BASE_SETTINGS = """\
influxdb:
  api: v1
  url: http://127.0.0.1:18086
  database: netqos
jobs:
  system: {interval_s: 30}
"""

ENV = {"NQ_COMMUNITY": "c0mmunity-from-env"}
FILES = {"secrets/ssh-password": "pa55word-from-file\n"}
INV, SET = "inventory", "settings"


@dataclass(frozen=True)
class Expect:
    file: str  # INV or SET
    marker: int  # the problem's line is the one carrying "#<marker>"
    field_path: str
    message: str  # a fragment of the message
    column_at: str | None = None  # if given, the column is where this text starts on the marked line


@dataclass(frozen=True)
class Case:
    id: str
    edits: tuple[tuple[str, str], ...]  # (old, new) applied once each to the base inventory
    expected: tuple[Expect, ...]
    settings_edits: tuple[tuple[str, str], ...] = ()
    env: Mapping[str, str] = field(default_factory=lambda: dict(ENV))
    files: Mapping[str, str] = field(default_factory=lambda: dict(FILES))
    known_profiles: tuple[str, ...] | None = None
    known_jobs: tuple[str, ...] | None = None


JOBS = ("system", "interfaces", "onu", "ssh_onu")
V3_SET = (
    "  ssh:\n",
    "    v3:\n      version: \"3\"\n      user: netqos\n      auth_key: {env: NQ_AUTH} #<1\n"
    "      priv_key: {env: NQ_PRIV} #<2\n      priv_protocol: AES256C\n  ssh:\n",
)

CASES = (
    Case(
        "yaml-syntax-error",
        (("    port: 20162\n", "    port: [20162\n    snmp: lab #<1\n"),),
        (Expect(INV, 1, "", "YAML syntax error"),),
    ),
    Case(
        "yaml-bad-indent",
        (
            (
                "    role: router\n    address: 127.0.0.1\n    port: 20161\n",
                "    role: router\n   address: x #<1\n",
            ),
        ),
        (Expect(INV, 1, "", "YAML syntax error", column_at="address"),),
    ),
    Case(
        "unknown-upstream",
        (("    upstream: core-1\n", "    upstream: [core-1, agg-x] #<1\n"),),
        (
            Expect(
                INV,
                1,
                "devices[1].upstream[1]",
                "unknown device 'agg-x' (known: agg-1, core-1, olt-1)",
                "agg-x",
            ),
        ),
    ),
    Case(
        "unknown-upstream-mapping",
        (
            (
                "    upstream: [{device: agg-1, port: ge-0/0/1}]\n",
                "    upstream: [{device: agg-x, port: ge-0/0/1}] #<1\n",
            ),
        ),
        (Expect(INV, 1, "devices[2].upstream[0].device", "unknown device 'agg-x'", "device: agg-x"),),
    ),
    Case(
        "duplicate-device-name",
        (
            (
                "services:\n",
                "  - name: core-1 #<1\n    role: router\n    address: 127.0.0.2\n    site: site-a\n"
                "services:\n",
            ),
        ),
        (
            Expect(
                INV, 1, "devices[3].name", "duplicate device name 'core-1' (first defined at line 19)", "name"
            ),
        ),
    ),
    Case(
        "duplicate-service-id",
        (("  - id: svc-2\n", "  - id: svc-1 #<1\n"),),
        (Expect(INV, 1, "services[1].id", "duplicate service id 'svc-1'"),),
    ),
    Case(
        "duplicate-yaml-key",
        (("    port: 20161\n", "    port: 20161\n    address: 10.0.0.256 #<1\n"),),
        (Expect(INV, 1, "", 'found duplicate key "address"'),),
    ),
    Case(
        "bad-address-value",
        (("    address: 127.0.0.1\n    port: 20162\n", "    address: 10.0.0.256 #<1\n    port: 20162\n"),),
        (Expect(INV, 1, "devices[1].address", "not an IP address or host name: '10.0.0.256'", "address"),),
    ),
    Case(
        "missing-secret-env-var",
        (("{env: NQ_COMMUNITY}", "{env: NQ_COMMUNITY} #<1"),),
        (
            Expect(
                INV,
                1,
                "credentials.snmp.lab.community.env",
                "environment variable NQ_COMMUNITY is not set",
                "env",
            ),
        ),
        env={},
    ),
    Case(
        "empty-secret-env-var",
        (("{env: NQ_COMMUNITY}", "{env: NQ_COMMUNITY} #<1"),),
        (Expect(INV, 1, "credentials.snmp.lab.community.env", "environment variable NQ_COMMUNITY is empty"),),
        env={"NQ_COMMUNITY": ""},
    ),
    Case(
        "missing-ssh-key-file",
        (("      username: labuser\n", "      username: labuser\n      key_file: keys/id_ed25519 #<1\n"),),
        (Expect(INV, 1, "credentials.ssh.cli.key_file", "key file not found", "key_file"),),
    ),
    Case(
        "missing-secret-file",
        (("{file: secrets/ssh-password}", "{file: secrets/ssh-password} #<1"),),
        (Expect(INV, 1, "credentials.ssh.cli.password.file", "secret file not found", "file"),),
        files={},
    ),
    Case(
        "empty-secret-file",
        (("{file: secrets/ssh-password}", "{file: secrets/ssh-password} #<1"),),
        (Expect(INV, 1, "credentials.ssh.cli.password.file", "secret file is empty"),),
        files={"secrets/ssh-password": "\n"},
    ),
    Case(
        "unreadable-secret-file",
        (("{file: secrets/ssh-password}", "{file: secrets/ssh-password} #<1"),),
        (Expect(INV, 1, "credentials.ssh.cli.password.file", "cannot read secret file"),),
        files={"secrets/ssh-password/not-a-file": "x"},  # the secret path is a directory
    ),
    Case(
        "inline-secret",
        (("      community: {env: NQ_COMMUNITY}\n", "      community: s3cret-inline #<1\n"),),
        (
            Expect(
                INV, 1, "credentials.snmp.lab.community", "secret given inline; use {env: ...} or {file: ...}"
            ),
        ),
    ),
    Case(
        "secret-ref-with-both-sources",
        (("{env: NQ_COMMUNITY}", "{env: NQ_COMMUNITY, file: x} #<1"),),
        (Expect(INV, 1, "credentials.snmp.lab.community", "give exactly one of 'env' or 'file'"),),
    ),
    Case(
        "unknown-site",
        (
            (
                "    snmp: lab\n    site: site-a\n    upstream: core-1\n",
                "    snmp: lab\n    site: site-b #<1\n",
            ),
        ),
        (Expect(INV, 1, "devices[1].site", "unknown site 'site-b' (known: site-a); did you mean 'site-a'?"),),
    ),
    Case(
        "unknown-credential-set",
        (("    ssh: cli\n", "    ssh: cli2 #<1\n"),),
        (Expect(INV, 1, "devices[2].ssh", "unknown ssh credential set 'cli2' (known: cli)"),),
    ),
    Case(
        "unknown-region",
        (("    regions: [east]\n", "    regions: [east, west] #<1\n"),),
        (Expect(INV, 1, "teams[0].regions[1]", "unknown region 'west' (known: east)", "west"),),
    ),
    Case(
        "upstream-cycle",
        (
            (
                "    site: site-a\n  - name: agg-1\n",
                "    site: site-a\n    upstream: olt-1\n  - name: agg-1\n",
            ),
            ("    upstream: core-1\n", "    upstream: core-1 #<1\n"),
        ),
        (
            Expect(
                INV, 1, "devices[1].upstream", "upstream cycle: agg-1 → core-1 → olt-1 → agg-1", "upstream"
            ),
        ),
    ),
    Case(
        "upstream-of-itself",
        (("    upstream: core-1\n", "    upstream: [core-1, agg-1] #<1\n"),),
        (Expect(INV, 1, "devices[1].upstream[1]", "device 'agg-1' is upstream of itself"),),
    ),
    Case(
        "unknown-profile",
        (("    profile: auto\n", "    profile: huawei_smartx #<1\n"),),
        (
            Expect(
                INV,
                1,
                "devices[2].profile",
                "unknown profile 'huawei_smartx' (known: auto, huawei_smartax, huawei_vrp);"
                " did you mean 'huawei_smartax'?",
            ),
        ),
        known_profiles=("huawei_smartax", "huawei_vrp"),
    ),
    Case(
        "wrong-type",
        (("    port: 20162\n", '    port: "abc" #<1\n'),),
        (Expect(INV, 1, "devices[1].port", "valid integer", "port"),),
    ),
    Case(
        "misspelled-key",
        (
            ("  - name: core-1\n", "  - name: core-1 #<1\n"),
            ("    address: 127.0.0.1\n    port: 20161\n", "    adress: 127.0.0.1 #<2\n    port: 20161\n"),
        ),
        (
            Expect(INV, 1, "devices[0].address", "required field missing", "name"),
            Expect(INV, 2, "devices[0].adress", "unknown key 'adress'; did you mean 'address'?", "adress"),
        ),
    ),
    Case(
        "missing-required-field",
        (("    customer: 上海浦东某银行\n", ""), ("  - id: svc-1\n", "  - id: svc-1 #<1\n")),
        (Expect(INV, 1, "services[0].customer", "required field missing", "id"),),
    ),
    Case(
        "carrier-interface-missing",
        (("{device: agg-1, interface: ge-0/0/2}", "{device: agg-1} #<1"),),
        (Expect(INV, 1, "services[0].carrier", "give 'interface' or 'pon'"),),
    ),
    Case(
        "pon-on-a-router",
        (("{device: agg-1, interface: ge-0/0/2}", "{device: agg-1, pon: 0/1/0, onu: 3} #<1"),),
        (
            Expect(
                INV, 1, "services[0].carrier.pon", "'pon' given but 'agg-1' is a router, not an olt", "pon"
            ),
        ),
    ),
    Case(
        "snmp-version-not-quoted",
        (('      version: "2c"\n', "      version: 3 #<1\n"),),
        (Expect(INV, 1, "credentials.snmp.lab.version", 'write it as a quoted string: "3"'),),
    ),
    Case(
        "settings-inline-token-and-bad-interval",
        (),
        (
            Expect(SET, 1, "influxdb.token", "secret given inline"),
            Expect(SET, 2, "jobs.system.interval_s", "greater than 0"),
        ),
        settings_edits=(
            ("  api: v1\n", "  api: v2\n  org: ops\n  bucket: netqos\n  token: abc123 #<1\n"),
            ("  database: netqos\n", ""),
            ("{interval_s: 30}", "{interval_s: 0} #<2"),
        ),
    ),
    Case(
        "several-errors-at-once",
        (
            ("    site: site-a\n  - name: agg-1\n", "    site: nowhere #<1\n  - name: agg-1\n"),
            ("    upstream: core-1\n", "    upstream: core-9 #<2\n"),
            ("    port: 20163\n", "    port: 70000 #<3\n"),
            ("    class: enterprise_line\n", "    class: leased_line #<4\n"),
        ),
        (
            Expect(INV, 1, "devices[0].site", "unknown site 'nowhere'"),
            Expect(INV, 2, "devices[1].upstream", "unknown device 'core-9'"),
            Expect(INV, 3, "devices[2].port", "less than or equal to 65535"),
            Expect(INV, 4, "services[0].class", "Input should be"),
            Expect(SET, 1, "influxdb.api", "does not match any of the expected tags"),
        ),
        settings_edits=(("  api: v1\n", "  api: v3 #<1\n"),),
    ),
    Case(
        "unknown-job-name",
        (),
        (Expect(SET, 1, "jobs.interfacs", "unknown job 'interfacs' (known: interfaces, onu, ssh_onu, system);"
                " did you mean 'interfaces'?", "interfacs"),),
        settings_edits=(("  system: {interval_s: 30}\n", "  system: {interval_s: 30}\n  interfacs: {} #<1\n"),),
        known_jobs=JOBS,
    ),
    Case(
        "two-unknown-jobs-and-a-known-one",
        (),
        (Expect(SET, 1, "jobs.bogus", "unknown job 'bogus'"), Expect(SET, 2, "jobs.ssh_on", "did you mean 'ssh_onu'")),
        settings_edits=(("  system: {interval_s: 30}\n", "  bogus: {} #<1\n  onu: {}\n  ssh_on: {} #<2\n"),),
        known_jobs=JOBS,
    ),
    Case(
        "influx-url-without-scheme",
        (),
        (Expect(SET, 1, "influxdb.url", "must start with http:// or https://", "url"),),
        settings_edits=(("  url: http://127.0.0.1:18086\n", "  url: 127.0.0.1:18086 #<1\n"),),
    ),
    Case(
        "influx-url-without-host",
        (),
        (Expect(SET, 1, "influxdb.url", "the URL has no host"),),
        settings_edits=(("  url: http://127.0.0.1:18086\n", "  url: http:///write #<1\n"),),
    ),
    Case(
        "influx-url-bad-port",
        (),
        (Expect(SET, 1, "influxdb.url", "not a valid URL"),),
        settings_edits=(("  url: http://127.0.0.1:18086\n", "  url: http://127.0.0.1:99999 #<1\n"),),
    ),
    Case(
        "influx-v2-url-ftp",
        (),
        (Expect(SET, 1, "influxdb.url", "must start with http:// or https://"),),
        settings_edits=(
            ("  api: v1\n  url: http://127.0.0.1:18086\n  database: netqos\n",
             "  api: v2\n  url: ftp://influx:8086 #<1\n  org: o\n  bucket: b\n  token: {env: NQ_TOKEN}\n"),
        ),
        env={**ENV, "NQ_TOKEN": "t0ken-from-env"},
    ),
    Case(
        "tickets-database-url-unparsable",
        (),
        (Expect(SET, 1, "tickets.database_url", "not a SQLAlchemy database URL"),),
        settings_edits=(("jobs:\n", "tickets:\n  database_url: tickets.db #<1\njobs:\n"),),
    ),
    Case(
        "tickets-database-url-bad-port-hides-password",
        (),
        (Expect(SET, 1, "tickets.database_url", "'postgresql://netqos:***@db:x/t'"),),
        settings_edits=(
            ("jobs:\n", "tickets:\n  database_url: postgresql://netqos:s3cret-inline@db:x/t #<1\njobs:\n"),
        ),
    ),
    Case(
        "v3-keys-too-short",
        (V3_SET,),
        (
            Expect(INV, 1, "credentials.snmp.v3.auth_key", "SNMPv3 auth key must be at least 8 characters"),
            Expect(INV, 2, "credentials.snmp.v3.priv_key", "SNMPv3 priv key must be at least 8 characters"),
        ),
        env={**ENV, "NQ_AUTH": "short", "NQ_PRIV": "1234567"},
    ),
)


def _apply(text: str, edits: tuple[tuple[str, str], ...]) -> str:
    for old, new in edits:
        assert text.count(old) == 1, f"edit target not unique in base text: {old!r}"
        text = text.replace(old, new)
    return text


def _marked_line(text: str, marker: int) -> tuple[int, str]:
    hits = [(i + 1, line) for i, line in enumerate(text.splitlines()) if re.search(rf"#<{marker}\b", line)]
    assert len(hits) == 1, f"marker #<{marker} must appear once"
    return hits[0]


def _write_tree(root: Path, inventory: str, settings: str, files: Mapping[str, str]) -> tuple[Path, Path]:
    (root / "config").mkdir()
    inv = root / "inventory.yaml"
    inv.write_text(inventory, encoding="utf-8")
    (root / "config" / "netqos.yaml").write_text(settings, encoding="utf-8")
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
        path.chmod(0o600)
    return inv, root / "config"


def test_base_input_loads_clean(tmp_path: Path) -> None:
    inv, cfg = _write_tree(tmp_path, BASE_INVENTORY, BASE_SETTINGS, FILES)
    loaded = load(inv, cfg, ENV, known_profiles=("huawei_smartax",))
    assert loaded.warnings == ()
    lab = loaded.inventory.credentials.snmp["lab"]
    assert isinstance(lab, SnmpV2c) and lab.community.get_secret_value() == ENV["NQ_COMMUNITY"]
    password = loaded.inventory.credentials.ssh["cli"].password
    assert password is not None and password.get_secret_value() == "pa55word-from-file"  # newline stripped
    assert "pa55word" not in repr(loaded) and "c0mmunity" not in repr(loaded)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_broken_input_is_reported_with_file_line_and_field(tmp_path: Path, case: Case) -> None:
    inventory = _apply(BASE_INVENTORY, case.edits)
    settings = _apply(BASE_SETTINGS, case.settings_edits)
    inv, cfg = _write_tree(tmp_path, inventory, settings, case.files)
    texts = {INV: (str(inv), inventory), SET: (str(cfg / "netqos.yaml"), settings)}

    with pytest.raises(ConfigError) as info:
        load(inv, cfg, case.env, known_profiles=case.known_profiles, known_jobs=case.known_jobs)
    problems = info.value.problems
    rendered = str(info.value)

    assert len(problems) == len(case.expected), rendered
    for exp in case.expected:
        file, text = texts[exp.file]
        line_no, line = _marked_line(text, exp.marker)
        matches = [
            p
            for p in problems
            if (p.file, p.line, p.field_path) == (file, line_no, exp.field_path) and exp.message in p.message
        ]
        assert len(matches) == 1, (
            f"expected {file}:{line_no}: {exp.field_path}: …{exp.message}… in\n{rendered}"
        )
        if exp.column_at is not None:
            assert matches[0].column == line.index(exp.column_at) + 1, rendered
        assert str(matches[0]) in rendered.splitlines()
    assert "s3cret-inline" not in rendered and "abc123" not in rendered  # never echo an inline secret


@pytest.mark.parametrize("priv", ["AES", "AES192", "AES256", "AES192C", "AES256C", "DES"])
def test_v3_privacy_protocols_with_long_enough_keys_load(tmp_path: Path, priv: str) -> None:
    inventory = _apply(BASE_INVENTORY, (V3_SET,)).replace("AES256C", priv)
    inv, cfg = _write_tree(tmp_path, inventory, BASE_SETTINGS, FILES)
    loaded = load(inv, cfg, {**ENV, "NQ_AUTH": "8-chars!", "NQ_PRIV": "priv-key-9"}, known_jobs=JOBS)
    v3 = loaded.inventory.credentials.snmp["v3"]
    assert isinstance(v3, SnmpV3) and v3.priv_protocol == priv and v3.priv_key.get_secret_value() == "priv-key-9"


TIMEOUT_CASES = [
    # id, jobs text (from line 6 of netqos.yaml), expected warnings (line, field, message fragment)
    ("below", "  system: {interval_s: 30, timeout_s: 29.5}\n", []),
    ("equal", "  system: {interval_s: 30, timeout_s: 30}\n",
     [(6, "jobs.system.timeout_s", "timeout_s (30 s) should be less than interval_s (30 s)")]),
    ("above-default-interval", "  system: {timeout_s: 90}\n",
     [(6, "jobs.system.timeout_s", "timeout_s (90 s) should be less than interval_s (60 s)")]),
    ("default-timeout-above-short-interval", "  system: {interval_s: 5}\n",
     [(6, "jobs.system.timeout_s", "timeout_s (10 s) should be less than interval_s (5 s)")]),
    ("two-jobs-one-bad", "  system: {interval_s: 30}\n  interfaces:\n    interval_s: 1\n    timeout_s: 2\n",
     [(9, "jobs.interfaces.timeout_s", "(2 s) should be less than interval_s (1 s)")]),
]  # fmt: skip


@pytest.mark.parametrize(("case", "jobs", "expected"), TIMEOUT_CASES, ids=[c[0] for c in TIMEOUT_CASES])
def test_timeout_not_below_interval_is_a_warning_with_line_and_field(
    tmp_path: Path, case: str, jobs: str, expected: list[tuple[int, str, str]]
) -> None:
    settings = BASE_SETTINGS.replace("  system: {interval_s: 30}\n", jobs)
    inv, cfg = _write_tree(tmp_path, BASE_INVENTORY, settings, FILES)
    loaded = load(inv, cfg, ENV, known_jobs=JOBS)
    got = [(w.line, w.field_path, w.message) for w in loaded.warnings if w.file == str(cfg / "netqos.yaml")]
    assert len(got) == len(expected), got
    for (line, path, fragment), (g_line, g_path, g_message) in zip(expected, got, strict=True):
        assert (g_line, g_path) == (line, path) and fragment in g_message, got


def test_problem_renders_file_line_column_field() -> None:
    p = Problem("inventory.yaml", 42, 5, "devices[3].upstream[0].device", "unknown device 'agg-x' (known: a)")
    assert str(p) == "inventory.yaml:42:5: devices[3].upstream[0].device: unknown device 'agg-x' (known: a)"
    assert (
        str(Problem("x.yaml", None, None, "", "file not found: x.yaml")) == "x.yaml: file not found: x.yaml"
    )
    err = ConfigError([p, Problem("a.yaml", 1, 1, "", "first")])
    assert str(err).splitlines() == [str(err.problems[0]), str(p)] and err.problems[0].file == "a.yaml"


def test_missing_files_are_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load(tmp_path / "nope.yaml", tmp_path / "conf", ENV)
    assert [(p.file, p.line, p.message) for p in info.value.problems] == [
        (
            str(tmp_path / "conf" / "netqos.yaml"),
            None,
            f"file not found: {tmp_path / 'conf' / 'netqos.yaml'}",
        ),
        (str(tmp_path / "nope.yaml"), None, f"file not found: {tmp_path / 'nope.yaml'}"),
    ]


@pytest.mark.parametrize(
    ("mode", "warned"), [(0o600, False), (0o400, False), (0o640, True), (0o644, True), (0o604, True)]
)
def test_group_or_world_readable_secret_file_only_warns(tmp_path: Path, mode: int, warned: bool) -> None:
    inv, cfg = _write_tree(tmp_path, BASE_INVENTORY, BASE_SETTINGS, FILES)
    (tmp_path / "secrets" / "ssh-password").chmod(mode)
    loaded = load(inv, cfg, ENV)
    assert [w.field_path for w in loaded.warnings] == (
        ["credentials.ssh.cli.password.file"] if warned else []
    )
    if warned:
        assert f"{stat.S_IMODE(mode):04o}" in loaded.warnings[0].message
        assert any(line.startswith("warning: ") for line in describe(loaded))


def test_describe_counts_without_secrets(shipped: Loaded) -> None:
    lines = describe(shipped)
    text = "\n".join(lines)
    assert "devices: 12 (cell_router 2, microwave 2, olt 2, power 1, router 5)" in lines
    assert "regions: 2 (sh-east, sh-north)" in lines
    assert "job system: every 30 s, timeout 10 s" in lines
    assert "influxdb: v1 API http://127.0.0.1:18086 database netqos (retention policy default)" in lines
    n_services = len(shipped.inventory.services)
    assert any(line.startswith(f"services: {n_services} (") for line in lines)
    assert "public" not in text


@pytest.mark.parametrize(
    ("graph", "cycles"),
    [
        ({"a": ["b"], "b": []}, []),
        ({"a": ["b"], "b": ["a"]}, [["a", "b"]]),
        ({"c": ["a"], "a": ["b"], "b": ["c"]}, [["a", "b", "c"]]),
        ({"d": ["a", "b"], "a": ["c"], "b": ["c"], "c": []}, []),  # dual-homed is not a cycle
        ({"a": ["b"], "b": ["a"], "x": ["y"], "y": ["x"]}, [["a", "b"], ["x", "y"]]),
    ],
)
def test_find_cycles(graph: dict[str, list[str]], cycles: list[list[str]]) -> None:
    assert find_cycles(graph) == cycles


@pytest.mark.parametrize(
    ("path", "text"),
    [
        (("devices", 3, "upstream", 0, "device"), "devices[3].upstream[0].device"),
        (("credentials", "snmp", "lab-v2c", "community"), "credentials.snmp.lab-v2c.community"),
        (("credentials", "snmp", "a.b"), "credentials.snmp['a.b']"),
        ((), ""),
    ],
)
def test_render_path(path: tuple[str | int, ...], text: str) -> None:
    assert render_path(path) == text
