"""Spool record framing: round trips, torn writes at every byte, corruption anywhere."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from collectors.sink.framing import HEADER_SIZE, Tail, decode, decode_one, encode_record

PAYLOADS = [b"x", b"m f=1i 1", "m,站点=北京\\ 海淀 f=1i 1\nm f=2i 2".encode(), bytes(range(256)) * 40]


@pytest.mark.parametrize("payloads", [PAYLOADS[:1], PAYLOADS[:2], PAYLOADS, PAYLOADS[::-1]])
def test_round_trip(payloads: list[bytes]) -> None:
    buf = b"".join(encode_record(p) for p in payloads)
    got = decode(buf)
    assert [r.payload for r in got.records] == payloads
    assert got.tail is Tail.CLEAN
    assert got.end == len(buf)


@given(st.lists(st.binary(min_size=1, max_size=300), min_size=1, max_size=8))
def test_round_trip_any(payloads: list[bytes]) -> None:
    assert [r.payload for r in decode(b"".join(encode_record(p) for p in payloads)).records] == payloads


@pytest.mark.parametrize("payload", PAYLOADS)
def test_torn_tail_at_every_byte_keeps_the_good_prefix(payload: bytes) -> None:
    good = encode_record(b"first record")
    last = encode_record(payload)
    for cut in range(1, len(last)):
        got = decode(good + last[:cut])
        assert [r.payload for r in got.records] == [b"first record"], cut
        assert got.tail is Tail.TORN
        assert got.end == len(good)


@pytest.mark.parametrize("payload", PAYLOADS)
def test_a_flipped_bit_anywhere_is_caught(payload: bytes) -> None:
    rec = encode_record(payload)
    for i in range(len(rec)):
        for bit in (0x01, 0x80):
            damaged = bytearray(rec)
            damaged[i] ^= bit
            got = decode(bytes(damaged))
            assert got.records == (), (i, bit)
            assert got.tail in (Tail.CORRUPT, Tail.TORN)


@pytest.mark.parametrize(
    ("buf", "tail"),
    [
        (b"", Tail.CLEAN),
        (b"\0" * 3, Tail.TORN),
        (b"\0" * HEADER_SIZE, Tail.CORRUPT),  # zero-filled tail after a crash
        (b"\0" * 4096, Tail.CORRUPT),
        (b"\xff" * HEADER_SIZE, Tail.CORRUPT),  # absurd length
    ],
)
def test_garbage_is_not_a_record(buf: bytes, tail: Tail) -> None:
    assert decode_one(buf, 0) == tail


def test_empty_payload_is_refused() -> None:
    with pytest.raises(ValueError):
        encode_record(b"")


def test_decode_from_an_offset() -> None:
    a, b = encode_record(b"a"), encode_record(b"bb")
    got = decode(a + b, len(a))
    assert [r.payload for r in got.records] == [b"bb"]
    assert got.records[0].offset == len(a)
