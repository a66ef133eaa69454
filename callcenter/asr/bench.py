"""ASR benchmark (not a test): batching throughput, digit accuracy, WER through the phone path.

The phone path is what Twilio delivers: 8 kHz PCM16 -> G.711 μ-law -> decode -> 16 kHz.
``run_asr_bench(speech_dir)`` returns a JSON-able dict; ``callcenter bench`` calls it.
``speech_dir`` is the shared speech data folder (``fsdd_8k/``, ``osr_8k/``).
"""

from __future__ import annotations

import asyncio
import csv
import re
import time
import wave
from pathlib import Path
from typing import Any

import numpy as np

from callcenter.asr.base import ASR_RATE, HINT_DIGITS
from callcenter.asr.batcher import BatchingTranscriber
from callcenter.asr.faster_whisper import Request, WhisperEngine
from callcenter.audio.g711 import PHONE_RATE, pcm16_to_ulaw, ulaw_to_float
from callcenter.audio.resample import resample
from callcenter.audio.vad import Endpointer, EndpointingPolicy, SpeechEnded
from callcenter.text.spoken_numbers import parse_digits


def read_wav_pcm16(path: Path) -> tuple[bytes, int]:
    with wave.open(str(path)) as wav:
        if wav.getsampwidth() != 2 or wav.getnchannels() != 1:
            raise ValueError(f"{path}: expected mono PCM16")
        return wav.readframes(wav.getnframes()), wav.getframerate()


def phone_path(path: Path) -> np.ndarray:
    """An 8 kHz WAV as the agent hears it over Twilio: μ-law round trip, then 16 kHz."""
    pcm, rate = read_wav_pcm16(path)
    if rate != PHONE_RATE:
        raise ValueError(f"{path}: expected {PHONE_RATE} Hz, got {rate}")
    return resample(ulaw_to_float(pcm16_to_ulaw(pcm)), PHONE_RATE, ASR_RATE)


def phone_frames(path: Path) -> np.ndarray:
    """The same file as 8 kHz float samples after μ-law (what the endpointer is fed)."""
    pcm, _ = read_wav_pcm16(path)
    return ulaw_to_float(pcm16_to_ulaw(pcm))


def fsdd_items(speech_dir: Path) -> list[tuple[str, str]]:
    """(file name, digit) for every FSDD file listed in transcripts.tsv."""
    with open(speech_dir / "fsdd_8k" / "transcripts.tsv", newline="") as handle:
        return [(row["file"], row["digit"]) for row in csv.DictReader(handle, delimiter="\t")]


def endpointed_utterances(samples_8k: np.ndarray, policy: EndpointingPolicy) -> list[np.ndarray]:
    """Run 20 ms frames through the endpointer; the utterances it emits (16 kHz)."""
    endpointer = Endpointer(policy, input_rate=PHONE_RATE)
    out: list[np.ndarray] = []
    frame = PHONE_RATE // 50
    for start in range(0, len(samples_8k), frame):
        for event in endpointer.push(samples_8k[start : start + frame]):
            if isinstance(event, SpeechEnded):
                out.append(event.audio)
    out.extend(e.audio for e in endpointer.flush() if isinstance(e, SpeechEnded))
    return out


def normalise_words(text: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9' ]", " ", text.lower()).split())


def wer(reference: str, hypothesis: str) -> float:
    import jiwer

    return float(jiwer.wer(normalise_words(reference), normalise_words(hypothesis)))


def digit_accuracy(
    engine: WhisperEngine, speech_dir: Path, *, hint: str | None = HINT_DIGITS, batch: int = 8
) -> dict[str, Any]:
    items = fsdd_items(speech_dir)
    audios = [phone_path(speech_dir / "fsdd_8k" / name) for name, _ in items]
    correct, errors = 0, []
    started = time.perf_counter()
    for i in range(0, len(items), batch):
        chunk = [Request(a, hint) for a in audios[i : i + batch]]
        for (name, digit), result in zip(
            items[i : i + batch], engine.transcribe_batch(chunk), strict=True
        ):
            if parse_digits(result.text) == digit:
                correct += 1
            else:
                errors.append(f"{name}: {result.text!r}")
    return {
        "files": len(items),
        "correct": correct,
        "accuracy": correct / len(items),
        "seconds": time.perf_counter() - started,
        "errors": errors,
    }


def osr_wer(engine: WhisperEngine, speech_dir: Path) -> dict[str, Any]:
    folder = speech_dir / "osr_8k"
    reference = (folder / "OSR_us_000_0034_8k.txt").read_text().strip()
    utterances = endpointed_utterances(
        phone_frames(folder / "OSR_us_000_0034_8k.wav"), EndpointingPolicy()
    )
    results = engine.transcribe_batch([Request(u) for u in utterances])
    hypothesis = " ".join(r.text for r in results)
    return {"utterances": len(utterances), "wer": wer(reference, hypothesis), "text": hypothesis}


async def _throughput(engine: WhisperEngine, audios: list[np.ndarray], batch_size: int) -> float:
    """Seconds to transcribe ``audios`` submitted concurrently through the batcher."""
    transcriber = BatchingTranscriber(engine, max_batch_size=batch_size, max_wait_ms=15)
    try:
        started = time.perf_counter()
        await asyncio.gather(*(transcriber.transcribe(a) for a in audios))
        return time.perf_counter() - started
    finally:
        await transcriber.close()


def batching_speedup(engine: WhisperEngine, speech_dir: Path, repeats: int = 2) -> dict[str, Any]:
    """Batched vs sequential (batch size 1) at 1, 4 and 8 concurrent utterances."""
    utterances = endpointed_utterances(
        phone_frames(speech_dir / "osr_8k" / "OSR_us_000_0034_8k.wav"), EndpointingPolicy()
    )
    engine.transcribe(utterances[0])  # warm-up
    out: dict[str, Any] = {}
    for concurrent in (1, 4, 8):
        audios = [utterances[i % len(utterances)] for i in range(concurrent)]
        sequential = min(asyncio.run(_throughput(engine, audios, 1)) for _ in range(repeats))
        batched = min(asyncio.run(_throughput(engine, audios, concurrent)) for _ in range(repeats))
        out[str(concurrent)] = {
            "sequential_s": sequential,
            "batched_s": batched,
            "speedup": sequential / batched,
            "utterances_per_s": concurrent / batched,
        }
    return out


def run_asr_bench(
    speech_dir: Path, *, engine: WhisperEngine | None = None, digits_plain: bool = True
) -> dict[str, Any]:
    engine = engine or WhisperEngine()
    result: dict[str, Any] = {
        "model": engine.model_name,
        "min_window_s": engine.min_window_s,
        "batching": batching_speedup(engine, speech_dir),
        "fsdd_digits_hint": digit_accuracy(engine, speech_dir, hint=HINT_DIGITS),
        "osr": osr_wer(engine, speech_dir),
    }
    if digits_plain:
        result["fsdd_plain"] = digit_accuracy(engine, speech_dir, hint=None)
    return result


if __name__ == "__main__":  # python -m callcenter.asr.bench SPEECH_DIR
    import json
    import sys

    report = run_asr_bench(Path(sys.argv[1]))
    for key in ("fsdd_digits_hint", "fsdd_plain"):
        report.get(key, {}).pop("errors", None)
    print(json.dumps(report, indent=2))
