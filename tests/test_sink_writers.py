"""Writers against real servers (InfluxDB 1.6.7 /write, victoria-metrics /api/v2/write), and the pure
classification of outcomes."""

from __future__ import annotations

import itertools
import json
import os
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from unittest import mock

import pytest
from pydantic import SecretStr

from collectors.model import FieldValue, Sample
from collectors.sink.backoff import Backoff
from collectors.sink.influx_v1 import InfluxV1Writer
from collectors.sink.influx_v2 import InfluxV2Writer
from collectors.sink.lineproto import encode_many
from collectors.sink.outcome import (
    Rejected,
    RetryableWriteError,
    TooLarge,
    Written,
    classify,
    first_bad_line,
    refused_points,
    write_splitting,
)
from config.models import InfluxV1, InfluxV2
from tests.servers.influx import InfluxServer, free_port
from tests.servers.victoria import VictoriaServer

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
_db_numbers = itertools.count()


def fresh_db(server: InfluxServer, prefix: str) -> str:
    db = f"{prefix}_{next(_db_numbers)}"
    server.create_db(db)
    return db


def v1(server: InfluxServer, db: str) -> InfluxV1Writer:
    return InfluxV1Writer(InfluxV1(api="v1", url=server.url, database=db), timeout_s=5)


TAG_VALUES = [
    "olt-bj-01",
    "北京海淀",
    "至 上海 汇聚 10G",
    "GigabitEthernet 0/0/1",
    "a,b=c d",
    'quote"s',
    "tab\there and\rCR",
    "x\\y",
    "new\nline",
]
STORED_AS = {"new\nline": "new\\nline"}  # a line cannot hold a newline: InfluxDB keeps the two characters
FIELD_VALUES: list[tuple[str, FieldValue, str]] = [
    ("an_int", 42, "integer"),
    ("a_big_int", 2**62, "integer"),
    ("a_negative", -7, "integer"),
    ("a_float", 3.25, "float"),
    ("a_whole_float", 2.0, "float"),
    ("a_true", True, "boolean"),
    ("a_false", False, "boolean"),
    ("a_string", 'up "fine" \\ 正常', "string"),
    ("a_multiline", "line1\nline2", "string"),
]


@pytest.mark.parametrize("tag_value", TAG_VALUES)
def test_v1_write_reads_back_exactly(influx_up: InfluxServer, tag_value: str) -> None:
    db = fresh_db(influx_up, "v1rt")
    sample = Sample(
        "rt", {"device": tag_value, "site": "站点 1", "empty": ""}, {k: v for k, v, _ in FIELD_VALUES}, T0
    )
    writer = v1(influx_up, db)
    body = "\n".join(encode_many([sample])).encode()
    assert writer.write(body, 1) == Written(1)
    rows = influx_up.rows(db, 'SELECT * FROM "rt" GROUP BY *')
    assert len(rows) == 1
    row = rows[0]
    assert row["time"] == int(T0.timestamp()) * 10**9
    assert row["device"] == STORED_AS.get(tag_value, tag_value)
    assert row["site"] == "站点 1"
    assert "empty" not in row
    for key, value, _ in FIELD_VALUES:
        assert row[key] == value, key
        assert type(row[key]) is type(value) or isinstance(value, float), key
    types = {k: t for k, t in influx_up.query('SHOW FIELD KEYS FROM "rt"', db)[0]["values"]}
    assert types == {k: t for k, _, t in FIELD_VALUES}
    writer.close()


@pytest.mark.parametrize(
    ("body", "expect_line", "refused"),
    [
        (b"ok f=1i 1\nbad line here\nok f=2i 2", "bad line here", 1),  # the two good lines are stored
        (b"tc f=1i 1\ntc f=1i 2", "", 2),  # the conflict comes from an earlier write (below)
    ],
)
def test_v1_rejected_batch_names_the_bad_line(
    influx_up: InfluxServer, body: bytes, expect_line: str, refused: int
) -> None:
    db = fresh_db(influx_up, "v1bad")
    writer = v1(influx_up, db)
    if not expect_line:
        assert writer.write(b'tc f="a string" 0', 1) == Written(1)
        expect_line = "tc f=1i 1"
    outcome = writer.write(body, body.count(b"\n") + 1)
    assert isinstance(outcome, Rejected)
    assert outcome.status == 400
    assert outcome.first_bad_line == expect_line
    assert (outcome.lines, outcome.stored) == (refused, body.count(b"\n") + 1 - refused)
    writer.close()


NOW_NS = int(datetime.now(UTC).timestamp()) * 10**9
PARTIAL_CASES = [
    # id, what is already stored, the batch, retention policy, points refused
    ("type-conflict-1-of-3", b'pw f="s" 0', b"pw f=1i 1\npw f=2i 2\npw g=3i 3", "", 2),
    ("type-conflict-2-of-5", b'pw f="s" 0', b'pw f="a" 1\npw f=2i 2\npw f="b" 3\npw f=4i 4\npw g=1i 5', "", 2),
    ("unparsable-1-of-3", b"", b"pw f=1i 1\npw f= 2\npw f=3i 3", "", 1),
    ("unparsable-2-of-4", b"", b"pw f=1i 1\nnot line protocol\npw f=3i 3\nneither", "", 2),
    ("all-unparsable", b"", b"nope\nnot this either", "", 2),
    ("beyond-retention-policy", b"", b"pw f=1i 1\npw f=2i 2\npw f=3i " + str(NOW_NS).encode(), "short", 2),
    ("all-good", b"", b"pw f=1i 1\npw f=2i 2", "", 0),
]  # fmt: skip


@pytest.mark.parametrize(("case", "before", "body", "rp", "refused"), PARTIAL_CASES, ids=[c[0] for c in PARTIAL_CASES])
def test_v1_partial_write_counts_stored_and_refused_points(
    influx_up: InfluxServer, case: str, before: bytes, body: bytes, rp: str, refused: int
) -> None:
    db = fresh_db(influx_up, "v1pw")
    if rp:
        influx_up.query(f'CREATE RETENTION POLICY "{rp}" ON "{db}" DURATION 1h REPLICATION 1', db)
    writer = InfluxV1Writer(InfluxV1(api="v1", url=influx_up.url, database=db, retention_policy=rp), timeout_s=5)
    if before:
        assert writer.write(before, 1) == Written(1)
    lines = body.count(b"\n") + 1
    outcome = writer.write(body, lines)
    writer.close()
    stored_before = 1 if before else 0
    source = f'"{rp}"."pw"' if rp else '"pw"'
    in_db = influx_up.rows(db, f"SELECT * FROM {source}")
    if refused == 0:
        assert outcome == Written(lines)
    else:
        assert isinstance(outcome, Rejected) and outcome.status == 400
        assert (outcome.lines, outcome.stored) == (refused, lines - refused), outcome.message
    assert len(in_db) - stored_before == lines - refused  # what we count as stored is what the server has


@pytest.fixture(scope="module")
def small_body_influx() -> Iterator[InfluxServer]:
    """A second InfluxDB 1.6.7 whose HTTP body limit is 1,000 bytes (``max-body-size``, set through its
    ``INFLUXDB_HTTP_MAX_BODY_SIZE`` environment override): every larger write is answered 413."""
    with tempfile.TemporaryDirectory(prefix="netqos-influx413-") as tmp:
        server = InfluxServer(Path(tmp), free_port(), free_port())
        with mock.patch.dict(os.environ, {"INFLUXDB_HTTP_MAX_BODY_SIZE": str(SMALL_BODY)}):
            server.start()  # the environment is read once, at start
        try:
            yield server
        finally:
            server.stop()


SMALL_BODY = 1000


def _lines(n: int, start: int = 0, pad: int = 0) -> bytes:
    rows = range(start, start + n)
    return b"\n".join(b'big,dev=d%d seq=%di,pad="%s" %d' % (i % 3, i, b"x" * pad, i + 1) for i in rows)


SPLIT_CASES = [
    # id, body, expected (written, rejected) points
    ("fits", _lines(10), (10, 0)),
    ("twice-the-limit", _lines(60), (60, 0)),
    ("ten-times-the-limit", _lines(300), (300, 0)),
    ("one-line-over-the-limit", _lines(1, pad=2 * SMALL_BODY), (0, 1)),
    ("big-line-among-small", _lines(20) + b"\n" + _lines(1, start=20, pad=2 * SMALL_BODY) + b"\n" + _lines(20, 21),
     (40, 1)),
]  # fmt: skip


@pytest.mark.parametrize(("case", "body", "expected"), SPLIT_CASES, ids=[c[0] for c in SPLIT_CASES])
def test_413_splits_the_batch_until_it_fits(
    small_body_influx: InfluxServer, case: str, body: bytes, expected: tuple[int, int]
) -> None:
    db = fresh_db(small_body_influx, "split")
    writer = v1(small_body_influx, db)
    lines = body.count(b"\n") + 1
    assert isinstance(writer.write(body, lines), TooLarge) == (len(body) > SMALL_BODY)  # the server's own 413
    outcomes = write_splitting(writer.write, body, lines)
    writer.close()
    written = sum(o.lines for o in outcomes if isinstance(o, Written))
    rejected = [o for o in outcomes if isinstance(o, Rejected)]
    assert (written, sum(o.lines for o in rejected)) == expected
    assert all(o.status == 413 and "one line of" in o.message for o in rejected)
    assert not any(isinstance(o, TooLarge) for o in outcomes)
    assert small_body_influx.count(db, "big", "seq") == expected[0]


def test_v1_missing_database_is_retryable_not_dropped(influx_up: InfluxServer) -> None:
    writer = v1(influx_up, "no_such_db")
    with pytest.raises(RetryableWriteError) as e:
        writer.write(b"m f=1i 1", 1)
    assert e.value.status == 404


@pytest.mark.parametrize("api", ["v1", "v2"])
def test_connection_refused_is_retryable(api: str) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    writer = (
        InfluxV1Writer(InfluxV1(api="v1", url=url), timeout_s=2)
        if api == "v1"
        else InfluxV2Writer(
            InfluxV2(api="v2", url=url, org="o", bucket="b", token=SecretStr("t")), timeout_s=2
        )
    )
    with pytest.raises(RetryableWriteError):
        writer.write(b"m f=1i 1", 1)
    writer.close()


def test_v2_write_through_influxdb_client_reads_back(victoria: VictoriaServer) -> None:
    writer = InfluxV2Writer(
        InfluxV2(api="v2", url=victoria.url, org="netqos", bucket="netqos", token=SecretStr("secret")),
        timeout_s=5,
    )
    samples = [
        Sample(
            "v2if",
            {"device": "olt-北京-01", "ifname": f"GPON 0/1/{i}", "role": "olt"},
            {"in_octets": 10**9 + i, "util": i / 4, "up": i % 2 == 0},
            T0 + timedelta(seconds=i),
        )
        for i in range(4)
    ]
    assert writer.write("\n".join(encode_many(samples)).encode(), 4) == Written(4)
    writer.close()
    got = victoria.export('{__name__=~"v2if_.*"}')
    by_name: dict[str, dict[str, tuple[float, int]]] = {}
    for s in got:
        (value,), (ts,) = s.values, s.timestamps_ms
        by_name.setdefault(s.metric["__name__"], {})[s.metric["ifname"]] = (value, ts)
        assert s.metric["device"] == "olt-北京-01"
        assert s.metric["role"] == "olt"
    for i, sample in enumerate(samples):
        ts_ms = int(sample.time.timestamp() * 1000)
        ifname = f"GPON 0/1/{i}"
        assert by_name["v2if_in_octets"][ifname] == (10**9 + i, ts_ms)
        assert by_name["v2if_util"][ifname] == (i / 4, ts_ms)
        assert by_name["v2if_up"][ifname] == (1.0 if i % 2 == 0 else 0.0, ts_ms)


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (204, "written"),
        (200, "written"),
        (400, "rejected"),
        (413, "too-large"),
        (422, "rejected"),
        (401, "retry"),
        (403, "retry"),
        (404, "retry"),
        (408, "retry"),
        (429, "retry"),
        (500, "retry"),
        (502, "retry"),
        (503, "retry"),
    ],
)
def test_classify(status: int, kind: str) -> None:
    body = b"a f=1i 1\nb f=2i 2"
    if kind == "retry":
        with pytest.raises(RetryableWriteError) as e:
            classify(status, "busy", body, 2)
        assert e.value.status == status
    else:
        outcome = classify(status, '{"error":"x"}', body, 2)
        assert isinstance(outcome, {"written": Written, "rejected": Rejected, "too-large": TooLarge}[kind])
        assert outcome.lines == 2


REFUSED_CASES = [
    ("partial write: field type conflict: input field \"f\" on measurement \"m\" is type integer dropped=3", 10, 3),
    ("partial write: points beyond retention policy dropped=10", 10, 10),
    ("partial write: unable to parse 'x y': invalid field format dropped=0", 5, 1),
    ("partial write: unable to parse 'a': missing fields\nunable to parse 'b': missing fields dropped=1", 6, 3),
    ("unable to parse 'a': missing fields\nunable to parse 'b': missing fields", 2, 2),  # nothing stored
    ("partial write: max-values-per-tag limit exceeded (100000/100000): measurement=\"m\" dropped=99", 4, 4),
    ("partial write: dropped=2", 5, 2),
    ("some other 400", 7, 7),
]  # fmt: skip


@pytest.mark.parametrize(("message", "lines", "refused"), REFUSED_CASES)
def test_refused_points(message: str, lines: int, refused: int) -> None:
    assert refused_points(message, lines) == refused
    outcome = classify(400, json.dumps({"error": message}), b"\n".join([b"m f=1i 1"] * lines), lines)
    assert isinstance(outcome, Rejected) and (outcome.lines, outcome.stored) == (refused, lines - refused)


@pytest.mark.parametrize(
    ("body", "message", "line"),
    [
        (b"a f=1i 1\nb f= 2", '{"error":"unable to parse \'b f= 2\': missing field value"}', "b f= 2"),
        (
            b'm,x=1 g=1i 1\nm,x=1 f="s" 2\nm f=1i 3',
            'partial write: field type conflict: input field "f" on measurement "m" is type string, '
            "already exists as type integer dropped=1",
            'm,x=1 f="s" 2',
        ),
        (
            b"my\\ m g=1i 1\nmy\\ m,t=a\\ b h=2,f=1i 2",
            'partial write: field type conflict: input field "f" on measurement "my m" is type integer, '
            "already exists as type float dropped=1",
            "my\\ m,t=a\\ b h=2,f=1i 2",
        ),
        (b"a f=1i 1\nb f=2i 2", "something else", "a f=1i 1 (first line of the batch)"),
    ],
)
def test_first_bad_line(body: bytes, message: str, line: str) -> None:
    assert first_bad_line(body, message) == line


@pytest.mark.parametrize(
    ("attempt", "jitter", "delay"),
    [
        (0, 0.0, 0.25),
        (0, 0.999, 0.49975),
        (1, 0.0, 0.5),
        (3, 1.0, 4.0),
        (6, 1.0, 30.0),
        (10, 0.0, 15.0),
        (500, 1.0, 30.0),
    ],
)
def test_backoff(attempt: int, jitter: float, delay: float) -> None:
    assert Backoff(base_s=0.5, cap_s=30.0).delay(attempt, jitter) == pytest.approx(delay)
