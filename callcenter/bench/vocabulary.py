"""`callcenter bench vocabulary`: what the glossary gains on the deployment's own names.

Callers (espeak-ng voices, never the agent's Piper voice) say sentences with street, town,
plan and product names that are not ordinary English. Each clip goes through the phone
path (8 kHz μ-law, then 16 kHz) into the embedded tiny.en and is transcribed three ways:

- ``none``: no glossary;
- ``steer``: the glossary's terms as the decoder prompt (faster-whisper's ``hotwords``),
  plus the fuzzy fix of near spellings of the terms themselves;
- ``full``: as ``steer``, with the glossary's known mis-hearings too. These come from a
  calibration an admin would do: each term said alone once, by the ``us`` voice, and what
  the recogniser wrote for it (never the test sentences).

Reported per condition and voice: WER over all sentences, and term accuracy (the share
of sentences whose transcript holds the term exactly, letters and spaces compared).
"""

from __future__ import annotations

import re
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from callcenter.asr.base import ASR_RATE
from callcenter.asr.bench import wer
from callcenter.asr.faster_whisper import WhisperEngine
from callcenter.audio.g711 import PHONE_RATE, ulaw_to_float
from callcenter.audio.resample import resample
from callcenter.bench.voices import VOICES, VoiceRenderer
from callcenter.text.glossary import Glossary, Term

TERMS: tuple[Term, ...] = (
    Term("Okonkwo Street", kind="street"),
    Term("Tchoupitoulas Street", kind="street"),
    Term("Szymanski Avenue", kind="street"),
    Term("Beaubien Road", kind="street"),
    Term("Quillfield", kind="town"),
    Term("Llanelli", kind="town"),
    Term("Wahpeton", kind="town"),
    Term("Poughkeepsie", kind="town"),
    Term("ZenPlan Gold", kind="plan"),
    Term("HarborFlex Checking", kind="plan"),
    Term("Tidewell Saver", kind="plan"),
    Term("CardGuard", kind="product"),
)
# (sentence, the term it holds): two per term, in the words a caller would use.
SENTENCES: tuple[tuple[str, str], ...] = (
    ("I moved to Okonkwo Street last month.", "Okonkwo Street"),
    ("My new address is on Okonkwo Street.", "Okonkwo Street"),
    ("I live on Tchoupitoulas Street now.", "Tchoupitoulas Street"),
    ("Please send the card to Tchoupitoulas Street.", "Tchoupitoulas Street"),
    ("The new place is on Szymanski Avenue.", "Szymanski Avenue"),
    ("I'm at Szymanski Avenue near the park.", "Szymanski Avenue"),
    ("We moved to Beaubien Road in the spring.", "Beaubien Road"),
    ("My street is Beaubien Road.", "Beaubien Road"),
    ("The city is Quillfield.", "Quillfield"),
    ("I just moved to Quillfield with my family.", "Quillfield"),
    ("I live in Llanelli now.", "Llanelli"),
    ("The town is called Llanelli.", "Llanelli"),
    ("My new city is Wahpeton.", "Wahpeton"),
    ("We are in Wahpeton since May.", "Wahpeton"),
    ("I moved to Poughkeepsie last year.", "Poughkeepsie"),
    ("The city is Poughkeepsie, in New York.", "Poughkeepsie"),
    ("I want to switch to the ZenPlan Gold.", "ZenPlan Gold"),
    ("What does the ZenPlan Gold cost?", "ZenPlan Gold"),
    ("I have the HarborFlex Checking account.", "HarborFlex Checking"),
    ("Can I open a HarborFlex Checking for my son?", "HarborFlex Checking"),
    ("I'd like to open a Tidewell Saver.", "Tidewell Saver"),
    ("What is the rate on the Tidewell Saver?", "Tidewell Saver"),
    ("Please turn on CardGuard for my card.", "CardGuard"),
    ("Is CardGuard free of charge?", "CardGuard"),
)
CALIBRATION_VOICE = "us"
TEST_VOICES = ("us", "rp", "us-f3")


def _pcm16k(ulaw: bytes) -> np.ndarray:
    return resample(ulaw_to_float(ulaw), PHONE_RATE, ASR_RATE)


def _letters(text: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9 ]", " ", text.lower()).split())


def has_term(transcript: str, term: str) -> bool:
    return f" {_letters(term)} " in f" {_letters(transcript)} "


def calibrate(engine: WhisperEngine, renderer: VoiceRenderer) -> list[Term]:
    """Each term said alone, transcribed plainly: what the recogniser makes of it is a
    known mis-hearing (when it is not the term and has no digits)."""
    engine.set_vocabulary(None)
    terms = []
    for term in TERMS:
        heard = engine.transcribe(_pcm16k(renderer.render(term.text))).text
        heard = heard.strip(" .,!?")
        known = (heard,) if heard and not has_term(heard, term.text) else ()
        if any(ch.isdigit() for ch in heard):
            known = ()
        terms.append(Term(term.text, known, term.kind))
    return terms


def run_vocabulary_bench(cache_dir: Path | None = None) -> dict[str, Any]:
    engine = WhisperEngine()
    cache = cache_dir or Path(tempfile.gettempdir()) / "callcenter-voices"
    renderers = {name: VoiceRenderer(VOICES[name], cache) for name in TEST_VOICES}
    learned = calibrate(engine, renderers[CALIBRATION_VOICE])
    conditions = {
        "none": (None, Glossary([])),
        "steer": (Glossary(list(TERMS)).asr_prompt(), Glossary(list(TERMS))),
        "full": (Glossary(learned).asr_prompt(), Glossary(learned)),
    }
    report: dict[str, Any] = {
        "asr": engine.model_name,
        "terms": len(TERMS),
        "sentences": len(SENTENCES),
        "voices": list(TEST_VOICES),
        "mishearings_learned": {t.text: list(t.sounds_like) for t in learned if t.sounds_like},
        "conditions": {},
    }
    clips = {
        name: [_pcm16k(renderer.render(text)) for text, _ in SENTENCES]
        for name, renderer in renderers.items()
    }
    examples: list[dict[str, str]] = []
    for condition, (prompt, glossary) in conditions.items():
        engine.set_vocabulary(prompt)
        per_voice: dict[str, Any] = {}
        started = time.perf_counter()
        for voice, audios in clips.items():
            references, hypotheses, hits = [], [], 0
            for (text, term), audio in zip(SENTENCES, audios, strict=True):
                heard = engine.transcribe(audio).text
                fixed, _ = glossary.correct(heard)
                references.append(text)
                hypotheses.append(fixed)
                hits += has_term(fixed, term)
                if voice == "rp" and len(examples) < 40:
                    examples.append({"condition": condition, "said": text, "heard": fixed})
            per_voice[voice] = {
                "wer": round(wer(" ".join(references), " ".join(hypotheses)), 4),
                "term_accuracy": round(hits / len(SENTENCES), 4),
            }
        count = len(SENTENCES) * len(clips)
        per_voice["all"] = {
            "wer": round(float(np.mean([v["wer"] for v in per_voice.values()])), 4),
            "term_accuracy": round(
                float(np.mean([v["term_accuracy"] for v in per_voice.values()])), 4
            ),
            "decode_ms_per_clip": round((time.perf_counter() - started) * 1000 / count, 1),
        }
        report["conditions"][condition] = per_voice
    engine.set_vocabulary(None)
    report["examples_rp"] = examples
    return report


def table(report: dict[str, Any]) -> str:
    """A Markdown table for the README: WER and term accuracy per condition and voice."""
    voices = [*report["voices"], "all"]
    head = "| glossary | " + " | ".join(f"{v}: WER / terms" for v in voices) + " |"
    rule = "|---|" + "---|" * len(voices)
    rows = [
        f"| {condition} | "
        + " | ".join(
            f"{cells[v]['wer'] * 100:.1f} % / {cells[v]['term_accuracy'] * 100:.0f} %"
            for v in voices
        )
        + " |"
        for condition, cells in report["conditions"].items()
    ]
    return "\n".join([head, rule, *rows])
