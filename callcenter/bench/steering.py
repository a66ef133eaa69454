"""`callcenter bench steering`: does priming Whisper for the expected answer help?

While a flow waits for a yes/no or a date, the decoder could be primed with an initial
prompt of such answers (digits already have their own mode: a number-only vocabulary).
This plays yes/no replies and spoken dates in espeak-ng voices that are not the agent's,
through μ-law, and counts the turns the flow's exact parsers read right, plain and primed.
On tiny.en a list prompt makes it repeat the list ("March, March, March,"): the report
is why the flows do not prime these answers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from callcenter.asr.faster_whisper import PLAIN, WhisperEngine
from callcenter.audio.g711 import ulaw_to_float
from callcenter.audio.resample import resample
from callcenter.bench.voices import VOICES, VoiceRenderer
from callcenter.text.dates import parse_date
from callcenter.text.yes_no import yes_or_no

YES_NO: tuple[tuple[str, str], ...] = (
    ("Yes.", "yes"), ("No.", "no"), ("Yes, please.", "yes"), ("No, thank you.", "no"),
    ("Yes, that's right.", "yes"), ("No, that's wrong.", "no"), ("That's correct.", "yes"),
    ("Nope.", "no"), ("Yeah, go ahead.", "yes"), ("No, that's all. Thank you, goodbye.", "no"),
    ("Sure.", "yes"), ("No, don't do that.", "no"), ("Correct.", "yes"), ("Not right.", "no"),
)  # fmt: skip
DATES: tuple[tuple[str, date], ...] = (
    ("March seventh, nineteen eighty four.", date(1984, 3, 7)),
    ("July fourth, nineteen ninety.", date(1990, 7, 4)),
    ("The twelfth of October, nineteen seventy five.", date(1975, 10, 12)),
    ("January second, two thousand one.", date(2001, 1, 2)),
    ("September twenty third, nineteen sixty eight.", date(1968, 9, 23)),
    ("May fifth nineteen eighty.", date(1980, 5, 5)),
    ("December first, nineteen ninety nine.", date(1999, 12, 1)),
    ("April thirtieth, nineteen fifty nine.", date(1959, 4, 30)),
    ("June 14, 1972.", date(1972, 6, 14)),
    ("February twenty eighth, nineteen eighty eight.", date(1988, 2, 28)),
)
PRIMERS = {
    "yes_no": "Yes. No. Yes, please. No, thank you. That's right.",
    "date": "Born on January, February, March, April, May, June, July, August, September, "
    "October, November or December, 1950 to 2005.",
}
VOICE_NAMES = ("us", "rp", "us-f3")


def _score(
    engine: WhisperEngine,
    renderer: VoiceRenderer,
    items: Sequence[tuple[str, Any]],
    read: Callable[[str], Any],
    primer: str | None,
) -> dict[str, Any]:
    options = PLAIN if primer is None else replace(PLAIN, initial_prompt=primer)
    misses = []
    for text, expected in items:
        ulaw = renderer.render(text) + b"\xff" * 3200  # a pause after the last word
        audio = resample(ulaw_to_float(ulaw), 8000, 16000).astype(np.float32)
        heard = engine.decode([audio], options)[0].text
        if read(heard) != expected:
            misses.append({"said": text, "heard": heard})
    return {"right": len(items) - len(misses), "of": len(items), "misses": misses}


def run_steering_bench(cache_dir: Path, engine: WhisperEngine | None = None) -> dict[str, Any]:
    engine = engine or WhisperEngine()
    kinds: dict[str, tuple[Sequence[tuple[str, Any]], Callable[[str], Any]]] = {
        "yes_no": (YES_NO, yes_or_no),
        "date": (DATES, parse_date),
    }
    out: dict[str, Any] = {"model": engine.model_name, "results": {}}
    for name in VOICE_NAMES:
        renderer = VoiceRenderer(VOICES[name], cache_dir)
        for kind, (items, read) in kinds.items():
            for mode, primer in (("plain", None), ("primed", PRIMERS[kind])):
                key = f"{name}/{kind}/{mode}"
                out["results"][key] = _score(engine, renderer, items, read, primer)
    return out


def table(report: dict[str, Any]) -> str:
    totals: dict[tuple[str, str], list[int]] = {}
    for key, row in report["results"].items():
        _voice, kind, mode = key.split("/")
        right, of = totals.setdefault((kind, mode), [0, 0])
        totals[(kind, mode)] = [right + row["right"], of + row["of"]]
    lines = ["| answer | plain | primed |", "|---|---|---|"]
    for kind in ("yes_no", "date"):
        cells = [f"{totals[(kind, m)][0]} / {totals[(kind, m)][1]}" for m in ("plain", "primed")]
        lines.append(f"| {kind} | {' | '.join(cells)} |")
    return "\n".join(lines)
