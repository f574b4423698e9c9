"""Voice over a V.253 modem's serial port: pyserial on a real pseudo-terminal, with a fake modem on the master side
(framing byte for byte) or the modem emulator behind a ModemLine that lends its port."""

from __future__ import annotations

import contextlib
import os
import queue
import random
import select
import subprocess
import threading
import time
import tty
from array import array

import pytest
import serial

from appliance.audio.player import AlsaPlayer
from appliance.audio.recorder import AlsaRecorder
from appliance.audio.serial_audio import SerialAudio, VoiceModemError
from appliance.audio.voice_format import DleReader, from_modem, pick_format, to_modem
from appliance.config import LineConfig
from appliance.core.events import (
    CallAnswered,
    CallerId,
    DtmfReceived,
    IncomingCall,
    LineUp,
    PromptFinished,
    RecordingFinished,
    RemoteHangup,
)
from appliance.modem.line import ModemError, ModemLine
from appliance.service.line_audio import line_audio
from appliance.sim.emulator import ModemEmulator
from tests.support.waiting import wait_until

CONEXANT = ['128,"8-BIT LINEAR",(7200,8000,11025)', '129,"16-BIT LINEAR",(7200,8000,11025)',
            '130,"8-BIT ALAW",(8000)', '131,"8-BIT ULAW",(8000)', '132,"IMA ADPCM",(7200,8000,11025)']
DLE = b"\x10"


class FakeModem(threading.Thread):
    """Answers AT+VSM / AT+VTX / AT+VRX on the pty master like a Conexant voice modem, and keeps what it got."""

    def __init__(self, fd: int, formats: list[str]) -> None:
        super().__init__(daemon=True)
        self.fd = fd
        self.formats = formats
        self.commands: list[str] = []
        self.transmitted: list[bytes] = []  # the framed bytes of each AT+VTX, up to and with its end
        self.received_end: list[bytes] = []  # how each AT+VRX was stopped
        self.to_send = b""  # framed audio to stream for AT+VRX, 160 bytes per 20 ms
        self.codes_during_vtx = b""  # sent once the first period of a prompt has arrived
        self.stop = threading.Event()

    def send(self, data: bytes) -> None:
        os.write(self.fd, data)

    def read(self) -> bytes:
        return os.read(self.fd, 4096)

    def run(self) -> None:
        buf = b""
        try:
            while not self.stop.is_set():
                buf += self.read()
                while b"\r" in buf:
                    line, _, buf = buf.partition(b"\r")
                    buf = self.handle(line.decode(), buf)
        except OSError:
            return

    def handle(self, line: str, rest: bytes) -> bytes:
        self.commands.append(line)
        if line == "AT+VSM=?":
            self.send(b"\r\n" + b"\r\n".join(f.encode() for f in self.formats) + b"\r\n\r\nOK\r\n")
        elif line.startswith("AT+VSM="):
            cml = line[7:].split(",")[0]
            ok = any(f.startswith(cml + ",") for f in self.formats) and cml != "132"
            self.send(b"\r\nOK\r\n" if ok else b"\r\nERROR\r\n")
        elif line == "AT+VTX":
            self.send(b"\r\nCONNECT\r\n")
            return self.take_transmission(rest)
        elif line == "AT+VRX":
            self.send(b"\r\nCONNECT\r\n")
            return self.stream(rest)
        else:
            self.send(b"\r\nOK\r\n")
        return b""

    def take_transmission(self, got: bytes) -> bytes:
        codes_sent = False
        while True:
            i = 0
            while i < len(got) - 1:  # <DLE><DLE> is a sample; <DLE><ETX> ends the stream
                if got[i:i + 1] == DLE:
                    if got[i + 1] == 0x03:
                        self.transmitted.append(got[:i + 2])
                        self.send(b"\r\nOK\r\n")
                        return got[i + 2:]
                    i += 2
                else:
                    i += 1
            if not codes_sent and len(got) >= 320 and self.codes_during_vtx:
                self.send(self.codes_during_vtx)
                codes_sent = True
            got += self.read()

    def stream(self, got: bytes) -> bytes:
        os.set_blocking(self.fd, False)
        try:
            for offset in range(0, len(self.to_send) + 1, 160):
                self.send(self.to_send[offset:offset + 160])
                time.sleep(0.02)  # the modem's own pace: 160 samples per 20 ms
                with contextlib.suppress(BlockingIOError):
                    got += self.read()
                if DLE + b"!" in got:
                    break
            while DLE + b"!" not in got:
                select.select([self.fd], [], [], 0.5)  # until the host writes again (its <DLE>! ends the stream)
                with contextlib.suppress(BlockingIOError):
                    got += self.read()
        finally:
            os.set_blocking(self.fd, True)
        self.received_end.append(got)
        self.send(DLE + b"\x03\r\nOK\r\n")
        return b""


@pytest.fixture
def modem():
    made = []

    def make(formats: list[str] = CONEXANT, **kw) -> tuple[SerialAudio, FakeModem, queue.Queue]:
        master, slave = os.openpty()
        tty.setraw(slave)
        port = serial.Serial(os.ttyname(slave), 115200)
        fake = FakeModem(master, formats)
        fake.start()
        events: queue.Queue = queue.Queue()
        audio = SerialAudio("pots1", lambda: contextlib.nullcontext(port), post=events.put, **kw)
        made.append((audio, fake, port, master, slave))
        return audio, fake, events

    yield make
    for audio, fake, port, master, slave in made:
        audio.close()
        fake.stop.set()
        port.close()
        os.close(master)
        os.close(slave)


def ramp(seconds: float) -> bytes:
    return array("h", ((i * 37) % 20000 - 10000 for i in range(int(8000 * seconds)))).tobytes()


def test_the_best_format_the_modem_lists_is_chosen():
    assert pick_format(CONEXANT, 8000, ("s16", "ulaw", "alaw", "u8")) == [
        ("s16", 129), ("ulaw", 131), ("alaw", 130), ("u8", 128)]
    assert pick_format(CONEXANT, 11025, ("ulaw", "u8")) == [("u8", 128)]  # G.711 only at 8 kHz
    v253 = ['+VSM: 0,"SIGNED PCM",8,0,8000,0,0', '+VSM: 1,"UNSIGNED PCM",8,0,(8000),0,0',
            '+VSM: 4,"G.711U",8,0,(8000),0,0']
    assert pick_format(v253, 8000, ("s16", "ulaw", "u8")) == [("ulaw", 4), ("u8", 1)]


def test_open_selects_16_bit_linear_at_8_khz(modem):
    audio, fake, _ = modem()
    audio.open()
    assert audio.format == "s16" and fake.commands == ["AT+VSM=?", "AT+VSM=129,8000"]


def test_a_refused_format_falls_back_to_the_next(modem):
    audio, fake, _ = modem(['132,"IMA ADPCM",(8000)', '128,"8-BIT LINEAR",(8000)'], prefer=("u8",))
    audio.open()
    assert audio.format == "u8" and fake.commands[-1] == "AT+VSM=128,8000"


def test_a_modem_without_usable_formats_is_an_error_naming_the_line(modem):
    audio, _, _ = modem(['132,"IMA ADPCM",(8000)'])
    with pytest.raises(VoiceModemError, match="pots1"):
        audio.open()


@pytest.mark.parametrize("fmt", ["s16", "u8", "ulaw"])
def test_a_prompt_goes_out_with_dle_doubled_and_ends_with_dle_etx(modem, fmt):
    audio, fake, events = modem(prefer=(fmt,))
    # Samples whose bytes are 0x10 in every format: the framing must double them, nothing else.
    dle_in_ulaw = array("h", from_modem(DLE, "ulaw"))[0]
    prompt = array("h", [0x1010, -28672, 4096, 0x10, dle_in_ulaw] * 90).tobytes() + ramp(0.05)
    audio.play("hello", prompt)
    assert events.get(timeout=5) == PromptFinished("pots1", "hello")
    padded = prompt + b"\x00" * (-len(prompt) % 320)
    body = to_modem(padded, fmt)
    assert DLE in body
    assert fake.transmitted == [body.replace(DLE, DLE + DLE) + DLE + b"\x03"]
    assert "AT+VTX" in fake.commands


def test_barge_in_cancels_the_modem_buffer_within_one_period(modem):
    audio, fake, events = modem()
    audio.play("menu", ramp(3.0))
    wait_until(lambda: audio.frames_sent >= 1600, what="0.2 s of the prompt sent")
    audio.stop()
    sent = audio.frames_sent
    wait_until(lambda: fake.transmitted, timeout=5, what="the modem's buffer cancelled")
    assert fake.transmitted[0].endswith(DLE + b"\x18" + DLE + b"\x03")  # <DLE><CAN><DLE><ETX>
    assert audio.frames_sent - sent <= 160 and audio.frames_sent < 8000 * 1.5
    with pytest.raises(queue.Empty):
        events.get(timeout=0.2)


def test_keys_and_busy_tone_during_a_prompt_become_events(modem):
    audio, fake, events = modem()
    fake.codes_during_vtx = DLE + b"5" + DLE + b"r" + DLE + b"b"  # r (ringback) means nothing here
    audio.play("menu", ramp(1.0), loop=True)
    assert events.get(timeout=5) == DtmfReceived("pots1", "5")
    assert events.get(timeout=5) == RemoteHangup("pots1", "busy tone: caller hung up")
    audio.stop()


def test_voicemail_over_at_vrx_through_the_recorder(modem, tmp_path):
    audio, fake, events = modem(prefer=("ulaw",))
    audio.open()
    rnd = random.Random(3)
    said = bytes(rnd.choice([0x10, 0x20, 0x35, 0xA0, 0xB5, 0x90]) for _ in range(8000))  # loud u-law
    quiet = bytes([0xFF]) * 8000  # u-law zero
    framed = said.replace(DLE, DLE + DLE) + DLE + b"7" + quiet.replace(DLE, DLE + DLE)
    fake.to_send = framed
    rec = AlsaRecorder("pots1", "modem", post=events.put, open_pcm=audio.open_capture)
    try:
        rec.start(str(tmp_path / "vm.flac"), max_seconds=30, silence_seconds=0.5, min_seconds=0.5)
        assert events.get(timeout=10) == DtmfReceived("pots1", "7")
        done = events.get(timeout=10)
        assert isinstance(done, RecordingFinished) and done.reason == "silence"
        audio_back = subprocess.run(
            ["flac", "-d", "--silent", "--force-raw-format", "--endian=little", "--sign=signed", "-c", done.path],
            capture_output=True, check=True).stdout
        assert audio_back == from_modem(said + quiet, "ulaw")[:len(audio_back)]
        assert len(audio_back) >= len(said) * 2
        wait_until(lambda: fake.received_end, timeout=5, what="the modem told to stop receiving")
        assert fake.received_end and fake.received_end[0].endswith(DLE + b"!")  # the modem was told to stop
        assert "AT+VRX" in fake.commands
    finally:
        rec.close()


@pytest.mark.parametrize(("fmt", "encoding"), [("ulaw", "mu-law"), ("alaw", "a-law"), ("u8", "unsigned")])
def test_sample_conversion_matches_sox(fmt, encoding):
    pcm = array("h", range(-32768, 32768, 7)).tobytes()
    line = ["-t", "raw", "-r", "8000", "-c", "1", "-e", "signed", "-b", "16", "-L"]
    modem = ["-t", "raw", "-r", "8000", "-c", "1", "-e", encoding, "-b", "8"]
    encoded = subprocess.run(["sox", "-D", *line, "-", *modem, "-"], input=pcm, capture_output=True,
                             check=True).stdout
    assert to_modem(pcm, fmt) == encoded
    decoded = subprocess.run(["sox", "-D", *modem, "-", *line, "-"], input=encoded, capture_output=True,
                             check=True).stdout
    assert from_modem(encoded, fmt) == decoded


def test_opening_the_recorder_at_boot_does_not_start_receiving(modem, tmp_path):
    audio, fake, events = modem()
    rec = AlsaRecorder("pots1", "modem", post=events.put, open_pcm=audio.open_capture)
    try:
        rec.open()
        audio.open()
        time.sleep(0.2)  # the behaviour is an absence: a capture started without a call would send AT+VRX by now
        assert "AT+VRX" not in fake.commands
    finally:
        rec.close()


def test_dle_framing_split_anywhere_reads_the_same():
    framed = b"ab" + DLE + DLE + b"c" + DLE + b"5" + DLE + b"\x1a" + b"d" + DLE + b"\x03" + b"\r\nOK\r\n"
    whole = DleReader().feed(framed)
    assert whole == (b"ab\x10c\x10\x10d", ["5"], len(framed) - 6)
    for cut in range(1, len(framed)):
        reader = DleReader()
        first = reader.feed(framed[:cut])
        if first[2] is not None:  # the end was in the first piece
            assert first == (whole[0], whole[1], whole[2])
            continue
        second = reader.feed(framed[cut:])
        assert (first[0] + second[0], first[1] + second[1], cut + second[2]) == whole


# --- a V.253 line against the modem emulator: the port borrowed from ModemLine -------------------


@pytest.fixture
def landline():
    emulator = ModemEmulator("v253")
    emulator.start()
    events: queue.Queue = queue.Queue()
    line = ModemLine("pots1", emulator.port, post=events.put, dialect="v253")
    line.start()
    assert events.get(timeout=5) == LineUp("pots1")
    yield emulator, line, events
    line.close()
    emulator.stop()


def next_of(events: queue.Queue, kind: type, timeout: float = 5.0):
    deadline = time.monotonic() + timeout
    while True:
        event = events.get(timeout=max(0.01, deadline - time.monotonic()))
        if isinstance(event, kind):
            return event


def test_borrow_lends_the_port_exclusively_and_the_line_reads_again_after(landline):
    emulator, line, events = landline
    with line.borrow() as port:
        port.write(b"AT+VSM=?\r")
        emulator.incoming_call("5551234")  # arrives while lent: the borrower reads it, the line does not
        line.dial("5550000")  # queued: must wait until the port comes back
        got = b""
        deadline = time.monotonic() + 5
        while b"NMBR" not in got or b"OK" not in got:
            assert time.monotonic() < deadline, got
            got += port.read(max(1, port.in_waiting))
        assert b'129,"16-BIT LINEAR"' in got and b"RING" in got
        assert not emulator.wait_for("ATDT", timeout=0.3)
        with pytest.raises(queue.Empty):
            events.get(timeout=0.1)
    assert emulator.wait_for("ATDT5550000", timeout=5)
    emulator.script.remote_hangup()
    emulator.incoming_call("5557777")
    assert next_of(events, IncomingCall).caller is None  # NMBR comes after the first RING
    assert next_of(events, CallerId) == CallerId("pots1", "5557777")


def test_borrow_from_a_line_that_is_not_running_names_the_line():
    line = ModemLine("pots9", "/dev/null-modem", post=lambda e: None, dialect="v253")
    with pytest.raises(ModemError, match="pots9"), line.borrow():
        pass


def test_line_audio_picks_the_serial_port_for_v253_and_alsa_for_gsm(landline):
    emulator, line, events = landline
    pots = LineConfig("pots1", emulator.port, "v253", 115200, False, None, None, "hw:9", "hw:9")
    player, recorder = line_audio(pots, line, post=events.put)
    try:
        assert isinstance(player, SerialAudio) and not recorder.detect_dtmf
    finally:
        player.close()
        recorder.close()
    gsm = LineConfig("gsm1", "/dev/ttyUSB2", "sim800", 115200, False, None, None, "plughw:1", "plughw:2",
                     software_dtmf=True)
    player, recorder = line_audio(gsm, None, post=events.put)
    try:
        assert isinstance(player, AlsaPlayer) and player.device == "plughw:1"
        assert recorder.device == "plughw:2" and recorder.detect_dtmf
    finally:
        player.close()
        recorder.close()


def test_voicemail_over_a_landline_ends_on_hash_and_the_busy_tone_hangs_up(landline, tmp_path):
    emulator, line, events = landline
    emulator.voice.formats = [f for f in emulator.voice.formats if "ALAW" in f]
    pots = LineConfig("pots1", emulator.port, "v253", 115200, False, None, None, "null", "null")
    audio, rec = line_audio(pots, line, post=events.put)
    try:
        audio.open()
        assert audio.format == "alaw"
        emulator.incoming_call("5551234")
        next_of(events, IncomingCall)
        assert next_of(events, CallAnswered) == CallAnswered("pots1")
        speech = ramp(1.0)
        emulator.voice.caller_says(speech)
        # Silence never ends these recordings first: the key and the hang-up must, however late a loaded machine
        # lets the test send them.
        rec.start(str(tmp_path / "vm.flac"), max_seconds=60, silence_seconds=50, min_seconds=0.5)
        assert emulator.wait_for("AT+VRX", timeout=5)
        wait_until(lambda: rec.frames_captured >= 8000, what="the caller's second of speech captured")
        emulator.send_dtmf("#")  # <DLE># mid-stream, read by SerialAudio and handed to the line
        assert next_of(events, DtmfReceived) == DtmfReceived("pots1", "#")
        rec.key("#")  # what the daemon does with every key
        done = next_of(events, RecordingFinished, timeout=10)
        assert done.reason == "key" and done.path
        kept = subprocess.run(
            ["flac", "-d", "--silent", "--force-raw-format", "--endian=little", "--sign=signed", "-c", done.path],
            capture_output=True, check=True).stdout
        heard = from_modem(to_modem(speech, "alaw"), "alaw")
        assert len(kept) >= len(heard) // 2 and kept[:len(heard)] == heard[:len(kept)]

        # The caller hangs up while the recorder still listens: the busy tone ends the call and the line.
        rec.start(str(tmp_path / "vm2.flac"), max_seconds=60, silence_seconds=50, min_seconds=0.5)
        assert emulator.voice.wait(lambda v: v.mode == "rx", timeout=10)
        emulator.remote_hangup()
        assert next_of(events, RemoteHangup) == RemoteHangup("pots1", "busy tone: caller hung up")
        rec.stop()
        assert emulator.voice.wait(lambda v: v.mode is None, timeout=5), "AT+VRX ended"
        assert emulator.voice.receptions and set(emulator.voice.receptions) == {"!"}
        assert emulator.wait_for("ATH", timeout=5), "on-hook after the busy tone"
    finally:
        rec.close()
        audio.close()
