"""TTS latency numbers: time to first phone audio and real-time factor (not a test).

    .venv/bin/python tests/bench/tts_latency.py piper
    ~/.cache/callcenter/venv-xtts/bin/python tests/bench/tts_latency.py xtts-tiny

Prints JSON. Time to first audio is measured to the first 8 kHz μ-law bytes out of
``to_phone_audio`` (what the session sends to Twilio), after one warm-up clause.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from callcenter.tts.base import Synthesizer
from callcenter.tts.render import to_phone_audio

FIRST_CLAUSE = "Sure, let me check that."
PARAGRAPH = (
    "Thank you for calling. I can see your account here. Your last payment was received "
    "on March fifth, and your balance is two thousand four hundred seventeen dollars and "
    "thirty five cents. Is there anything else I can help you with today?"
)


async def first_audio_s(synth: Synthesizer, text: str) -> float:
    start = time.perf_counter()
    stream = to_phone_audio(synth.stream(text))
    await anext(stream)
    elapsed = time.perf_counter() - start
    await stream.aclose()
    return elapsed


async def rtf(synth: Synthesizer, text: str) -> tuple[float, float]:
    start = time.perf_counter()
    samples = 0
    async for chunk in synth.stream(text):
        samples += chunk.samples.size
    elapsed = time.perf_counter() - start
    audio_s = samples / synth.sample_rate
    return elapsed / audio_s, audio_s


async def measure(synth: Synthesizer, runs: int) -> dict[str, float]:
    await first_audio_s(synth, "Hello.")  # warm-up
    firsts = [await first_audio_s(synth, FIRST_CLAUSE) for _ in range(runs)]
    factor, audio_s = await rtf(synth, PARAGRAPH)
    return {
        "first_audio_s_median": round(statistics.median(firsts), 3),
        "first_audio_s_min": round(min(firsts), 3),
        "rtf": round(factor, 3),
        "paragraph_audio_s": round(audio_s, 2),
    }


async def main(engine: str) -> None:
    if engine == "piper":
        from callcenter.tts.piper import PiperSynthesizer

        start = time.perf_counter()
        synth: Synthesizer = PiperSynthesizer()
        load = time.perf_counter() - start
        result = await measure(synth, runs=5)
    elif engine == "xtts-tiny":
        from callcenter.tts.xtts import DEFAULT_STREAM_CHUNK_SIZE, XttsSynthesizer
        from callcenter.tts.xtts_tiny import build_tiny_xtts

        model_dir = build_tiny_xtts(Path(tempfile.mkdtemp()), max_audio_tokens=200)
        start = time.perf_counter()
        synth = XttsSynthesizer(model_dir, device="cpu", seed=0)
        load = time.perf_counter() - start
        result = await measure(synth, runs=3)
        result["stream_chunk_size"] = DEFAULT_STREAM_CHUNK_SIZE
    else:
        raise SystemExit(f"unknown engine {engine!r}: piper | xtts-tiny")
    await synth.close()
    print(json.dumps({"engine": engine, "load_s": round(load, 2), **result}))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else "piper"))
