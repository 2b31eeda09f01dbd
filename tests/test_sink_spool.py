"""The on-disk spool: order, acks across restarts, torn and corrupt tails, segment clean-up, the size cap."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from collectors.sink.spool import Position, Spool, SpooledRecord, decode_ack, encode_ack

MB = 1 << 20


def payloads(n: int, size: int = 10, start: int = 0) -> list[bytes]:
    return [f"m f={i}i {i}".encode().ljust(size, b"#") for i in range(start, start + n)]


def read_all(spool: Spool, cursor: Position | None = None) -> list[SpooledRecord]:
    out = []
    cursor = cursor or spool.acked
    while (rec := spool.read_next(cursor)) is not None:
        out.append(rec)
        cursor = rec.end
    return out


def segments(d: Path) -> list[str]:
    return sorted(p.name for p in d.glob("*.seg"))


@pytest.mark.parametrize("n", [1, 5, 300])
def test_records_come_back_in_order(tmp_path: Path, n: int) -> None:
    sp = Spool(tmp_path, max_bytes=MB)
    want = payloads(n, size=1000)  # 300 kB: crosses 64 kB segments
    for p in want:
        sp.append(p)
    assert [r.payload for r in read_all(sp)] == want
    sp.close()


@pytest.mark.parametrize("acked", [0, 1, 4, 5])
def test_restart_replays_exactly_the_unacked(tmp_path: Path, acked: int) -> None:
    sp = Spool(tmp_path, max_bytes=MB)
    recs = [sp.append(p) for p in payloads(5)]
    if acked:
        sp.ack(recs[acked - 1].end)
    sp.close()
    again = Spool(tmp_path, max_bytes=MB)
    assert [r.payload for r in read_all(again)] == payloads(5)[acked:]
    new = again.append(b"after restart")
    assert [r.payload for r in read_all(again)][-1] == b"after restart"
    again.ack(new.end)
    again.close()
    assert read_all(Spool(tmp_path, max_bytes=MB)) == []


@pytest.mark.parametrize("cut", [1, 7, 8, 12, 17])
def test_torn_tail_after_a_crash_is_skipped(
    tmp_path: Path, cut: int, caplog: pytest.LogCaptureFixture
) -> None:
    sp = Spool(tmp_path, max_bytes=MB)
    for p in payloads(3, size=20):
        sp.append(p)
    sp.sync()
    seg = tmp_path / segments(tmp_path)[0]
    # the crash: the last record (8 header + 20 payload bytes) only partly reached the disk
    os.truncate(seg, seg.stat().st_size - 28 + cut)
    again = Spool(tmp_path, max_bytes=MB)
    with caplog.at_level(logging.ERROR):
        assert [r.payload for r in read_all(again)] == payloads(3, size=20)[:2]
    assert "torn" in caplog.text
    again.append(b"next run")
    assert [r.payload for r in read_all(again)] == [*payloads(3, size=20)[:2], b"next run"]


@pytest.mark.parametrize("where", ["header", "payload"])
def test_corrupt_record_skips_the_rest_of_its_segment(
    tmp_path: Path, where: str, caplog: pytest.LogCaptureFixture
) -> None:
    sp = Spool(tmp_path, max_bytes=MB)
    for p in payloads(3, size=20):
        sp.append(p)
    sp.close()
    seg = tmp_path / segments(tmp_path)[0]
    data = bytearray(seg.read_bytes())
    data[28 + (5 if where == "header" else 12)] ^= 0x40  # inside the second record
    seg.write_bytes(bytes(data))
    again = Spool(tmp_path, max_bytes=MB)
    again.append(b"later")
    with caplog.at_level(logging.ERROR):
        assert [r.payload for r in read_all(again)] == [payloads(1, size=20)[0], b"later"]
    assert "corrupt" in caplog.text or "torn" in caplog.text


def test_fully_acked_segments_are_deleted(tmp_path: Path) -> None:
    sp = Spool(tmp_path, max_bytes=MB)  # 64 kB segments
    recs = [sp.append(p) for p in payloads(200, size=1000)]
    before = len(segments(tmp_path))
    assert before >= 3
    sp.ack(recs[99].end)
    middle = len(segments(tmp_path))
    assert 1 < middle < before
    sp.ack(recs[-1].end)
    assert len(segments(tmp_path)) == 1  # only the active segment
    sp.close()
    assert segments(tmp_path) == []


def test_over_the_cap_the_oldest_is_dropped_loudly(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    sp = Spool(tmp_path, max_bytes=MB)
    n = 1500  # 1.5 MB of 1 kB records into a 1 MB spool
    with caplog.at_level(logging.ERROR):
        for p in payloads(n, size=1000):
            sp.append(p)
    assert sp.size_bytes <= MB
    assert "SPOOL FULL" in caplog.text
    got = [r.payload for r in read_all(sp)]
    stats = sp.stats()
    assert stats.dropped_records == n - len(got) > 0
    assert got == payloads(n, size=1000)[n - len(got) :]  # the newest survive, in order
    assert len(got) * 1008 > MB * 0.8  # only what is beyond the cap (plus one segment) is dropped


@pytest.mark.parametrize("pos", [Position(0, 0), Position(3, 12345), Position(2**40, 2**33)])
def test_ack_round_trip(pos: Position) -> None:
    assert decode_ack(encode_ack(pos)) == pos


@pytest.mark.parametrize("damage", [b"", b"x" * 20, b"\0" * 20])
def test_damaged_ack_replays_everything(tmp_path: Path, damage: bytes) -> None:
    sp = Spool(tmp_path, max_bytes=MB)
    recs = [sp.append(p) for p in payloads(3)]
    sp.ack(recs[0].end)
    sp.close()
    (tmp_path / "ack").write_bytes(damage)
    assert len(read_all(Spool(tmp_path, max_bytes=MB))) == 3
