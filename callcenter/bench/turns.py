"""`callcenter bench turns`: cut-off turns and added delay, silence alone vs. semantic.

Real speech with thinking pauses put inside it: each utterance (the ten OSR Harvard
sentences, read by a person, and a few sentences in espeak-ng voices) is played once
whole and once with a pause of ``PAUSE_MS`` put at a quiet point in its middle. Each is
fed frame by frame (μ-law, 20 ms) through the real listening stage (Silero VAD, Smart
Turn), the pause's words given as empty (the model decides alone).

* cut-off share: paused utterances whose turn was ended inside the inserted pause;
* added delay: on whole utterances, speech end -> end of turn (what the caller waits for
  on top of the reply).

Backchannels (espeak-ng "mm-hmm", "yeah", "okay", "right") and real interruptions (one
spoken word by each FSDD speaker) go through the ASR and the backchannel rule: resumed
or barged in; and the pause reaction (speech onset -> the agent stops sending) is read off
the listening stage, plus the playout lead.
"""

from __future__ import annotations

import asyncio
import io
import shutil
import subprocess
import wave
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from callcenter.audio.g711 import PHONE_RATE, float_to_ulaw
from callcenter.audio.resample import resample
from callcenter.audio.turn_completion import TurnCompletionModel
from callcenter.bench.stats import summary
from callcenter.dialogue.events import CallerPaused, CallerSpeechStarted, CallerTurnEnded
from callcenter.dialogue.listening import Listening
from callcenter.settings import Settings

FRAME = PHONE_RATE // 50
PAUSE_MS = 800
ESPEAK_SENTENCES = (
    "My account number is one zero zero one four.",
    "I would like to check the balance on my savings account.",
    "Can you tell me when the branch near the airport opens?",
    "I lost my card yesterday and I need to block it.",
)
ESPEAK_VOICES = ("en-us", "en-gb+f3", "en-us+m3")
BACKCHANNELS = ("Mm-hmm.", "Yeah.", "Okay.", "Right.")


@dataclass(frozen=True)
class Utterance:
    name: str
    audio: np.ndarray  # 8 kHz float32, speech only (trimmed)


def espeak(text: str, voice: str) -> np.ndarray:
    out = subprocess.run(
        ["espeak-ng", "-v", voice, "-s", "160", "--stdout", text], capture_output=True, check=True
    ).stdout
    with wave.open(io.BytesIO(out)) as wav:
        rate = wav.getframerate()
        pcm = np.frombuffer(wav.readframes(wav.getnframes()), dtype=np.int16)
    return resample(pcm.astype(np.float32) / 32768.0, rate, PHONE_RATE).astype(np.float32)


def _trim(audio: np.ndarray, level: float = 0.02) -> np.ndarray:
    loud = np.flatnonzero(np.abs(audio) > level)
    return audio[loud[0] : loud[-1] + 1] if loud.size else audio


def osr_sentences(speech_data: Path) -> list[Utterance]:
    from callcenter.asr.bench import phone_frames
    from callcenter.audio.vad import Endpointer, EndpointingPolicy, SpeechEnded

    audio = phone_frames(speech_data / "osr_8k" / "OSR_us_000_0034_8k.wav")
    endpointer = Endpointer(EndpointingPolicy(min_silence_ms=450, speech_pad_ms=0))
    ends = [e for e in endpointer.push(audio) if isinstance(e, SpeechEnded)]
    out = []
    for index, end in enumerate(ends):
        speech = resample(end.audio, 16000, PHONE_RATE).astype(np.float32)
        out.append(Utterance(f"osr-{index + 1}", _trim(speech)))
    return out


def espeak_sentences() -> list[Utterance]:
    if shutil.which("espeak-ng") is None:
        return []
    return [
        Utterance(f"espeak-{voice}-{n}", _trim(espeak(text, voice)))
        for voice in ESPEAK_VOICES
        for n, text in enumerate(ESPEAK_SENTENCES)
    ]


def with_pause(audio: np.ndarray, pause_ms: int) -> tuple[np.ndarray, int]:
    """Put ``pause_ms`` of silence at the quietest 40 ms between 35 % and 65 % of the
    utterance (a word gap); returns the audio and where the pause starts (samples)."""
    hop = PHONE_RATE // 50
    lo, hi = int(len(audio) * 0.35) // hop, int(len(audio) * 0.65) // hop
    energy = [float(np.mean(audio[i * hop : (i + 2) * hop] ** 2)) for i in range(lo, hi)]
    cut = (lo + int(np.argmin(energy)) + 1) * hop
    pause = np.zeros(PHONE_RATE * pause_ms // 1000, dtype=np.float32)
    return np.concatenate([audio[:cut], pause, audio[cut:]]), cut


def _frames(audio: np.ndarray) -> list[bytes]:
    ulaw = float_to_ulaw(audio)
    return [ulaw[i : i + FRAME] for i in range(0, len(ulaw) - FRAME + 1, FRAME)]


Words = Callable[[np.ndarray], str]


def turn_ends(listening: Listening, audio: np.ndarray, words: Words | None = None) -> list[float]:
    """Stream ms of every turn end; the pause's words (``words`` of the pause audio, or
    empty) arrive at once."""

    async def go() -> list[float]:
        ends = []
        for frame in _frames(audio):
            for event in listening.feed(frame):
                if isinstance(event, CallerPaused):
                    text = words(event.audio) if words is not None else ""
                    listening.heard_so_far(text, event.end_ms)
                elif isinstance(event, CallerTurnEnded):
                    ends.append(event.end_ms + event.lag_s * 1000.0)
        return ends

    return asyncio.run(go())


def endpointing(
    settings: Settings,
    utterances: list[Utterance],
    model: TurnCompletionModel | None,
    min_silence_ms: int,
    threshold: float = 0.5,
    words: Words | None = None,
) -> dict[str, Any]:
    from callcenter.dialogue.listening import Listening

    config = settings.model_copy(
        update={"vad_min_silence_ms": min_silence_ms, "turn_complete_threshold": threshold}
    )
    lead = np.zeros(PHONE_RATE // 2, dtype=np.float32)
    tail = np.zeros(PHONE_RATE * 3, dtype=np.float32)
    cut_off, delays = 0, []
    for utterance in utterances:
        paused, cut = with_pause(utterance.audio, PAUSE_MS)
        pause_start = (len(lead) + cut) * 1000 / PHONE_RATE
        ends = turn_ends(
            Listening(config, completion=model, offload=False),
            np.concatenate([lead, paused, tail]),
            words,
        )
        if any(pause_start <= end < pause_start + PAUSE_MS for end in ends):
            cut_off += 1
        speech_end = (len(lead) + len(utterance.audio)) * 1000 / PHONE_RATE
        whole = turn_ends(
            Listening(config, completion=model, offload=False),
            np.concatenate([lead, utterance.audio, tail]),
            words,
        )
        final = [end for end in whole if end >= speech_end - 100]
        if final:
            delays.append(final[0] - speech_end)
    return {
        "min_silence_ms": min_silence_ms,
        "threshold": threshold if model is not None else None,
        "words": words is not None,
        "cut_off_share": round(cut_off / max(1, len(utterances)), 3),
        "added_delay_ms": summary(delays),
    }


def pause_reaction(settings: Settings, clips: list[np.ndarray]) -> dict[str, Any]:
    """Speech onset (first loud sample) -> the frame where listening reports speech long
    enough to pause the agent, plus the playout lead still buffered at Twilio."""
    lead = np.zeros(PHONE_RATE // 2, dtype=np.float32)
    delays = []
    for clip in clips:
        listening = Listening(settings, completion=None)
        audio = np.concatenate([lead, clip, np.zeros(PHONE_RATE, dtype=np.float32)])
        onset = (len(lead) + int(np.flatnonzero(np.abs(clip) > 0.02)[0])) * 1000 / PHONE_RATE

        async def go(listening: Listening = listening, audio: np.ndarray = audio) -> float | None:
            started = False
            for frame in _frames(audio):
                for event in listening.feed(frame):
                    started |= isinstance(event, CallerSpeechStarted)
                if started and listening.speech_ms >= settings.barge_in_min_speech_ms:
                    return listening.position_ms
            return None

        at = asyncio.run(go())
        if at is not None:
            delays.append(at - onset + settings.playout_lead_ms)
    return summary(delays)


def backchannels(settings: Settings, speech_data: Path) -> dict[str, Any]:
    from callcenter.asr.bench import phone_frames
    from callcenter.asr.faster_whisper import WhisperEngine
    from callcenter.bench.voice import human_interruptions
    from callcenter.dialogue.backchannel import is_backchannel

    engine = WhisperEngine(settings.asr_model, device="cpu")
    soft = [espeak(text, v) for text in BACKCHANNELS for v in ESPEAK_VOICES]
    real = [phone_frames(clip) for clip in human_interruptions(speech_data)]

    def heard(audio: np.ndarray) -> str:
        return engine.transcribe(resample(audio, PHONE_RATE, 16000).astype(np.float32)).text

    soft_text = [heard(a) for a in soft]
    real_text = [heard(a) for a in real]
    return {
        "backchannels": len(soft),
        "resumed": sum(is_backchannel(t) for t in soft_text),
        "lost_replies": sum(not is_backchannel(t) for t in soft_text),
        "backchannel_transcripts": soft_text,
        "real_interruptions": len(real),
        "barged_in": sum(not is_backchannel(t) for t in real_text),
        "real_transcripts": real_text,
        "pause_reaction_ms": pause_reaction(settings, [_trim(a) for a in real + soft]),
    }


VAD_SILENCES_MS = (300, 450, 600, 800, 1000)
SEMANTIC = ((300, 0.5), (450, 0.3), (450, 0.5), (450, 0.7))


def pause_words(settings: Settings) -> Words:
    """The pause's transcript by the embedded ASR (as speculation would have it)."""
    from callcenter.asr.faster_whisper import WhisperEngine

    engine = WhisperEngine(settings.asr_model, device="cpu")
    cache: dict[bytes, str] = {}

    def words(audio: np.ndarray) -> str:
        key = audio.tobytes()
        if key not in cache:
            cache[key] = engine.transcribe(audio.astype(np.float32)).text
        return cache[key]

    return words


def run_turns_bench(settings: Settings, speech_data: Path) -> dict[str, Any]:
    from callcenter.audio.smart_turn_files import installed_model
    from callcenter.audio.turn_completion import SmartTurn

    utterances = osr_sentences(speech_data) + espeak_sentences()
    model = SmartTurn(installed_model(settings.cache_dir))
    settings = settings.model_copy(update={"turn_max_silence_ms": 2000})
    vad = [endpointing(settings, utterances, None, ms) for ms in VAD_SILENCES_MS]
    semantic = [endpointing(settings, utterances, model, ms, th) for ms, th in SEMANTIC]
    semantic.append(endpointing(settings, utterances, model, 450, 0.5, pause_words(settings)))
    return {
        "utterances": [u.name for u in utterances],
        "pause_ms": PAUSE_MS,
        "max_silence_ms": settings.turn_max_silence_ms,
        "vad_alone": vad,
        "semantic": semantic,
        "interruptions": backchannels(settings, speech_data),
    }


def write_turns_report(report: dict[str, Any], out_dir: Path) -> tuple[Path, Path | None]:
    import json

    out_dir.mkdir(parents=True, exist_ok=True)
    json_path = out_dir / "turns.json"
    json_path.write_text(json.dumps(report, indent=2) + "\n")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return json_path, None
    figure, axes = plt.subplots(figsize=(6, 4))
    for label, rows in (("VAD alone", report["vad_alone"]), ("semantic", report["semantic"])):
        x = [r["added_delay_ms"].get("p50", 0) for r in rows]
        y = [100 * r["cut_off_share"] for r in rows]
        axes.plot(x, y, "o-" if label == "VAD alone" else "s", label=label)
        for r, xi, yi in zip(rows, x, y, strict=True):
            tag = f"{r['min_silence_ms']}" + (f"/{r['threshold']}" if r["threshold"] else "")
            tag += "+words" if r.get("words") else ""
            axes.annotate(tag, (xi, yi), fontsize=7)
    axes.set_xlabel("added delay on finished turns, p50 (ms)")
    axes.set_ylabel(f"turns cut off in a {report['pause_ms']} ms pause (%)")
    axes.legend()
    figure.tight_layout()
    chart = out_dir / "turns.png"
    figure.savefig(chart, dpi=120)
    plt.close(figure)
    return json_path, chart
