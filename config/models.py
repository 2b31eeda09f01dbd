"""Pydantic models of the operator's YAML: ``inventory.yaml`` and ``config/netqos.yaml``.

This is the config boundary: everything past :func:`config.loader.load` sees these frozen,
validated models (secrets already resolved). Cross-references (a device's site, upstream,
credential set; a service's device) are checked here, with the YAML path of the bad field so
the loader can name the file and line.
"""

from __future__ import annotations

import ipaddress
import re
from enum import StrEnum
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationInfo, field_validator, model_validator

NAME_RE = r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$"
Name = Annotated[str, Field(pattern=NAME_RE, max_length=64)]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SecretRef(_Model):
    """A secret given by reference: an environment variable or a file (never inline)."""

    env: str | None = None
    file: str | None = None

    @model_validator(mode="after")
    def _one_source(self) -> SecretRef:
        if (self.env is None) == (self.file is None):
            raise ValueError("give exactly one of 'env' or 'file'")
        return self


class Role(StrEnum):
    ROUTER = "router"
    OLT = "olt"
    CELL_ROUTER = "cell_router"
    MICROWAVE = "microwave"
    POWER = "power"


class SiteClass(StrEnum):
    URBAN = "urban"
    RURAL = "rural"


class Region(_Model):
    name: Name
    description: str = ""


class Site(_Model):
    name: Name
    region: Name
    site_class: SiteClass = Field(alias="class")
    address: str = ""


class SnmpV2c(_Model):
    version: Literal["2c"]
    community: SecretStr


V3_KEY_MIN = 8
"""RFC 3414 §11.2: an SNMPv3 pass phrase is at least 8 characters (agents refuse shorter ones)."""
V3_AUTH_PROTOCOLS = ("SHA", "SHA224", "SHA256", "SHA384", "SHA512", "MD5")
V3_PRIV_PROTOCOLS = ("AES", "AES192", "AES256", "AES192C", "AES256C", "DES")
"""``AES192C``/``AES256C``: AES-192/256 with Cisco's key extension (what IOS/IOS-XR/NX-OS speak)."""


def check_v3_key(v: str, what: str = "key") -> None:
    """Raise ValueError when an SNMPv3 pass phrase is shorter than :data:`V3_KEY_MIN` (never shows it)."""
    if len(v) < V3_KEY_MIN:
        raise ValueError(f"SNMPv3 {what} must be at least {V3_KEY_MIN} characters (RFC 3414), got {len(v)}")


class SnmpV3(_Model):
    version: Literal["3"]
    user: str
    auth_protocol: Literal["SHA", "SHA224", "SHA256", "SHA384", "SHA512", "MD5"] = "SHA"
    auth_key: SecretStr
    priv_protocol: Literal["AES", "AES192", "AES256", "AES192C", "AES256C", "DES"] = "AES"
    priv_key: SecretStr
    context: str = ""

    @field_validator("auth_key", "priv_key")
    @classmethod
    def _key_length(cls, v: SecretStr, info: ValidationInfo) -> SecretStr:
        check_v3_key(v.get_secret_value(), str(info.field_name).replace("_", " "))
        return v


SnmpCredentials = Annotated[SnmpV2c | SnmpV3, Field(discriminator="version")]


class SshCredentials(_Model):
    username: str
    password: SecretStr | None = None
    key_file: str | None = None


class Credentials(_Model):
    snmp: dict[Name, SnmpCredentials] = {}
    ssh: dict[Name, SshCredentials] = {}


class Upstream(_Model):
    """One upstream link: the parent device and, optionally, the parent's port this device hangs off."""

    device: Name
    port: str | None = None


_LABEL_RE = re.compile(r"[A-Za-z0-9]([A-Za-z0-9\-]{0,61}[A-Za-z0-9])?")


def _is_host_name(v: str) -> bool:
    """RFC 1123 host name, label by label (linear time); all-numeric names are bad IPv4 addresses."""
    name = v.removesuffix(".")
    labels = name.split(".")
    if not 1 <= len(name) <= 253 or all(label.isdigit() for label in labels):
        return False
    return all(_LABEL_RE.fullmatch(label) for label in labels)


def check_address(v: str) -> str:
    """An IPv4 or IPv6 address (IPv6 is polled over UDP/IPv6) or an RFC 1123 host name."""
    try:
        ipaddress.ip_address(v)
    except ValueError:
        if not _is_host_name(v):
            raise ValueError(f"not an IP address or host name: {v!r}") from None
    return v


class Device(_Model):
    name: Name
    role: Role
    profile: str = "auto"
    address: str
    port: int = Field(default=161, ge=1, le=65535)
    snmp: Name | None = None
    ssh: Name | None = None
    site: Name
    upstream: tuple[Upstream, ...] = ()
    monitored_ports: tuple[str, ...] = ()
    ssh_port: int = Field(default=22, ge=1, le=65535)
    """The SSH port (``port`` is the SNMP port)."""
    ssh_platform: str | None = None
    """netmiko device_type; None = from the profile (huawei_smartax, cisco_ios)."""
    ssh_host_key_check: bool = True
    """SSH host keys are verified against settings.ssh.known_hosts; False only as an explicit opt-out."""
    pon_ports: tuple[str, ...] = ()
    """OLTs: the PON ports (``F/S/P``) the ``ssh_onu`` job reads."""
    snmp_engine_id: str | None = Field(default=None, pattern=r"^(0x)?[0-9A-Fa-f]{10,64}$")
    """Hex SNMPv3 engine ID of this device (5–32 octets); needed to receive its v3 TRAPs."""
    enabled: bool = True

    @field_validator("address")
    @classmethod
    def _address(cls, v: str) -> str:
        return check_address(v)

    @field_validator("upstream", mode="before")
    @classmethod
    def _upstream(cls, v: object) -> object:
        # accept "name", {device, port}, or a list of either
        items = v if isinstance(v, list | tuple) else [v]
        return tuple({"device": i} if isinstance(i, str) else i for i in items if i is not None)


class ServiceClass(StrEnum):
    ENTERPRISE_LINE = "enterprise_line"
    HOME_BROADBAND = "home_broadband"
    MOBILE_BACKHAUL = "mobile_backhaul"


class Carrier(_Model):
    """What carries a service: a device interface, or an OLT PON port and ONU id."""

    device: Name
    interface: str | None = None
    pon: str | None = None
    onu: int | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> Carrier:
        if self.interface is None and self.pon is None:
            raise ValueError("give 'interface' or 'pon' (with 'onu')")
        return self


class Service(_Model):
    id: Name
    customer: str
    service_class: ServiceClass = Field(alias="class")
    carrier: Carrier
    committed_bps: int = Field(ge=0)
    monthly_fee: float = Field(default=0.0, ge=0)
    subscribers: int = Field(default=1, ge=1)


class Team(_Model):
    name: Name
    regions: tuple[Name, ...]
    skills: tuple[str, ...] = ()
    contact: str = ""


class Inventory(_Model):
    regions: tuple[Region, ...]
    sites: tuple[Site, ...]
    credentials: Credentials = Credentials()
    devices: tuple[Device, ...]
    services: tuple[Service, ...] = ()
    teams: tuple[Team, ...] = ()

    def device(self, name: str) -> Device:
        for d in self.devices:
            if d.name == name:
                return d
        raise KeyError(name)

    def site(self, name: str) -> Site:
        for s in self.sites:
            if s.name == name:
                return s
        raise KeyError(name)


# --- config/netqos.yaml ---------------------------------------------------------------------------------


def check_http_url(v: str) -> str:
    """An InfluxDB URL: ``http``/``https`` with a host (and a valid port, when one is given)."""
    try:
        parts = urlsplit(v)
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"not a valid URL: {exc}") from None
    if parts.scheme not in ("http", "https"):
        raise ValueError(f"the URL must start with http:// or https:// (got {v!r})")
    if not parts.hostname:
        raise ValueError(f"the URL has no host (got {v!r})")
    if port == 0:
        raise ValueError(f"port 0 in URL {v!r}")
    if parts.query or parts.fragment:
        raise ValueError(f"the URL takes no query or fragment (got {v!r})")
    return v


class InfluxV1(_Model):
    api: Literal["v1"]
    url: str = "http://127.0.0.1:8086"
    database: str = "netqos"
    retention_policy: str = ""
    username: str | None = None
    password: SecretStr | None = None

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        return check_http_url(v)


class InfluxV2(_Model):
    api: Literal["v2"]
    url: str
    org: str
    bucket: str
    token: SecretStr

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        return check_http_url(v)


InfluxSettings = Annotated[InfluxV1 | InfluxV2, Field(discriminator="api")]


class Job(_Model):
    interval_s: float = Field(default=60, gt=0)
    timeout_s: float = Field(default=10, gt=0)

    @property
    def overruns(self) -> bool:
        """A poll may still run when the next is due (``timeout_s >= interval_s``): the loader warns."""
        return self.timeout_s >= self.interval_s


class SinkSettings(_Model):
    batch_size: int = Field(default=5000, ge=1)
    flush_interval_s: float = Field(default=1.0, gt=0)
    timeout_s: float = Field(default=10.0, gt=0)


class SpoolSettings(_Model):
    dir: str = "var/spool"
    group_commit_s: float = Field(default=1.0, gt=0, le=60)
    max_bytes: int = Field(default=1 << 30, ge=1 << 20)


class SchedulerSettings(_Model):
    max_concurrency: int = Field(default=64, ge=1)


def check_database_url(v: str) -> str:
    """A SQLAlchemy database URL (``sqlite:///path``, ``postgresql+psycopg://user@host/db``) that parses."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        make_url(v)
    except (ArgumentError, ValueError) as exc:
        raise ValueError(f"not a SQLAlchemy database URL ({exc})".replace(v, "<url>")) from None
    return v


class TicketSettings(_Model):
    database_url: str = "sqlite:///var/tickets.db"

    @field_validator("database_url")
    @classmethod
    def _parses(cls, v: str) -> str:
        return check_database_url(v)

    alarm_state_file: str = "var/alarm-state.json"
    """The alarm engine's persisted state (restart resumes from it without re-raising anything)."""


class SshSettings(_Model):
    known_hosts: str = "config/known_hosts"
    conn_timeout_s: float = Field(default=5.0, gt=0)
    command_timeout_s: float = Field(default=10.0, gt=0)


class Settings(_Model):
    influxdb: InfluxSettings
    jobs: dict[Name, Job] = {"system": Job(interval_s=60), "interfaces": Job(interval_s=60)}
    scheduler: SchedulerSettings = SchedulerSettings()
    sink: SinkSettings = SinkSettings()
    spool: SpoolSettings = SpoolSettings()
    tickets: TicketSettings = TicketSettings()
    ssh: SshSettings = SshSettings()
    timezone: str = "Asia/Shanghai"
    language: Literal["zh-CN", "en"] = "zh-CN"
