"""The SNMP trap receiver's settings and vendor trap mappings: pydantic models and their loader.

One YAML file (``config/traps.yaml``) holds two sections:

- ``receiver``: the UDP address to listen on, the v2c communities (optionally one per device, to tell
  devices apart that share an address) and the v3 users (authPriv; SHA/SHA-2, AES);
- ``mappings``: vendor traps (e.g. an EMS northbound alarm feed) → event kind, severity, which varbinds
  name the managed object and the alarm type (the X.733 / 3GPP alarm IRP key), which trap OID or
  varbind value clears the alarm, and optionally the feed's heartbeat notification (its OID and period):
  heartbeats are counted, never events; when ``missed`` periods pass without one the receiver emits
  ``emsFeedLost`` (and ``emsFeedRestored`` when they return).

Secrets are given by reference (``{env: NAME}`` / ``{file: path}``, a path relative to the YAML file).
Errors name the file, line and field, exactly like :func:`config.loader.load`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from config.loader import load_side_file
from config.models import Name

TRAPS_FILE = "traps.yaml"
OID_RE = r"^[0-2](\.(0|[1-9][0-9]*))+$"
Oid = Annotated[str, Field(pattern=OID_RE)]
Severity = Literal["critical", "major", "minor", "warning", "indeterminate", "cleared"]
SEVERITIES: tuple[str, ...] = ("critical", "major", "minor", "warning", "indeterminate", "cleared")
KindName = Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_]*$", max_length=64)]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class TrapCommunity(_Model):
    """A v2c (and v1) community the receiver accepts; ``device`` pins every trap carrying it to one device."""

    community: SecretStr
    device: Name | None = None


class TrapV3User(_Model):
    """A v3 user (authPriv). For v3 *traps* the receiver also needs each sender's engine ID (per device)."""

    user: str = Field(min_length=1, max_length=32)
    auth_protocol: Literal["SHA", "SHA224", "SHA256", "SHA384", "SHA512", "MD5"] = "SHA"
    auth_key: SecretStr
    priv_protocol: Literal["AES", "AES192", "AES256", "DES"] = "AES"
    priv_key: SecretStr


class ReceiverSettings(_Model):
    """Where and to whom the receiver listens."""

    address: str = "127.0.0.1"
    port: int = Field(default=10162, ge=0, le=65535)
    """162 in production (needs CAP_NET_BIND_SERVICE); 10162 in the lab; 0 picks a free port."""
    communities: tuple[TrapCommunity, ...] = ()
    v3_users: tuple[TrapV3User, ...] = ()
    stats_interval_s: float = Field(default=60.0, gt=0)
    """How often the receiver writes its counters as a ``trap_receiver`` sample."""
    queue_size: int = Field(default=10000, ge=1)
    """Decoded traps waiting for the event handler; beyond this they are dropped and counted."""
    inform_dedup_s: float = Field(default=30.0, ge=0)
    """An INFORM re-sent with the same request-id (its acknowledgement was lost) within this window is
    acknowledged again but handed on once (``duplicates`` counts the repeats); 0 turns this off."""


class VarbindSeverity(_Model):
    """Severity read from a varbind's value (text or integer), mapped to an X.733 severity."""

    varbind: Oid
    map: dict[str, Severity]


class ClearWhen(_Model):
    """A clear signalled in the raise trap itself: a varbind whose value is one of ``values``."""

    varbind: Oid
    values: tuple[str, ...] = Field(min_length=1)


class Heartbeat(_Model):
    """A northbound feed's keep-alive notification (Huawei U2000/iMaster NBI: every 60 s by default).

    Heartbeats are counted and never become events. When ``missed`` periods pass without one, the
    receiver emits one ``emsFeedLost`` event (resource: the mapping's name), and ``emsFeedRestored``
    (which clears it) when one arrives again. The watch starts at the first heartbeat (the event's device
    is its sender) — or at receiver start when ``device`` names the EMS, so a feed silent from the start
    is noticed too.
    """

    oid: Oid
    period_s: float = Field(default=60.0, gt=0)
    missed: int = Field(default=3, ge=1)
    device: Name | None = None


class VendorMapping(_Model):
    """One vendor's alarm traps. Varbinds are named by OID prefix (a column or a scalar without its index).

    The alarm key is the device + ``kind`` + resource, where resource = the managed object and the alarm
    type (X.733 / 3GPP alarm IRP: an alarm instance is a managed object + alarm type); the clear trap
    carries the same two values and so clears exactly that alarm.
    """

    name: Name
    kind: KindName
    raise_oids: dict[Oid, Severity] = Field(alias="raise", min_length=1)
    """Trap OID → the severity it stands for (``indeterminate`` when a varbind gives it, see ``severity``)."""
    clear_oids: tuple[Oid, ...] = Field(default=(), alias="clear")
    clear_when: ClearWhen | None = None
    severity: VarbindSeverity | None = None
    managed_object: tuple[Oid, ...] = Field(min_length=1)
    alarm_type: tuple[Oid, ...] = ()
    text: tuple[Oid, ...] = ()
    device: Oid | None = None
    """A varbind naming the network element (an EMS forwards alarms of many NEs): when its value is an
    inventory device name, the event is about that device rather than the EMS that sent it."""
    heartbeat: Heartbeat | None = None

    @field_validator("managed_object", "alarm_type", "text", "clear_oids", mode="before")
    @classmethod
    def _one_or_many(cls, v: object) -> object:
        return [v] if isinstance(v, str) else v

    @model_validator(mode="after")
    def _clearable(self) -> VendorMapping:
        overlap = set(self.raise_oids) & set(self.clear_oids)
        if overlap:
            raise ValueError(f"trap OID(s) both raise and clear: {', '.join(sorted(overlap))}")
        if self.heartbeat is not None and self.heartbeat.oid in {*self.raise_oids, *self.clear_oids}:
            raise ValueError(f"heartbeat OID {self.heartbeat.oid} is also an alarm trap OID")
        return self

    @property
    def oids(self) -> tuple[str, ...]:
        """Every trap OID this mapping claims: raise, clear and heartbeat."""
        hb = (self.heartbeat.oid,) if self.heartbeat is not None else ()
        return (*self.raise_oids, *self.clear_oids, *hb)


class TrapConfig(_Model):
    receiver: ReceiverSettings = ReceiverSettings()
    mappings: tuple[VendorMapping, ...] = ()

    @model_validator(mode="after")
    def _unique_oids(self) -> TrapConfig:
        seen: dict[str, str] = {}
        for mp in self.mappings:
            for oid in mp.oids:
                if oid in seen and seen[oid] != mp.name:
                    raise ValueError(f"trap OID {oid} is mapped by both {seen[oid]!r} and {mp.name!r}")
                seen[oid] = mp.name
        return self


def load_traps(path: Path, env: Mapping[str, str]) -> TrapConfig:
    """Read, resolve secrets in and validate a trap settings file; :class:`ConfigError` lists every problem.

    A missing file is not an error: the receiver then runs with the defaults and no mappings.
    """
    return load_side_file(path, TrapConfig, env)


__all__ = [
    "SEVERITIES",
    "TRAPS_FILE",
    "ClearWhen",
    "Heartbeat",
    "ReceiverSettings",
    "TrapCommunity",
    "TrapConfig",
    "TrapV3User",
    "VarbindSeverity",
    "VendorMapping",
    "load_traps",
]
