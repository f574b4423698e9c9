"""Which player and recorder a line gets: a sound card, or the voice modem's own serial port.

A GSM modem's audio goes through a USB sound card (ALSA). A V.253 voice modem on an analogue line carries
the prompts and the caller's voice over its serial port (AT+VTX / AT+VRX), borrowed from the line's AT
engine for each session, and reports keys itself as <DLE> codes, so it needs no software DTMF receiver.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .player import AlsaPlayer
from .recorder import LINE_PERIOD_FRAMES, AlsaRecorder
from .serial_audio import SerialAudio

if TYPE_CHECKING:
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
    if line.dialect in SERIAL_AUDIO_DIALECTS and modem is not None:
        player = SerialAudio(line.id, modem.borrow, post=post, on_code=modem.heard)
        recorder = AlsaRecorder(line.id, f"{line.port} (voice)", post=post, open_pcm=player.open_capture,
                                detect_dtmf=False)
        return player, recorder
    player_args = {"open_pcm": open_pcm} if open_pcm else {}
    recorder_args = {"open_pcm": open_capture} if open_capture else {}
    return (AlsaPlayer(line.id, line.audio_out, post=post, **player_args),
            AlsaRecorder(line.id, line.audio_in, post=post, detect_dtmf=line.software_dtmf,
                         period_frames=LINE_PERIOD_FRAMES, **recorder_args))
