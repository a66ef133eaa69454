"""`callcenter bench turns`: cut-off turns and added delay, silence alone vs. semantic.

Real speech with thinking pauses put inside it: each utterance (the ten OSR Harvard
sentences, read by a person, and a few sentences in espeak-ng voices) is played once
whole and once with a pause of ``PAUSE_MS`` put at a quiet point in its middle. Each is
fed frame by frame (μ-law, 20 ms) through the real listening stage (Silero VAD, Smart
Turn, the end-of-turn policy), the pause's words from the embedded ASR where a row says
"+words".

* cut-off share: paused utterances whose turn was ended inside the inserted pause;
* added delay: on whole utterances, speech end -> end of turn (what the caller waits for
  on top of the reply).

Caller sound over the agent (``bench/barge_in.py``) and the turn model under concurrent
calls (``bench/turn_model_load.py``) are reported beside it.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from callcenter.audio.g711 import PHONE_RATE
from callcenter.audio.turn_completion import TurnCompletionModel
from callcenter.audio.vad import Endpointer, EndpointingPolicy, SileroVad
from callcenter.bench.speech_clips import (
    ESPEAK_VOICES,
    Utterance,
    espeak,
    frames,
    osr_sentences,
    trim,
)
from callcenter.bench.stats import summary
from callcenter.dialogue.events import CallerPaused, CallerTurnEnded
from callcenter.dialogue.listening import Listening
from callcenter.settings import Settings

PAUSE_MS = 800
ESPEAK_SENTENCES = (
    "My account number is one zero zero one four.",
    "I would like to check the balance on my savings account.",
    "Can you tell me when the branch near the airport opens?",
    "I lost my card yesterday and I need to block it.",
)


def espeak_sentences() -> list[Utterance]:
    if shutil.which("espeak-ng") is None:
        return []
    return [
        Utterance(f"espeak-{voice}-{n}", trim(espeak(text, voice)))
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


Words = Callable[[np.ndarray], str]


def turn_ends(listening: Listening, audio: np.ndarray, words: Words | None = None) -> list[float]:
    """Stream ms of every turn end; the pause's words (``words`` of the pause audio, or
    empty) arrive at once."""

    async def go() -> list[float]:
        ends = []
        for frame in frames(audio):
            for event in listening.feed(frame):
                if isinstance(event, CallerPaused):
                    text = words(event.audio) if words is not None else ""
                    listening.heard_so_far(text, event.end_ms)
                elif isinstance(event, CallerTurnEnded):
                    ends.append(event.end_ms + event.lag_s * 1000.0)
        return ends

    return asyncio.run(go())


@dataclass(frozen=True)
class Row:
    """One endpointing setting. ``model`` False = silence alone (``min_silence_ms``)."""

    min_silence_ms: int
    model: bool = False
    words: bool = False
    threshold: float = 0.5
    max_silence_ms: int = 1200
    quick_replies: bool = True


def _delay(
    listening: Listening, audio: np.ndarray, speech_end: float, words: Words | None
) -> float | None:
    final = [end for end in turn_ends(listening, audio, words) if end >= speech_end - 100]
    return final[0] - speech_end if final else None


def endpointing(
    settings: Settings,
    utterances: list[Utterance],
    short: list[Utterance],
    model: TurnCompletionModel,
    words: Words,
    row: Row,
) -> dict[str, Any]:
    """Cut-off share in the inserted pause and added delay on whole utterances; added
    delay on short answers ("Yes.", "My balance."), which only the semantic rows speed up."""
    config = settings.model_copy(
        update={
            "vad_min_silence_ms": row.min_silence_ms,
            "turn_complete_threshold": row.threshold,
            "turn_max_silence_ms": row.max_silence_ms,
            "turn_quick_replies": row.quick_replies,
        }
    )

    def listening(audio: np.ndarray) -> Listening:
        kept = KEPT_VAD.setdefault(audio.tobytes(), [])
        endpointer = Endpointer(
            EndpointingPolicy.from_settings(config),
            input_rate=PHONE_RATE,
            vad=KeptVad(kept),  # type: ignore[arg-type]
        )
        return Listening(config, endpointer, completion=model if row.model else None, offload=False)

    heard = words if row.words else None
    lead = np.zeros(PHONE_RATE // 2, dtype=np.float32)
    tail = np.zeros(PHONE_RATE * 4, dtype=np.float32)
    cut_off, delays, short_delays = 0, [], []
    for utterance in utterances:
        paused, cut = with_pause(utterance.audio, PAUSE_MS)
        pause_start = (len(lead) + cut) * 1000 / PHONE_RATE
        audio = np.concatenate([lead, paused, tail])
        ends = turn_ends(listening(audio), audio, heard)
        if any(pause_start <= end < pause_start + PAUSE_MS for end in ends):
            cut_off += 1
        speech_end = (len(lead) + len(utterance.audio)) * 1000 / PHONE_RATE
        whole = np.concatenate([lead, utterance.audio, tail])
        delays.append(_delay(listening(whole), whole, speech_end, heard))
    for answer in short:
        speech_end = (len(lead) + len(answer.audio)) * 1000 / PHONE_RATE
        audio = np.concatenate([lead, answer.audio, tail])
        short_delays.append(_delay(listening(audio), audio, speech_end, heard))
    return {
        "min_silence_ms": row.min_silence_ms,
        "threshold": row.threshold if row.model else None,
        "max_silence_ms": row.max_silence_ms if row.model else None,
        "quick_replies": row.quick_replies if row.model else None,
        "words": row.words,
        "cut_off_share": round(cut_off / max(1, len(utterances)), 3),
        "added_delay_ms": summary([d for d in delays if d is not None]),
        "short_answer_delay_ms": summary([d for d in short_delays if d is not None]),
    }


VAD_SILENCES_MS = (450, 800, 1000, 1200, 1500)
# The semantic rows: the model alone (every turn the model calls finished is quick), then
# the policy (short answers quick, the rest wait max_silence_ms) across max_silence_ms,
# and the model's threshold. The defaults are picked from this curve (README).
SEMANTIC = (
    Row(450, model=True, words=True, max_silence_ms=1000),
    Row(450, model=True, words=True, max_silence_ms=1200),
    Row(450, model=True, words=True, max_silence_ms=1500),
    Row(450, model=True, words=True, max_silence_ms=1200, quick_replies=False),
)
# Standalone replies (answered fast) and short answers that are not (they wait).
SHORT_ANSWERS = ("Yes.", "No, thanks.", "That's right.", "My balance.", "A lost card.")


def short_answers() -> list[Utterance]:
    if shutil.which("espeak-ng") is None:
        return []
    return [
        Utterance(f"espeak-{voice}-{text}", trim(espeak(text, voice)))
        for voice in ESPEAK_VOICES
        for text in SHORT_ANSWERS
    ]


KEPT_VAD: dict[bytes, list[float]] = {}


class KeptVad:
    """Silero's answers for one clip, kept: every row hears the same audio from its start
    (the model is streaming, so the first pass runs it in order)."""

    def __init__(self, kept: list[float]) -> None:
        self._kept = kept
        self._index = 0
        self._silero: SileroVad | None = None

    def reset(self) -> None:
        self._index = 0

    def __call__(self, window: np.ndarray) -> float:
        if self._index >= len(self._kept):
            if self._silero is None:
                self._silero = SileroVad()
            self._kept.append(self._silero(window))
        self._index += 1
        return self._kept[self._index - 1]


class CachedModel:
    """The turn model with its answers kept: every row hears the same pause audio."""

    def __init__(self, model: TurnCompletionModel) -> None:
        self._model = model
        self._seen: dict[bytes, float] = {}

    def probability(self, audio: np.ndarray) -> float:
        key = audio.tobytes()
        if key not in self._seen:
            self._seen[key] = self._model.probability(audio)
        return self._seen[key]


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


def run_turns_bench(settings: Settings, speech_data: Path, part: str = "all") -> dict[str, Any]:
    """``part``: all, endpointing, interruptions or concurrent."""
    from callcenter.audio.smart_turn_files import installed_model
    from callcenter.audio.turn_completion import SmartTurn
    from callcenter.bench.barge_in import backchannels
    from callcenter.bench.turn_model_load import concurrent_verdicts

    report: dict[str, Any] = {}
    if part in ("all", "endpointing"):
        utterances = osr_sentences(speech_data) + espeak_sentences()
        short = short_answers()
        model = CachedModel(SmartTurn(installed_model(settings.cache_dir)))
        words = pause_words(settings)
        vad = [
            endpointing(settings, utterances, short, model, words, Row(ms))
            for ms in VAD_SILENCES_MS
        ]
        semantic = [endpointing(settings, utterances, short, model, words, row) for row in SEMANTIC]
        report |= {
            "utterances": [u.name for u in utterances],
            "short_answers": [u.name for u in short],
            "pause_ms": PAUSE_MS,
            "prompt_after_ms": settings.turn_prompt_after_ms,
            "vad_alone": vad,
            "semantic": semantic,
        }
    if part in ("all", "interruptions"):
        report["interruptions"] = backchannels(settings, speech_data)
    if part in ("all", "concurrent"):
        report["turn_model_concurrency"] = concurrent_verdicts(installed_model(settings.cache_dir))
    return report


def write_turns_report(report: dict[str, Any], out_dir: Path) -> tuple[Path, Path | None]:

    out_dir.mkdir(parents=True, exist_ok=True)
    json_path = out_dir / "turns.json"
    json_path.write_text(json.dumps(report, indent=2) + "\n")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return json_path, None
    if "vad_alone" not in report:
        return json_path, None
    figure, axes = plt.subplots(figsize=(6, 4))
    for label, rows in (("VAD alone", report["vad_alone"]), ("semantic", report["semantic"])):
        x = [r["added_delay_ms"].get("p50", 0) for r in rows]
        y = [100 * r["cut_off_share"] for r in rows]
        axes.plot(x, y, "o-" if label == "VAD alone" else "s", label=label)
        for r, xi, yi in zip(rows, x, y, strict=True):
            tag = f"{r['min_silence_ms']}" + (f"/{r['threshold']}" if r["threshold"] else "")
            tag += f"/{r['max_silence_ms']}" if r.get("max_silence_ms") else ""
            tag += "" if r.get("quick_replies") in (None, True) else "/no-quick"
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
