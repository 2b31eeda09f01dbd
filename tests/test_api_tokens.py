"""API tokens: shown once, stored only as salted scrypt hashes in a 0600 JSON file; checks and revocation."""

from __future__ import annotations

import base64
import hashlib
import json
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from alarms.api.tokens import (
    PRODUCTION_KDF,
    ApiRole,
    Authenticator,
    FileTokenStore,
    KdfParams,
    Principal,
    TokenError,
    issue,
    verify,
)
from tests.api_world import CHEAP, NOW


@pytest.fixture
def path() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="netqos-tokens-") as d:
        yield Path(d) / "var" / "api-tokens.json"


def test_file_holds_salted_scrypt_hashes_only(path: Path) -> None:
    store = FileTokenStore(path)
    a = issue(store, "noc-a", ApiRole.NOC, None, NOW, CHEAP)
    b = issue(store, "noc-b", ApiRole.NOC, None, NOW, CHEAP)
    text = path.read_text()
    doc = json.loads(text)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    secrets = [t.split("_", 2)[2] for t in (a, b)]
    for token, secret in zip((a, b), secrets, strict=True):
        assert token not in text and secret not in text
        assert hashlib.sha256(secret.encode()).hexdigest() not in text
    records = doc["tokens"]
    assert [r["kdf"]["alg"] for r in records] == ["scrypt", "scrypt"]
    assert records[0]["salt"] != records[1]["salt"] and len(base64.b64decode(records[0]["salt"])) == 16
    for r, secret in zip(records, secrets, strict=True):
        k = r["kdf"]
        expected = hashlib.scrypt(secret.encode(), salt=base64.b64decode(r["salt"]), n=k["n"], r=k["r"], p=k["p"],
                                  dklen=32)
        assert base64.b64decode(r["hash"]) == expected


def test_production_cost() -> None:
    assert (PRODUCTION_KDF.n, PRODUCTION_KDF.r, PRODUCTION_KDF.p) == (2**14, 8, 1)


@pytest.mark.parametrize(("name", "role", "team", "error"), [
    ("tech", ApiRole.TECHNICIAN, None, "needs --team"),
    ("noc", ApiRole.NOC, "field-east", "only technician"),
    ("auditor", ApiRole.AUDITOR, "field-east", "only technician"),
    ("bad name", ApiRole.NOC, None, "bad token name"),
    ("", ApiRole.NOC, None, "bad token name"),
    ("dup", ApiRole.NOC, None, "exists already"),
])
def test_refused_tokens(path: Path, name: str, role: ApiRole, team: str | None, error: str) -> None:
    store = FileTokenStore(path)
    issue(store, "dup", ApiRole.AUDITOR, None, NOW, CHEAP)
    with pytest.raises(TokenError, match=error):
        issue(store, name, role, team, NOW, CHEAP)
    assert [r.name for r in store.all()] == ["dup"]


def test_authenticate(path: Path) -> None:
    store = FileTokenStore(path)
    tech = issue(store, "zhang.wei", ApiRole.TECHNICIAN, "field-east", NOW, CHEAP)
    noc = issue(store, "noc", ApiRole.NOC, None, NOW, KdfParams(n=2**11, r=4, p=2))
    auth = Authenticator(FileTokenStore(path))  # another process's view of the same file
    tid, secret = tech.split("_")[1], tech.split("_", 2)[2]
    flipped = secret[:-1] + ("A" if secret[-1] != "A" else "B")
    cases: list[tuple[str, Principal | None]] = [
        (tech, Principal("zhang.wei", ApiRole.TECHNICIAN, "field-east")),
        (tech, Principal("zhang.wei", ApiRole.TECHNICIAN, "field-east")),  # remembered
        (noc, Principal("noc", ApiRole.NOC, None)),
        (f"nqt_{tid}_{flipped}", None),
        (f"nqt_{noc.split('_')[1]}_{secret}", None),  # another token's id
        (tech + "x", None),
        (tech.upper(), None),
        ("", None),
    ]
    for token, expected in cases:
        assert auth.authenticate(token) == expected, token
    record = store.get(tid)
    assert record is not None and verify(tech, record) and not verify(noc, record)


def test_changed_record_is_not_taken_from_memory(path: Path) -> None:
    """A remembered token stops working when its stored record changes (re-issued with the same id)."""
    store = FileTokenStore(path)
    token = issue(store, "noc", ApiRole.NOC, None, NOW, CHEAP)
    auth = Authenticator(store)
    assert auth.authenticate(token) is not None
    doc = json.loads(path.read_text())
    doc["tokens"][0]["hash"] = base64.b64encode(b"\0" * 32).decode()
    path.write_text(json.dumps(doc))
    assert auth.authenticate(token) is None
