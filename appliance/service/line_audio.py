"""Which player and recorder a line gets: a sound card, the GSM modem's USB voice port, or a V.253 modem's port.

`[[lines]] audio` chooses for a GSM line: "alsa" (a USB sound card on the modem's analogue pins), "uac" (the
modem's own USB sound card, Quectel after AT+QPCMV=1,2: ALSA too, named in audio_out/audio_in) or "serial"
(the modem's USB voice port, voice_port.py). The switching commands are the modem side's (modem/voice_switch.py).
A V.253 voice modem on an analogue line carries
the prompts and the caller's voice over its serial port (AT+VTX / AT+VRX), borrowed from the line's AT
engine for each session, and reports keys itself as <DLE> codes, so it needs no software DTMF receiver.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..audio.player import AlsaPlayer
from ..audio.recorder import LINE_PERIOD_FRAMES, AlsaRecorder

if TYPE_CHECKING:
    from ..audio.serial_audio import SerialAudio
    from ..config import LineConfig
    from ..modem.line import ModemLine

SERIAL_AUDIO_DIALECTS = frozenset({"v253"})


def line_audio(
    line: LineConfig,
    modem: ModemLine | None,
    *,
    post: Callable[[object], None],
    open_pcm: Callable[[str, int, int], Any] | None = None,
    open_capture: Callable[[str, int, int], Any] | None = None,
) -> tuple[AlsaPlayer | SerialAudio, AlsaRecorder]:
    """(player, recorder) for `line`; the caller opens both (`.open()`) and closes them.

    A V.253 line needs its started ModemLine: SerialAudio.open() asks the modem for its formats over
    the borrowed port. Without one (a line that could not be built) it falls back to the sound card
    the config names, like every other dialect; `open_pcm`/`open_capture` replace the ALSA openers there.
    """
    # The serial paths' modules load only for a line that uses one (~0.25 MB a box of sound cards never needs).
    if line.audio == "serial" and line.audio_port and line.dialect not in SERIAL_AUDIO_DIALECTS:
        from ..audio.voice_port import VoicePort, VoicePortPlayer

        voice = VoicePort(line.id, line.audio_port)
        return (VoicePortPlayer(line.id, voice, post=post),
                AlsaRecorder(line.id, line.audio_port, post=post, open_pcm=voice.capture,
                             detect_dtmf=line.software_dtmf, period_frames=LINE_PERIOD_FRAMES))
    if line.dialect in SERIAL_AUDIO_DIALECTS and modem is not None:
        from ..audio.serial_audio import SerialAudio

        player = SerialAudio(line.id, modem.borrow, post=post, on_code=modem.heard)
        recorder = AlsaRecorder(line.id, f"{line.port} (voice)", post=post, open_pcm=player.open_capture,
                                detect_dtmf=False)
        return player, recorder
    player_args = {"open_pcm": open_pcm} if open_pcm else {}
    recorder_args = {"open_pcm": open_capture} if open_capture else {}
    return (AlsaPlayer(line.id, line.audio_out, post=post, **player_args),
            AlsaRecorder(line.id, line.audio_in, post=post, detect_dtmf=line.software_dtmf,
                         period_frames=LINE_PERIOD_FRAMES, **recorder_args))


def audio_path(line: LineConfig) -> str:
    """The line's audio in an admin's words, for a line that is down because of it."""
    if line.audio == "serial":
        return f"voice port {line.audio_port!r}"
    return f"sound card {line.audio_out!r}/{line.audio_in!r}"
