"""Voice activity detection (Silero VAD, ONNX) and endpointing for one call.

The Silero model is the copy faster-whisper ships (``faster_whisper/assets/
silero_vad_v6.onnx``); the ``silero-vad`` package would pull in PyTorch. The model is
streaming: every 512-sample window (32 ms at 16 kHz) is fed with the last 64 samples of
the previous window as context, and the LSTM state (h, c) is carried forward.

:class:`Endpointer` turns per-window speech probabilities into turn events using a
plain, typed :class:`EndpointingPolicy`. It is pure and synchronous: the call session
feeds it each 20 ms frame and acts on the events it returns.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np
import onnxruntime

from callcenter.audio.asr_stream import TranscriptionAudio
from callcenter.audio.frames import AudioBuffer, FrameAccumulator
from callcenter.audio.resample import StreamResampler

if TYPE_CHECKING:
    from callcenter.settings import Settings

VAD_RATE = 16000
WINDOW = 512  # samples per model call at 16 kHz (32 ms): the size Silero v5/v6 expect
CONTEXT = 64  # samples of the previous window prepended to each call
WINDOW_MS = WINDOW * 1000 // VAD_RATE
# soxr's quick (cubic) quality for caller audio 8 -> 16 kHz. The high-quality filter holds
# back 66 ms of output in streaming mode, so the VAD heard the caller 66 ms late, and its
# band-limited output made Silero miss soft, short onsets: over 160 phase-shifted
# interruptions it missed 8 and took > 300 ms for 17 (QQ: none and none; speech onset ->
# barge-in p95 994 -> 220 ms). Whisper reads the same audio equally well (FSDD digits 95.7 %
# and OSR WER 0 % with either), and noise, hum, clicks and DTMF still never start a turn.
INBOUND_QUALITY = "QQ"
# The LSTM state drifts over a long stream: after 40 s of a silent line a short "Ja." peaked
# at p = 0.46 instead of 0.88 and was never heard (300 s: 0.41); silero-vad #725 reports
# the same for live audio. The state is reset in quiet between turns, at most this often
# (Pipecat resets every 5 s); a turn in progress keeps its state.
STATE_RESET_S = 5.0


def silero_model_path() -> str:
    import faster_whisper

    return os.path.join(os.path.dirname(faster_whisper.__file__), "assets", "silero_vad_v6.onnx")


@lru_cache(maxsize=1)
def _session() -> onnxruntime.InferenceSession:
    """One ONNX session for the whole process; per-call state lives in :class:`SileroVad`."""
    options = onnxruntime.SessionOptions()
    # One thread: a window is ~0.1 ms of work; more threads only add wake-up latency
    # and steal cores from ASR and TTS.
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.log_severity_level = 4
    return onnxruntime.InferenceSession(
        silero_model_path(), sess_options=options, providers=["CPUExecutionProvider"]
    )


class SileroVad:
    """Streaming speech probability for one audio stream (16 kHz, 512-sample windows)."""

    def __init__(self) -> None:
        self._session = _session()
        self.reset()

    def reset(self) -> None:
        self._h = np.zeros((1, 1, 128), dtype=np.float32)
        self._c = np.zeros((1, 1, 128), dtype=np.float32)
        self._context = np.zeros(CONTEXT, dtype=np.float32)

    def __call__(self, window: np.ndarray) -> float:
        """Probability that the 32 ms ``window`` (512 float32 samples) is speech."""
        if window.shape != (WINDOW,):
            raise ValueError(f"expected {WINDOW} samples at 16 kHz, got shape {window.shape}")
        model_input = np.concatenate([self._context, window]).astype(np.float32)[None, :]
        outputs: list[Any] = self._session.run(
            None, {"input": model_input, "h": self._h, "c": self._c}
        )
        probability, self._h, self._c = outputs
        self._context = window[-CONTEXT:].astype(np.float32)
        return float(np.asarray(probability).reshape(-1)[0])

    def probabilities(self, audio: np.ndarray) -> np.ndarray:
        """Per-window probabilities of a whole 16 kHz clip (tail shorter than a window dropped)."""
        count = len(audio) // WINDOW
        return np.array([self(audio[i * WINDOW : (i + 1) * WINDOW]) for i in range(count)])


@dataclass(frozen=True)
class EndpointingPolicy:
    """When the caller has started and finished a turn. Times are in milliseconds.

    Attributes:
        threshold: speech probability at or above which a window counts as speech.
        neg_threshold: below this a window counts as silence; between the two, the
            previous state holds (hysteresis). ``None`` = ``threshold - 0.15``.
        min_speech_ms: speech must last this long before ``SpeechStarted`` (coughs,
            clicks and line noise are shorter).
        min_silence_ms: silence that ends the turn. Longer = fewer cut-off callers,
            slower answers.
        speech_pad_ms: audio kept before the start and after the end of speech, so that
            soft onsets and trailing consonants reach the ASR.
        max_utterance_s: a turn is cut here (``SpeechEnded(truncated=True)``) and a new
            one starts, so a monologue or a stuck line never grows without bound.
        pause_ms: silence after which ``SpeechPaused`` is emitted once, so the session
            can start a speculative transcription while endpointing is still waiting;
            0 disables it. Must be below ``min_silence_ms`` to be useful.
        onset_lookback_ms: speech is dated from where the probability first rose out of
            silence (above ``silence_threshold``), up to this long before the first window
            above ``threshold``. Soft onsets ("w", "h", "s") climb through the hysteresis
            band for a window or two; without this they start the clock late, which
            delays barge-in and cuts the first phoneme from the turn's audio.
    """

    threshold: float = 0.5
    neg_threshold: float | None = None
    min_speech_ms: int = 120
    min_silence_ms: int = 450
    speech_pad_ms: int = 200
    max_utterance_s: float = 20.0
    # Equal to speech_pad_ms: the speculative audio is then exactly the final turn audio
    # (same trailing pad), so a confirmed speculation transcribes what the turn would.
    pause_ms: int = 200
    onset_lookback_ms: int = 64

    def __post_init__(self) -> None:
        if not 0.0 < self.threshold < 1.0:
            raise ValueError(f"threshold must be in (0, 1), got {self.threshold}")
        if self.min_silence_ms <= 0 or self.max_utterance_s <= 0:
            raise ValueError("min_silence_ms and max_utterance_s must be positive")
        if min(self.min_speech_ms, self.speech_pad_ms, self.pause_ms, self.onset_lookback_ms) < 0:
            raise ValueError("durations must not be negative")

    @property
    def silence_threshold(self) -> float:
        if self.neg_threshold is not None:
            return self.neg_threshold
        return max(0.01, self.threshold - 0.15)

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> EndpointingPolicy:
        values: dict[str, Any] = {
            "threshold": settings.vad_threshold,
            "min_speech_ms": settings.vad_min_speech_ms,
            "min_silence_ms": settings.vad_min_silence_ms,
        }
        values.update(overrides)
        return cls(**values)


@dataclass(frozen=True)
class SpeechStarted:
    at_ms: float  # stream time of the first speech window


@dataclass(frozen=True, eq=False)
class SpeechPaused:
    """Silence began; the turn may or may not be over. ``audio`` = the turn so far."""

    at_ms: float  # stream time where the silence began
    audio: np.ndarray = field(repr=False)  # 16 kHz float32, with padding


@dataclass(frozen=True, eq=False)
class SpeechEnded:
    at_ms: float  # stream time where the final silence began (or the cut, if truncated)
    audio: np.ndarray = field(repr=False)  # 16 kHz float32 utterance incl. padding
    truncated: bool = False  # cut at max_utterance_s; the caller is still talking

    @property
    def duration_s(self) -> float:
        return len(self.audio) / VAD_RATE


EndpointEvent = SpeechStarted | SpeechPaused | SpeechEnded


class Endpointer:
    """Per-call turn detector: feed frames, get :data:`EndpointEvent` lists back.

    ``input_rate`` is 8000 (phone frames, resampled here with filter state kept across
    frames) or 16000. Stream time starts at 0 with the first sample fed.
    """

    def __init__(
        self,
        policy: EndpointingPolicy | None = None,
        *,
        input_rate: int = 8000,
        vad: SileroVad | None = None,
    ) -> None:
        if input_rate not in (8000, 16000):
            raise ValueError(f"input_rate must be 8000 or 16000, got {input_rate}")
        self.policy = policy or EndpointingPolicy()
        self.vad = vad or SileroVad()
        self._resampler = StreamResampler(input_rate, VAD_RATE, quality=INBOUND_QUALITY)
        self._windows = FrameAccumulator(WINDOW)
        self._audio = AudioBuffer()
        self._asr_audio = TranscriptionAudio(input_rate, VAD_RATE)
        self._pad = _samples(self.policy.speech_pad_ms)
        self._reset_turn()
        self.last_probability = 0.0
        self._state_since = 0  # sample index of the VAD state's last reset

    # --------------------------------------------------------------------- public
    @property
    def speaking(self) -> bool:
        """True between ``SpeechStarted`` and ``SpeechEnded``."""
        return self._started

    @property
    def pausing(self) -> bool:
        """Inside a turn, in silence that has not (yet) ended the turn."""
        return self._started and self._silence_start is not None

    @property
    def hearing_speech(self) -> bool:
        """The latest window was speech: a turn starting (not yet ``min_speech_ms`` long,
        a cough may still turn out to be all it was) or going on."""
        if not self._started:
            return self._candidate is not None
        return self._silence_start is None

    def push(self, samples: np.ndarray) -> list[EndpointEvent]:
        """Feed one frame (any length) at ``input_rate``; returns the events it caused."""
        events: list[EndpointEvent] = []
        self._asr_audio.push(samples)
        for window in self._windows.push(self._resampler.process(samples)):
            self._audio.append(window)
            self.last_probability = self.vad(window)
            self._step(self.last_probability, events)
        return events

    def flush(self) -> list[EndpointEvent]:
        """End of stream: finish a turn in progress (the caller hung up mid-sentence)."""
        events: list[EndpointEvent] = []
        if self._started:
            end = self._silence_start if self._silence_start is not None else self._audio.end
            events.append(self._end_turn(end))
        return events

    def hold(self, silence_ms: float) -> None:
        """The silence that ends the current pause (semantic endpointing moves it between
        ``min_silence_ms`` and a longer wait); back to ``min_silence_ms`` at the next one."""
        self._end_silence = _samples(silence_ms)

    def reset(self) -> None:
        """Forget the current turn and the VAD state (e.g. after the agent was barged in)."""
        self.vad.reset()
        self._asr_audio.dropped(self._windows.pending)
        self._windows.reset()
        self._reset_turn()

    # --------------------------------------------------------------------- state machine
    def _reset_turn(self) -> None:
        self._candidate: int | None = None  # first speech sample of a not-yet-started turn
        self._rise: int | None = None  # first sample of the current run above silence
        self._started = False
        self._turn_start = 0  # first speech sample of the current turn
        self._silence_start: int | None = None
        self._paused = False
        self._end_silence = _samples(self.policy.min_silence_ms)

    def _step(self, probability: float, events: list[EndpointEvent]) -> None:
        policy = self.policy
        now = self._audio.end  # absolute sample index just after this window
        window_start = now - WINDOW
        is_speech = probability >= policy.threshold
        is_silence = probability < policy.silence_threshold

        if not self._started:
            if is_silence:
                self._rise = None
                if self._candidate is None and now - self._state_since >= _samples(
                    STATE_RESET_S * 1000
                ):
                    self.vad.reset()  # quiet, no turn: a fresh state for the next words
                    self._state_since = now
            elif self._rise is None:
                self._rise = window_start
            if is_speech and self._candidate is None:
                rise = self._rise if self._rise is not None else window_start
                self._candidate = max(rise, window_start - _samples(policy.onset_lookback_ms))
            elif is_silence:
                self._candidate = None
            if self._candidate is not None and now - self._candidate >= _samples(
                policy.min_speech_ms
            ):
                self._started = True
                self._turn_start = self._candidate
                self._candidate = None
                events.append(SpeechStarted(at_ms=_ms(self._turn_start)))
            else:
                # Idle: keep only what a future turn's pre-roll can need.
                keep = (
                    self._pad
                    + _samples(policy.min_speech_ms + policy.onset_lookback_ms)
                    + 2 * WINDOW
                )
                self._audio.trim_before(now - keep)
                self._asr_audio.trim_before(now - keep)
            return

        if is_speech:
            self._silence_start = None
            self._paused = False
            self._end_silence = _samples(policy.min_silence_ms)
        elif is_silence and self._silence_start is None:
            self._silence_start = window_start

        if self._silence_start is not None:
            silent = now - self._silence_start
            if policy.pause_ms and not self._paused and silent >= _samples(policy.pause_ms):
                self._paused = True
                events.append(
                    SpeechPaused(at_ms=_ms(self._silence_start), audio=self._turn_audio(now))
                )
            if silent >= self._end_silence:
                events.append(self._end_turn(self._silence_start))
                return

        # Cut only while speech goes on: in a pause, the silence rule ends the turn soon.
        too_long = now - self._turn_start >= policy.max_utterance_s * VAD_RATE
        if too_long and self._silence_start is None:
            events.append(self._end_turn(now, truncated=True))
            # The caller is still talking: the next turn starts right here, no pre-roll
            # (it is already in the previous turn's audio).
            self._started = True
            self._turn_start = now
            events.append(SpeechStarted(at_ms=_ms(now)))

    def _turn_audio(self, speech_end: int) -> np.ndarray:
        start = self._turn_start - self._pad
        speech_stop = speech_end if self._silence_start is None else self._silence_start
        end = min(self._audio.end, speech_stop + self._pad)
        return self._asr_audio.read(start, end, self._audio)

    def _end_turn(self, end: int, *, truncated: bool = False) -> SpeechEnded:
        start = self._turn_start if truncated else self._turn_start - self._pad
        stop = end if truncated else min(self._audio.end, end + self._pad)
        event = SpeechEnded(
            at_ms=_ms(end),
            audio=self._asr_audio.read(start, stop, self._audio),
            truncated=truncated,
        )
        self._reset_turn()
        return event


def _samples(ms: float) -> int:
    return int(ms * VAD_RATE / 1000)


def _ms(samples: int) -> float:
    return samples * 1000.0 / VAD_RATE
