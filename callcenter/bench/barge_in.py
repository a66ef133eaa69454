"""`callcenter bench turns`, caller sound over the agent: how fast the agent goes quiet,
and which sounds let it resume.

* Pause reaction: speech onset (first loud sample) -> the end of the 20 ms frame after
  which the session pauses the agent, plus the playout lead still buffered at Twilio (the
  caller hears that much more). Two triggers on the same clips, each clip at four frame
  phases: ``confirmed_onset`` (a caller turn has started and lasted
  ``barge_in_min_speech_ms``: the trigger until this change) and ``first_speech_window``
  (the first VAD window called speech, what the session uses now).
* False pauses: noises (hiss, hum, clicks, keypad tones) that would pause the agent with
  the new trigger, and the gap the caller would hear (held time minus the lead).
* Backchannels and one-word interruptions through the ASR and the backchannel rule.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import numpy as np

from callcenter.audio.g711 import PHONE_RATE
from callcenter.audio.resample import resample
from callcenter.bench.speech_clips import (
    ESPEAK_VOICES,
    Utterance,
    espeak,
    frames,
    osr_sentences,
    trim,
)
from callcenter.bench.stats import summary
from callcenter.dialogue.events import CallerSpeechStarted
from callcenter.dialogue.listening import Listening
from callcenter.settings import Settings

BACKCHANNELS = ("Mm-hmm.", "Yeah.", "Okay.", "Right.")
INTERJECTIONS = ("Wait.", "Stop.", "Hold on.", "No, that's wrong.", "Sorry, what?")
PHASES_MS = (0, 5, 10, 15)


def interruption_clips(speech_data: Path) -> list[Utterance]:
    """Real interruptions: FSDD digits (six speakers, five digits each), the onsets of the
    ten OSR sentences, espeak-ng interjections in three voices."""
    from callcenter.asr.bench import phone_frames

    clips: list[Utterance] = []
    folder = speech_data / "fsdd_8k"
    speakers = sorted({wav.name.split("_")[1] for wav in folder.glob("*_*_*.wav")})[:6]
    for speaker in speakers:
        for digit in (1, 2, 4, 7, 9):
            wav = folder / f"{digit}_{speaker}_{digit % 5}.wav"
            if wav.exists():
                clips.append(Utterance(wav.stem, trim(phone_frames(wav))))
    clips += [Utterance(u.name, u.audio[:PHONE_RATE]) for u in osr_sentences(speech_data)]
    clips += [
        Utterance(f"espeak-{voice}-{text}", trim(espeak(text, voice)))
        for text in INTERJECTIONS
        for voice in ESPEAK_VOICES
    ]
    return clips


def noise_clips() -> list[Utterance]:
    rng = np.random.default_rng(7)
    t = np.arange(PHONE_RATE) / PHONE_RATE
    clicks = np.zeros(PHONE_RATE, dtype=np.float32)
    clicks[::1600] = 0.8
    out = [
        Utterance("hiss-0.02", 0.02 * rng.standard_normal(PHONE_RATE)),
        Utterance("hiss-0.1", 0.1 * rng.standard_normal(PHONE_RATE)),
        Utterance("hum-60hz", 0.1 * np.sin(2 * np.pi * 60 * t)),
        Utterance("clicks", clicks),
    ]
    for low, high in ((697, 1209), (941, 1336), (852, 1477)):  # keypad tones 1, 0, 9
        tone = 0.2 * (np.sin(2 * np.pi * low * t) + np.sin(2 * np.pi * high * t))
        out.append(Utterance(f"dtmf-{low}+{high}", tone[: PHONE_RATE // 5]))
    return [Utterance(u.name, u.audio.astype(np.float32)) for u in out]


def _triggers(settings: Settings, audio: np.ndarray) -> tuple[float | None, float | None, float]:
    """Stream ms after the frame where each trigger first fired (confirmed onset, first
    speech window), and how long the new trigger held in all."""
    listening = Listening(settings, completion=None)

    async def go() -> tuple[float | None, float | None, float]:
        started = False
        confirmed: float | None = None
        first: float | None = None
        held = 0.0
        for frame in frames(audio):
            for event in listening.feed(frame):
                started |= isinstance(event, CallerSpeechStarted)
            at = listening.position_ms
            if (
                confirmed is None
                and started
                and listening.speech_ms >= (settings.barge_in_min_speech_ms)
            ):
                confirmed = at
            if listening.hearing_speech or listening.in_turn:
                first = at if first is None else first
                held += 20.0
        return confirmed, first, held

    return asyncio.run(go())


def pause_reaction(settings: Settings, clips: list[Utterance]) -> dict[str, Any]:
    lead_ms = settings.playout_lead_ms
    before: list[float] = []
    after: list[float] = []
    missed = 0
    for clip in clips:
        for phase in PHASES_MS:
            lead = np.zeros(PHONE_RATE // 2 + phase * PHONE_RATE // 1000, dtype=np.float32)
            audio = np.concatenate([lead, clip.audio, np.zeros(PHONE_RATE, dtype=np.float32)])
            loud = np.flatnonzero(np.abs(clip.audio) > 0.02)
            onset = (len(lead) + int(loud[0] if loud.size else 0)) * 1000 / PHONE_RATE
            confirmed, first, _ = _triggers(settings, audio)
            if confirmed is not None:
                before.append(confirmed - onset + lead_ms)
            if first is not None:
                after.append(first - onset + lead_ms)
            else:
                missed += 1
    return {
        "onsets": len(clips) * len(PHASES_MS),
        "never_paused": missed,
        "playout_lead_ms": lead_ms,
        "confirmed_onset_ms": summary(before),
        "first_speech_window_ms": summary(after),
    }


def false_pauses(settings: Settings) -> dict[str, Any]:
    rows = {}
    for clip in noise_clips():
        audio = np.concatenate([np.zeros(PHONE_RATE // 2, np.float32), clip.audio])
        _, first, held = _triggers(settings, np.concatenate([audio, np.zeros(4000, np.float32)]))
        gap = max(0.0, held - settings.playout_lead_ms) if first is not None else 0.0
        rows[clip.name] = {"paused": first is not None, "gap_ms": gap}
    return rows


def backchannels(settings: Settings, speech_data: Path) -> dict[str, Any]:
    from callcenter.asr.faster_whisper import WhisperEngine
    from callcenter.dialogue.backchannel import is_backchannel

    engine = WhisperEngine(settings.asr_model, device="cpu")
    soft = [Utterance(f"{t}-{v}", trim(espeak(t, v))) for t in BACKCHANNELS for v in ESPEAK_VOICES]
    real = interruption_clips(speech_data)

    def heard(audio: np.ndarray) -> str:
        return engine.transcribe(resample(audio, PHONE_RATE, 16000).astype(np.float32)).text

    soft_text = [heard(u.audio) for u in soft]
    real_text = [heard(u.audio) for u in real if not u.name.startswith("osr")]
    return {
        "backchannels": len(soft),
        "resumed": sum(is_backchannel(t) for t in soft_text),
        "lost_replies": sum(not is_backchannel(t) for t in soft_text),
        "backchannel_transcripts": soft_text,
        "real_interruptions": len(real_text),
        "barged_in": sum(not is_backchannel(t) for t in real_text),
        "real_transcripts": real_text,
        "pause_reaction": pause_reaction(settings, real),
        "backchannel_pause_reaction": pause_reaction(settings, soft),
        "false_pauses_on_noise": false_pauses(settings),
    }
