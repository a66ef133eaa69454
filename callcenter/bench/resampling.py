"""`callcenter bench resampling`: which 8 -> 16 kHz filter the ASR should read.

The caller's stream is resampled twice: soxr's quick (cubic) filter for the VAD, which
must hear the caller at once, and its high-quality filter for the ASR, which reads a turn
only after a pause (``audio/asr_stream.py``). The cubic filter mirrors the phone band
above 4 kHz; this measures what that costs Whisper. Sentences in espeak-ng voices that
are not the agent's, through μ-law and the same streaming resamplers in 20 ms frames,
each after several onsets of silence (the decode shifts with the frame phase), and the
FSDD digits read by people. Corpus word error rate (errors over reference words).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import jiwer
import numpy as np

from callcenter.asr.bench import fsdd_items, phone_frames
from callcenter.asr.faster_whisper import DIGITS, PLAIN, WhisperEngine
from callcenter.audio.g711 import ulaw_to_float
from callcenter.audio.resample import StreamResampler
from callcenter.bench.voices import VOICES, VoiceRenderer
from callcenter.text.spoken_numbers import parse_digits

SENTENCES = (
    "Can you speak Spanish please?",
    "I need to block my card.",
    "Yes, please.",
    "My address is fifteen Spruce Street.",
    "I lost my card and need to block it.",
    "Please schedule a callback for tomorrow.",
    "Is it possible to see my recent transactions?",
    "It was stolen, I think.",
    "Sorry, what was that?",
    "I want to pay my electricity bill.",
)
VOICE_NAMES = ("us", "rp", "us-f3")
ONSETS_MS = (0, 120, 240)
QUALITIES = {"quick": "QQ", "high": "HQ"}  # what the VAD reads, what the ASR reads
FRAME = 160  # 20 ms at 8 kHz: one Twilio media frame


def upsample(samples_8k: np.ndarray, quality: str) -> np.ndarray:
    """8 -> 16 kHz in 20 ms frames through a streaming resampler, as a call is fed."""
    stream = StreamResampler(8000, 16000, quality=quality)
    parts = [stream.process(samples_8k[i : i + FRAME]) for i in range(0, len(samples_8k), FRAME)]
    return np.concatenate([*parts, stream.flush()]).astype(np.float32)


def words(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9']+", text.lower()))


def word_errors(said: str, heard: str) -> tuple[int, int]:
    """(errors, reference words) of one utterance."""
    reference, hypothesis = words(said), words(heard)
    if not hypothesis:
        return len(reference.split()), len(reference.split())
    out = jiwer.process_words(reference, hypothesis)
    return out.substitutions + out.deletions + out.insertions, len(reference.split())


def _sentences(
    engine: WhisperEngine, renderers: Sequence[VoiceRenderer], quality: str
) -> dict[str, Any]:
    errors = total = 0
    misses: list[dict[str, str]] = []
    for renderer in renderers:
        for said in SENTENCES:
            audio = upsample(ulaw_to_float(renderer.render(said)), quality)
            for onset in ONSETS_MS:
                lead = np.zeros(onset * 16, dtype=np.float32)
                tail = np.zeros(3200, dtype=np.float32)  # the 200 ms pad after speech
                heard = engine.decode([np.concatenate([lead, audio, tail])], PLAIN)[0].text
                wrong, count = word_errors(said, heard)
                errors, total = errors + wrong, total + count
                if wrong:
                    misses.append({"voice": renderer.voice.name, "said": said, "heard": heard})
    return {"wer": errors / total if total else 0.0, "words": total, "misses": misses}


def _digits(engine: WhisperEngine, speech_dir: Path, quality: str, every: int) -> dict[str, Any]:
    items = fsdd_items(speech_dir)[::every]
    right = 0
    for name, digit in items:
        audio = upsample(phone_frames(speech_dir / "fsdd_8k" / name), quality)
        right += parse_digits(engine.decode([audio], DIGITS)[0].text) == digit
    return {"right": right, "of": len(items)}


def run_resampling_bench(
    cache_dir: Path,
    engines: dict[str, WhisperEngine],
    speech_dir: Path | None = None,
    *,
    fsdd_every: int = 3,
) -> dict[str, Any]:
    renderers = [VoiceRenderer(VOICES[name], cache_dir) for name in VOICE_NAMES]
    results: dict[str, Any] = {}
    for model, engine in engines.items():
        for label, quality in QUALITIES.items():
            key = f"{model}/{label}"
            results[key] = {"sentences": _sentences(engine, renderers, quality)}
            if speech_dir is not None:
                results[key]["fsdd"] = _digits(engine, speech_dir, quality, fsdd_every)
    return {"voices": list(VOICE_NAMES), "onsets_ms": list(ONSETS_MS), "results": results}


def table(report: dict[str, Any]) -> str:
    rows = [
        "| model | resampler | sentence WER (espeak-ng) | FSDD digits right |",
        "|---|---|---|---|",
    ]
    for key, result in report["results"].items():
        model, label = key.split("/")
        sentences = result["sentences"]
        fsdd = result.get("fsdd")
        digits = f"{fsdd['right']} / {fsdd['of']}" if fsdd else "–"
        wer = f"{100 * sentences['wer']:.1f} % of {sentences['words']} words"
        rows.append(f"| {model} | {label} | {wer} | {digits} |")
    return "\n".join(rows)
