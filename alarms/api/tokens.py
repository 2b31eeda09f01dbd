"""API tokens: issued once, stored only as a salted scrypt hash, checked per request.

A token reads ``nqt_<id>_<secret>``: the public ``id`` finds the stored record (one hash to check, not one
per stored token), the secret is 32 random bytes. Each record keeps its own salt and scrypt parameters, so
the cost can be raised later without invalidating old tokens. Records live in a JSON file
(``var/api-tokens.json`` by default) written atomically with mode 0600.

The :class:`Authenticator` remembers, per process, which presented tokens it already verified (keyed by an
HMAC under a random per-instance key, never the token itself) so a busy page does not pay scrypt on every
request; the remembered entry only counts while the stored record still carries the same hash, so removing
a token from the file revokes it at once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import secrets
import tempfile
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Protocol

TOKEN_RE = re.compile(r"nqt_([0-9a-f]{12})_([A-Za-z0-9_\-]{43})")
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@\-]{0,63}")


class ApiRole(StrEnum):
    NOC = "noc"
    TECHNICIAN = "technician"
    AUDITOR = "auditor"


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the token's name (the audit trail's actor), role and, for a technician, team."""

    name: str
    role: ApiRole
    team: str | None = None


@dataclass(frozen=True, slots=True)
class KdfParams:
    """scrypt cost. The default (n=2**14, r=8: 16 MiB, ~60 ms here) is for production; tests pass a cheaper one."""

    n: int = 2**14
    r: int = 8
    p: int = 1


PRODUCTION_KDF = KdfParams()


@dataclass(frozen=True, slots=True)
class TokenRecord:
    token_id: str
    name: str
    role: ApiRole
    team: str | None
    salt: bytes
    digest: bytes
    kdf: KdfParams
    created: datetime

    @property
    def principal(self) -> Principal:
        return Principal(self.name, self.role, self.team)


class TokenStore(Protocol):
    """Where token records live (the file adapter below; a database table could implement the same)."""

    def get(self, token_id: str) -> TokenRecord | None: ...

    def all(self) -> list[TokenRecord]: ...

    def add(self, record: TokenRecord) -> None: ...

    def remove(self, name: str) -> bool: ...


class TokenError(ValueError):
    """A token request that cannot be honoured (bad name, duplicate name, technician without team...)."""


def _scrypt(secret: str, salt: bytes, kdf: KdfParams) -> bytes:
    return hashlib.scrypt(
        secret.encode("ascii"), salt=salt, n=kdf.n, r=kdf.r, p=kdf.p, maxmem=256 * 1024 * 1024, dklen=32
    )


def new_token(
    name: str, role: ApiRole, team: str | None, now: datetime, kdf: KdfParams = PRODUCTION_KDF
) -> tuple[str, TokenRecord]:
    """A fresh token (shown once) and the record to store (no way back from the record to the token)."""
    if not NAME_RE.fullmatch(name):
        raise TokenError(f"bad token name {name!r}: letters, digits, _ . @ - (at most 64)")
    if role is ApiRole.TECHNICIAN and not team:
        raise TokenError("a technician token needs --team")
    if role is not ApiRole.TECHNICIAN and team:
        raise TokenError(f"only technician tokens belong to a team (role {role.value})")
    token_id = secrets.token_hex(6)
    secret = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode("ascii").rstrip("=")
    salt = secrets.token_bytes(16)
    record = TokenRecord(token_id, name, role, team, salt, _scrypt(secret, salt, kdf), kdf, now)
    return f"nqt_{token_id}_{secret}", record


def verify(token: str, record: TokenRecord) -> bool:
    m = TOKEN_RE.fullmatch(token)
    if m is None or m.group(1) != record.token_id:
        return False
    return hmac.compare_digest(_scrypt(m.group(2), record.salt, record.kdf), record.digest)


def issue(store: TokenStore, name: str, role: ApiRole, team: str | None, now: datetime,
          kdf: KdfParams = PRODUCTION_KDF) -> str:
    """Create and store a token; returns the token text, which is not kept anywhere."""
    if any(r.name == name for r in store.all()):
        raise TokenError(f"a token named {name!r} exists already")
    token, record = new_token(name, role, team, now, kdf)
    store.add(record)
    return token


class Authenticator:
    """Token text → :class:`Principal` (or None), with the per-process verification memory described above."""

    def __init__(self, store: TokenStore, max_remembered: int = 1024) -> None:
        self._store = store
        self._key = secrets.token_bytes(32)
        self._verified: OrderedDict[str, bytes] = OrderedDict()
        self._max = max_remembered

    def authenticate(self, token: str) -> Principal | None:
        m = TOKEN_RE.fullmatch(token)
        if m is None:
            return None
        record = self._store.get(m.group(1))
        if record is None:
            return None
        mark = hmac.new(self._key, token.encode("ascii"), hashlib.sha256).hexdigest()
        remembered = self._verified.get(mark)
        if remembered is not None and hmac.compare_digest(remembered, record.digest):
            self._verified.move_to_end(mark)
            return record.principal
        if not verify(token, record):
            return None
        self._verified[mark] = record.digest
        while len(self._verified) > self._max:
            self._verified.popitem(last=False)
        return record.principal


# --- the file adapter ----------------------------------------------------------------------------------


def _to_json(r: TokenRecord) -> dict[str, object]:
    return {
        "id": r.token_id,
        "name": r.name,
        "role": r.role.value,
        "team": r.team,
        "kdf": {"alg": "scrypt", "n": r.kdf.n, "r": r.kdf.r, "p": r.kdf.p},
        "salt": base64.b64encode(r.salt).decode("ascii"),
        "hash": base64.b64encode(r.digest).decode("ascii"),
        "created": r.created.isoformat(),
    }


def _from_json(d: dict[str, object]) -> TokenRecord:
    kdf = d["kdf"]
    if not isinstance(kdf, dict) or kdf.get("alg") != "scrypt":
        raise ValueError(f"token {d.get('name')!r}: unsupported kdf {kdf!r}")
    team = d.get("team")
    return TokenRecord(
        token_id=str(d["id"]),
        name=str(d["name"]),
        role=ApiRole(str(d["role"])),
        team=None if team is None else str(team),
        salt=base64.b64decode(str(d["salt"])),
        digest=base64.b64decode(str(d["hash"])),
        kdf=KdfParams(int(kdf["n"]), int(kdf["r"]), int(kdf["p"])),
        created=datetime.fromisoformat(str(d["created"])),
    )


class FileTokenStore:
    """Token records in one JSON file, re-read when it changes (so ``netqos tokens add`` needs no restart)."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._cache: tuple[tuple[int, int], dict[str, TokenRecord]] | None = None

    def _load(self) -> dict[str, TokenRecord]:
        try:
            st = self._path.stat()
        except FileNotFoundError:
            return {}
        stamp = (st.st_mtime_ns, st.st_size)
        if self._cache is not None and self._cache[0] == stamp:
            return self._cache[1]
        doc = json.loads(self._path.read_text(encoding="utf-8"))
        records = {r.token_id: r for r in map(_from_json, doc.get("tokens", []))}
        self._cache = (stamp, records)
        return records

    def _save(self, records: dict[str, TokenRecord]) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        doc = {"version": 1, "tokens": [_to_json(r) for r in records.values()]}
        fd, tmp = tempfile.mkstemp(prefix=".api-tokens.", dir=self._path.parent)
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(doc, f, ensure_ascii=False, indent=2)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self._path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        self._cache = None

    def get(self, token_id: str) -> TokenRecord | None:
        return self._load().get(token_id)

    def all(self) -> list[TokenRecord]:
        return list(self._load().values())

    def add(self, record: TokenRecord) -> None:
        records = dict(self._load())
        records[record.token_id] = record
        self._save(records)

    def remove(self, name: str) -> bool:
        records = self._load()
        kept = {k: r for k, r in records.items() if r.name != name}
        if len(kept) == len(records):
            return False
        self._save(kept)
        return True

