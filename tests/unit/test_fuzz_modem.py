"""Whatever a glitching UART or a strange firmware sends, the modem side reads it without an exception.

Random bytes, and real response transcripts (tests/support/transcripts/*.txt) with bytes flipped, cut and
inserted, go through the line splitter and every dialect's report parser; random hex goes through
the SMS PDU decoder and the USSD text decoder.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from appliance.modem import sms_pdu, ussd
from appliance.modem.at import PROMPT, DleEvent, LineSplitter
from appliance.modem.dialects import DIALECTS, dialect_named
from appliance.modem.dialects.base import Happening
from tests import support

TRANSCRIPTS = {p.stem: p for p in support.TRANSCRIPTS.glob("*.txt")}
FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def modem_lines(name: str) -> list[bytes]:
    """The modem's side of a transcript: each `< line` as the bytes it sent."""
    return [line[2:].encode() for line in TRANSCRIPTS[name].read_text().splitlines() if line.startswith("< ")]


def read_all(dialect_name: str, chunks: list[bytes]) -> list[object]:
    """What the line makes of a byte stream: tokens from the splitter, happenings from the dialect."""
    splitter, dialect = LineSplitter(dialect_name, max_line=256), dialect_named(dialect_name)
    happenings: list[object] = []
    for chunk in chunks:
        for token in splitter.feed(chunk):
            assert isinstance(token, str | DleEvent)
            if isinstance(token, str) and token != PROMPT:  # "> ", the SMS text prompt
                assert token and token == token.strip() and len(token.encode()) <= 256
                assert not any(ord(c) < 0x20 and c != "\t" for c in token), token
            happenings += dialect.parse(token)
    assert all(isinstance(h, Happening) for h in happenings), happenings
    return happenings


@FUZZ
@given(dialect=st.sampled_from(sorted(DIALECTS)), chunks=st.lists(st.binary(max_size=300), max_size=20))
def test_random_bytes_never_break_the_parser(dialect, chunks):
    read_all(dialect, chunks)


def mutate(data: bytes, edits: list[tuple[int, int, int]]) -> bytes:
    """Apply (kind, position, byte) edits: 0 flips a byte, 1 inserts one, 2 deletes one, 3 cuts the rest."""
    out = bytearray(data)
    for kind, position, byte in edits:
        at = position % (len(out) + 1)
        if kind == 0 and at < len(out):
            out[at] = byte
        elif kind == 1:
            out.insert(at, byte)
        elif kind == 2 and at < len(out):
            del out[at]
        elif kind == 3:
            del out[at:]
    return bytes(out)


@FUZZ
@given(
    name=st.sampled_from(sorted(TRANSCRIPTS)),
    picks=st.lists(st.tuples(st.integers(0, 10_000), st.lists(
        st.tuples(st.integers(0, 3), st.integers(0, 400), st.integers(0, 255)), max_size=4)), min_size=1, max_size=12),
    ending=st.sampled_from([b"\r\n", b"\r", b"\n", b"\r\r", b""]),
    split_at=st.integers(1, 64),
)
def test_mutated_transcripts_never_break_the_parser(name, picks, ending, split_at):
    lines = modem_lines(name)
    stream = b"".join(mutate(lines[i % len(lines)], edits) + ending for i, edits in picks)
    chunks = [stream[i:i + split_at] for i in range(0, len(stream), split_at)]
    read_all(name, chunks)


def test_unmutated_transcripts_still_mean_something():
    """The fuzzing above starts from real reports: each transcript yields happenings, not just silence."""
    for name in TRANSCRIPTS:
        stream = b"".join(line + b"\r\n" for line in modem_lines(name))
        assert read_all(name, [stream]), name


@FUZZ
@given(st.one_of(st.binary(max_size=180).map(bytes.hex), st.text(max_size=80)))
def test_sms_pdu_decoder_answers_a_message_or_a_value_error(text):
    try:
        message = sms_pdu.decode(text)
    except ValueError as exc:
        assert "not an SMS PDU" in str(exc)
    else:
        assert isinstance(message, sms_pdu.Message)


@FUZZ
@given(text=st.one_of(st.binary(max_size=120).map(bytes.hex), st.text(max_size=120)), dcs=st.integers(0, 255))
def test_ussd_text_decoder_always_answers_text(text, dcs):
    assert isinstance(ussd.decode(text, dcs), str)


TEXT = st.lists(st.sampled_from([b"\r", b"\n", b"RING", b"+CLIP: \"+79161234567\",145", b"OK", b"> ", b">", b"\t",
                                 b"\x07", b"\xff", "Баланс".encode(), b"x" * 70]), max_size=30).map(b"".join)


@FUZZ
@given(stream=st.one_of(TEXT, st.binary(max_size=600)).map(lambda b: b.replace(b"\x10", b"")),
       cuts=st.lists(st.integers(0, 600), max_size=8))
def test_whole_lines_at_a_time_read_as_one_byte_at_a_time(stream, cuts):
    """Text with no <DLE> is split a line at a time (for the RING the caller waits on): the same tokens, and
    the same lines skipped, as the byte-at-a-time reading every other stream gets, however the reads cut it."""
    bounds = sorted({0, len(stream), *(c for c in cuts if c < len(stream))})
    chunks = [stream[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]
    lines, bytewise = LineSplitter(max_line=64), LineSplitter(max_line=64)
    assert [t for c in chunks for t in lines.feed(c)] == [t for c in chunks for t in bytewise._feed_bytes(c)]
    assert lines.skipped == bytewise.skipped
