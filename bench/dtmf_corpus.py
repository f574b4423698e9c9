"""The DTMF receiver on cases its constants were not chosen on: the figures of docs/dtmf.md's "Held out".

* Held-out keys: all 16 keys, 40 and 50 ms with 40 ms pauses, at twists 0/+4/−8 dB, noise seeds 3-5, at −20 dB
  (20 dB SNR) and −10 dB (15 dB SNR), starting 0, 2, 7, 12 and 17 ms into a GSM 06.10 frame (20 ms): 90 signals,
  1440 keys, per key length, on a clean line and through GSM 06.10 and AMR-NB 12.2. Found = keys heard in order
  (the longest matching subsequences); extra = digits heard that were not sent.
* The wider talk-off corpus (checked while the twist limit was chosen): 13 sentences in six languages, each at
  four espeak-ng pitches and speeds, and ten pieces of music, clean and through both codecs: 186 signals.
* The held-out talk-off corpus (made after the band-energy share was chosen): 8 sentences in six other languages
  at four other pitches and speeds, each at full and at a third of full loudness, and ten more pieces of music,
  clean and through both codecs: 222 signals.

Every signal is made by tests/support/dtmf_signals.py (espeak-ng, sox and its codecs) and fed to the product's
receiver (appliance/audio/dtmf.py) in the line's capture periods (recorder.LINE_PERIOD_FRAMES). Making them takes
a few minutes, so they are kept under /tmp/hotline-bench/dtmf-corpus, keyed by a hash of everything that makes
them (the parameters below, dtmf_signals.py, the versions of espeak-ng and sox). `--quick` makes a small subset.
It prints figures and asserts nothing; `run()` returns them for bench/run.

    .venv/bin/python bench/dtmf_corpus.py [--quick]
"""

from __future__ import annotations

import difflib
import hashlib
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO)]

import numpy as np  # noqa: E402  (bench only)

from appliance.audio.dtmf import DtmfDetector  # noqa: E402
from appliance.audio.recorder import LINE_PERIOD_FRAMES  # noqa: E402
from tests.support import dtmf_signals  # noqa: E402
from tests.support.dtmf_signals import ALL_DIGITS, music, pcm, sequence, speech, through_codec, with_noise  # noqa: E402

RATE = 8000
CACHE = Path(tempfile.gettempdir()) / "hotline-bench" / "dtmf-corpus"
CODECS: tuple[str | None, ...] = (None, "gsm", "amr")
CODEC_NAMES = {None: "a clean line", "gsm": "GSM 06.10", "amr": "AMR-NB 12.2"}


@dataclass(frozen=True)
class KeyGrid:
    key_ms: tuple[int, ...] = (40, 50)
    leads_ms: tuple[int, ...] = (100, 102, 107, 112, 117)  # 100 ms is five GSM frames: keys start 0-17 ms into one
    twists_db: tuple[int, ...] = (0, 4, -8)
    seeds: tuple[int, ...] = (3, 4, 5)
    levels: tuple[tuple[int, int], ...] = ((-20, 20), (-10, 15))  # (key level dB, SNR dB)


@dataclass(frozen=True)
class TalkCorpus:
    name: str
    texts: tuple[tuple[str, str], ...]  # (language, sentence)
    voices: tuple[tuple[str, str, str], ...]  # (label, espeak-ng voice suffix, espeak-ng options)
    loudness: tuple[float, ...]  # peak, of full scale
    music_seeds: tuple[int, ...]


# The corpus checked while the twist limit was chosen (docs/dtmf.md, rule 4).
WIDER = TalkCorpus(
    "wider",
    texts=(
        ("en", "One two three four five six seven eight nine zero, star and hash."),
        ("en", "I would like to speak to someone about my daughter, she has not come home since yesterday evening."),
        ("en", "Yes, yes, I understand. Could you please repeat the number slowly? Thank you very much."),
        ("en", "The weather today is sunny with a light breeze from the north east and temperatures around "
               "twenty degrees."),
        ("en", "Hmm, well, I am not sure, maybe you could call me back tomorrow morning at nine o'clock?"),
        ("ru", "Один два три четыре пять шесть семь восемь девять ноль."),
        ("ru", "Я хотела бы поговорить с кем-нибудь, мне очень тяжело в последнее время."),
        ("ru", "Да, да, я понимаю. Повторите, пожалуйста, номер медленно. Большое спасибо."),
        ("ru", "Сегодня солнечно, лёгкий ветер с северо-востока, температура около двадцати градусов."),
        ("de", "Guten Tag, ich möchte bitte mit einem Mitarbeiter sprechen, es ist sehr dringend."),
        ("fr", "Bonjour, je voudrais parler à quelqu'un, s'il vous plaît, c'est assez urgent."),
        ("es", "Hola, quisiera hablar con alguien, por favor, es bastante urgente."),
        ("uk", "Добрий день, я хотів би поговорити з оператором, будь ласка."),
    ),
    voices=(("m", "", "-p 40"), ("f", "+f3", "-p 90"), ("hi", "+f3", "-p 99 -s 140"), ("fast", "", "-s 220 -p 60")),
    loudness=(0.95,),
    music_seeds=tuple(range(20, 30)),
)

# The corpus made after the band-energy share was chosen (docs/dtmf.md, "Held out").
HELD_OUT = TalkCorpus(
    "held-out",
    texts=(
        ("en", "Please, I need help right now, my husband fell down the stairs and he is not moving."),
        ("en", "Can you tell me what time the office opens on Saturday, and whether I need an appointment?"),
        ("ru", "Алло, алло, вы меня слышите? Связь очень плохая, я перезвоню через пять минут."),
        ("ru", "Мне нужно узнать, куда обратиться, если у ребёнка высокая температура ночью."),
        ("it", "Buongiorno, vorrei parlare con qualcuno del servizio clienti, per favore."),
        ("pl", "Dzień dobry, chciałbym zgłosić problem z moim kontem, to bardzo pilne."),
        ("pt", "Olá, eu gostaria de falar com um atendente, por favor, é urgente."),
        ("tr", "Merhaba, bir operatörle görüşmek istiyorum, lütfen yardım edin."),
    ),
    voices=(("m", "+m3", "-p 30 -s 160"), ("f", "+f2", "-p 80"), ("hi", "+f2", "-p 95 -s 120"),
            ("fast", "+m3", "-s 250 -p 50")),
    loudness=(0.95, 0.3),
    music_seeds=tuple(range(40, 50)),
)

QUICK_GRID = KeyGrid(key_ms=(40,), leads_ms=(100,), twists_db=(0,), seeds=(3,))


def quick(corpus: TalkCorpus) -> TalkCorpus:
    """One sentence in one voice and one piece of music: the code path, in seconds."""
    return TalkCorpus(corpus.name, corpus.texts[:1], corpus.voices[:1], corpus.loudness[:1], corpus.music_seeds[:1])


Signals = list[tuple[str, bytes]]  # (label, signed 16-bit PCM at RATE)


def cached(spec: object, build: Callable[[], Signals]) -> Signals:
    """build()'s signals, from the cache when nothing that makes them changed."""
    tools = [subprocess.run([tool, "--version"], capture_output=True, text=True).stdout
             for tool in ("espeak-ng", "sox")]
    made_by = repr(spec) + Path(dtmf_signals.__file__).read_text() + "".join(tools)
    path = CACHE / f"{hashlib.sha256(made_by.encode()).hexdigest()[:24]}.npz"
    if path.exists():
        with np.load(path, allow_pickle=False) as saved:
            samples, ends = saved["samples"], saved["ends"]
            return [(str(label), samples[start:end].tobytes())
                    for label, start, end in zip(saved["labels"], np.r_[0, ends[:-1]], ends, strict=True)]
    signals = build()
    CACHE.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(f".{os.getpid()}.npz")  # written whole, then renamed: a killed run leaves no half
    np.savez(partial, labels=np.array([label for label, _ in signals]),
             ends=np.cumsum([len(data) // 2 for _, data in signals]),
             samples=np.frombuffer(b"".join(data for _, data in signals), dtype="<i2"))
    partial.replace(path)
    return signals


def key_signals(grid: KeyGrid, key_ms: int, codec: str | None) -> Signals:
    def build() -> Signals:
        out = []
        for lead in grid.leads_ms:
            for twist in grid.twists_db:
                for seed in grid.seeds:
                    for level, snr in grid.levels:
                        keys = sequence(ALL_DIGITS, tone_ms=key_ms, gap_ms=40, level_db=level, twist_db=twist,
                                        lead_ms=lead)
                        signal = with_noise(keys, snr, seed=seed)
                        out.append((f"lead {lead} twist {twist} seed {seed} level {level}",
                                    pcm(through_codec(signal, codec) if codec else signal)))
        return out

    return cached(("keys", grid, key_ms, codec), build)


def talk_signals(corpus: TalkCorpus) -> Signals:
    def build() -> Signals:
        sentences = [(lang + suffix, text, options)
                     for lang, text in corpus.texts for _, suffix, options in corpus.voices]
        labels = [f"{lang}{n} {voice}" for n, (lang, _) in enumerate(corpus.texts) for voice, _, _ in corpus.voices]
        sources = [(f"{label} at {peak}", spoken * (peak / np.abs(spoken).max()))
                   for label, spoken in zip(labels, speech(RATE, sentences), strict=True) for peak in corpus.loudness]
        for seed in corpus.music_seeds:
            piece = music(RATE, seconds=8, seed=seed)
            sources.append((f"music seed {seed}", piece * (0.9 / np.abs(piece).max())))
        return [(f"{label}, {CODEC_NAMES[codec]}", pcm(through_codec(signal, codec) if codec else signal))
                for label, signal in sources for codec in CODECS]

    return cached(("talk", corpus), build)


def heard(data: bytes) -> str:
    """The digits the receiver reports, fed as a line's capture thread feeds it."""
    detector = DtmfDetector(RATE)
    step = 2 * LINE_PERIOD_FRAMES
    return "".join(digit for at in range(0, len(data), step) for digit in detector.feed(data[at : at + step]))


def found(got: str) -> int:
    return sum(block.size for block in difflib.SequenceMatcher(None, got, ALL_DIGITS).get_matching_blocks())


def run(quick_run: bool = False) -> dict:
    """{"keys": {(key_ms, codec): {"found", "extra", "sent"}}, "talk": {corpus: {"signals", "digits", "heard"}}}."""
    grid = QUICK_GRID if quick_run else KeyGrid()
    keys = {}
    for key_ms in grid.key_ms:
        for codec in CODECS:
            heard_in = [heard(data) for _, data in key_signals(grid, key_ms, codec)]
            hits = sum(found(got) for got in heard_in)
            keys[key_ms, codec] = {"found": hits, "extra": sum(len(got) for got in heard_in) - hits,
                                   "sent": len(ALL_DIGITS) * len(heard_in)}
    talk = {}
    for corpus in (WIDER, HELD_OUT):
        signals = talk_signals(quick(corpus) if quick_run else corpus)
        digits = {label: got for label, data in signals if (got := heard(data))}
        talk[corpus.name] = {"signals": len(signals), "digits": sum(map(len, digits.values())), "heard": digits}
    return {"keys": keys, "talk": talk}


def main() -> None:
    figures = run("--quick" in sys.argv[1:])
    for (key_ms, codec), f in figures["keys"].items():
        print(f"held-out keys, {key_ms} ms, {CODEC_NAMES[codec]:12}: {f['found']}/{f['sent']} found, "
              f"{f['extra']} extra")
    for name, f in figures["talk"].items():
        print(f"talk-off, {name} corpus: {f['digits']} digits in {f['signals']} signals {f['heard'] or ''}")


if __name__ == "__main__":
    main()
