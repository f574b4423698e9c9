"""A speak node's intents as a grammar, and the intent read back from what the engine heard (pure, no engine).

Callers rarely say a phrase alone ("I'd like legal advice, please"), so the grammar lets a few common
words stand before and after exactly one intent phrase. What the engine returns is then one phrase with
its filler words; the confidence is the share of the spoken time the phrase takes: a caller who said
something else entirely is forced onto some phrase surrounded by fillers, and covers little of it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

Intents = Sequence[tuple[str, Sequence[str]]]  # (intent, its phrases)

# Words that carry no intent, allowed around the phrase; English only (pocketsphinx's bundled model). Twelve,
# not more: with 26, pocketsphinx spent 3 times the CPU and mistook more answers (the accuracy set, speech.md).
FILLERS = ("i", "a", "the", "to", "me", "my", "can", "want", "like", "please", "need", "have")

_WORD = re.compile(r"[a-z']+")


def words(phrase: str) -> list[str]:
    return _WORD.findall(phrase.lower())


def jsgf(intents: Intents, known: set[str] | None = None) -> str:
    """The JSGF grammar: a few fillers, one phrase, a few fillers; phrases with a word outside `known` are left out."""
    phrases = sorted({" ".join(words(p)) for _, ps in intents for p in ps
                      if words(p) and (known is None or set(words(p)) <= known)})
    if not phrases:
        raise ValueError("no phrase of this node's intents has words the engine knows")
    fillers = [w for w in FILLERS if known is None or w in known]
    # At most three fillers before and two after: an open loop (<filler>+) costs pocketsphinx 15 times the CPU.
    return ("#JSGF V1.0;\ngrammar intents;\n"
            "public <answer> = [<filler>] [<filler>] [<filler>] <phrase> [<filler>] [<filler>];\n"
            f"<filler> = {' | '.join(fillers)};\n<phrase> = {' | '.join(f'({p})' for p in phrases)};\n")


def choose(intents: Intents, heard: Sequence[tuple[str, int]]) -> tuple[str | None, float]:
    """(intent, confidence) from the words heard with their lengths in frames; (None, 0) when no phrase is whole.

    The longest phrase found whole wins (a filler run may spell a short phrase too); its confidence is the
    share of the spoken frames its words take.
    """
    said = [w for w, _ in heard]
    total = sum(n for _, n in heard)
    best: tuple[int, str | None, float] = (0, None, 0.0)
    for intent, phrases in intents:
        for phrase in phrases:
            wanted = words(phrase)
            for start in range(len(said) - len(wanted) + 1):
                if wanted and said[start:start + len(wanted)] == wanted and len(wanted) > best[0]:
                    share = sum(n for _, n in heard[start:start + len(wanted)]) / total if total else 0.0
                    best = (len(wanted), intent, round(share, 3))
    return best[1], best[2]
