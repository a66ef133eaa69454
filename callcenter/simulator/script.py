"""What the simulated caller does: a timeline of steps, loaded from JSON or built in code.

JSON (a list, or ``{"steps": [...]}``)::

    [
      {"wait_agent": {"quiet_ms": 800, "timeout_ms": 20000}},   # agent speaks, then stops
      {"say": "I'd like to check my balance."},                 # Piper, synthesised up front
      {"say_wav": "caller.wav"},                                # any rate, mono or stereo
      {"silence_ms": 1500},
      {"dtmf": "1234#"},
      {"interrupt": {"after_ms": 600, "say": "Sorry, stop."}},  # barge in N ms into the agent
      {"hangup": true}
    ]

Between steps the line carries silence frames, as a real phone line does. All caller
audio is rendered before the call starts so synthesis time never distorts the timing.
"""

from __future__ import annotations

import json
import wave
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from callcenter.audio.g711 import PHONE_RATE, float_to_ulaw, pcm16_to_float, ulaw_to_float
from callcenter.audio.resample import resample

Synthesize = Callable[[str], Awaitable[bytes]]  # text -> 8 kHz μ-law


@dataclass(frozen=True)
class Say:
    """Caller speech: exactly one of text, wav, ulaw."""

    text: str | None = None
    wav: str | None = None
    ulaw: bytes | None = None

    @property
    def label(self) -> str:
        return self.text or self.wav or f"<{len(self.ulaw or b'')} bytes>"


@dataclass(frozen=True)
class Silence:
    ms: int


@dataclass(frozen=True)
class Dtmf:
    digits: str
    gap_ms: int = 200


@dataclass(frozen=True)
class WaitAgent:
    """Wait until the agent has spoken and then been quiet for ``quiet_ms``.

    ``min_speech_ms``: quiet only counts once the agent has spoken at least this long
    in this step, so a short backchannel ("Got it.") while the answer is still being
    produced is not taken for the answer.
    """

    quiet_ms: int = 800
    timeout_ms: int = 20_000
    min_speech_ms: int = 0


@dataclass(frozen=True)
class Interrupt:
    """Wait for the agent to start speaking, let it speak ``after_ms``, then talk over it."""

    say: Say
    after_ms: int = 500
    timeout_ms: int = 20_000


@dataclass(frozen=True)
class Hangup:
    pass


Step = Say | Silence | Dtmf | WaitAgent | Interrupt | Hangup


def _say(value: Any, base: Path) -> Say:
    if isinstance(value, str):
        return Say(text=value)
    if isinstance(value, dict) and "wav" in value:
        return Say(wav=str(base / value["wav"]))
    if isinstance(value, dict) and "text" in value:
        return Say(text=str(value["text"]))
    raise ValueError(f"say must be text or {{'wav': path}}: {value!r}")


def parse_step(raw: Any, base: Path = Path(".")) -> Step:
    if not isinstance(raw, dict) or len(raw) != 1:
        raise ValueError(f"a step is an object with one key: {raw!r}")
    ((kind, value),) = raw.items()
    if kind == "say":
        return _say(value, base)
    if kind == "say_wav":
        return Say(wav=str(base / value))
    if kind == "silence_ms":
        return Silence(int(value))
    if kind == "dtmf":
        if isinstance(value, dict):
            return Dtmf(str(value["digits"]), int(value.get("gap_ms", 200)))
        return Dtmf(str(value))
    if kind == "wait_agent":
        opts = value if isinstance(value, dict) else {}
        return WaitAgent(
            int(opts.get("quiet_ms", 800)),
            int(opts.get("timeout_ms", 20_000)),
            int(opts.get("min_speech_ms", 0)),
        )
    if kind == "interrupt":
        if not isinstance(value, dict):
            raise ValueError("interrupt takes {'after_ms': N, 'say': ...}")
        say = _say(value["say"], base) if "say" in value else Say(wav=str(base / value["wav"]))
        return Interrupt(say, int(value.get("after_ms", 500)), int(value.get("timeout_ms", 20_000)))
    if kind == "hangup":
        return Hangup()
    raise ValueError(f"unknown step {kind!r}")


def parse_script(data: Any, base: Path = Path(".")) -> list[Step]:
    steps = data.get("steps") if isinstance(data, dict) else data
    if not isinstance(steps, list):
        raise ValueError("a script is a list of steps or {'steps': [...]}")
    return [parse_step(step, base) for step in steps]


def load_script(path: Path) -> list[Step]:
    return parse_script(json.loads(path.read_text()), base=path.parent)


# --- audio ------------------------------------------------------------------------------


def wav_to_ulaw(path: str | Path) -> bytes:
    """A PCM16 WAV of any rate and channel count -> 8 kHz mono μ-law."""
    with wave.open(str(path), "rb") as wav:
        if wav.getsampwidth() != 2:
            raise ValueError(f"{path}: only 16-bit PCM WAV is supported")
        rate, channels = wav.getframerate(), wav.getnchannels()
        samples = pcm16_to_float(wav.readframes(wav.getnframes()))
    if channels > 1:
        samples = samples.reshape(-1, channels).mean(axis=1).astype(np.float32)
    return float_to_ulaw(resample(samples, rate, PHONE_RATE))


_piper: Any = None


async def piper_synthesize(text: str) -> bytes:
    """Caller speech from text with the embedded Piper voice (loaded on first use)."""
    global _piper
    from callcenter.tts.piper import PiperSynthesizer
    from callcenter.tts.render import render_ulaw

    if _piper is None:
        # The same words always give the same audio: a flaky transcript must not make a
        # test or a benchmark differ from run to run.
        _piper = PiperSynthesizer(deterministic=True)
    return await render_ulaw(_piper, text)


async def render(say: Say, synthesize: Synthesize | None) -> bytes:
    if say.ulaw is not None:
        return say.ulaw
    if say.wav is not None:
        return trim_silence(wav_to_ulaw(say.wav))
    if say.text is not None:
        return trim_silence(await (synthesize or piper_synthesize)(say.text))
    raise ValueError("empty say step")


def trim_silence(ulaw: bytes, threshold_dbfs: float = -45.0, frame: int = 160) -> bytes:
    """Drop leading and trailing silence, so "end of caller speech" in the timeline is the
    last spoken frame, not the end of the file (TTS and recordings carry silent tails)."""
    samples = ulaw_to_float(ulaw)
    frames = len(samples) // frame
    if frames == 0:
        return ulaw
    rms = np.sqrt(np.mean(samples[: frames * frame].reshape(frames, frame) ** 2, axis=1))
    loud = np.flatnonzero(rms > 10 ** (threshold_dbfs / 20))
    if loud.size == 0:
        return ulaw
    start, stop = int(loud[0]) * frame, min(len(ulaw), (int(loud[-1]) + 1) * frame)
    return ulaw[start:stop]


async def render_all(steps: Sequence[Step], synthesize: Synthesize | None) -> dict[int, bytes]:
    """Audio per step index, for every step that speaks."""
    audio: dict[int, bytes] = {}
    for index, step in enumerate(steps):
        if isinstance(step, Say):
            audio[index] = await render(step, synthesize)
        elif isinstance(step, Interrupt):
            audio[index] = await render(step.say, synthesize)
    return audio
