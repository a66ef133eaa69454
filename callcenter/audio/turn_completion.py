"""Is the caller's turn complete? Smart Turn v3.2 on the last 8 s of the turn's audio.

Silence alone cannot tell "my number is ... one zero zero one" from a finished sentence;
Smart Turn (an ONNX audio classifier, Whisper-encoder based, BSD-2-Clause, by Daily) hears
intonation and phrasing and says how likely the turn is finished. It reads the Whisper
log-mel spectrogram of the last 8 s at 16 kHz ([1, 80, 800]); we compute that here with
numpy (the standard Whisper recipe: periodic Hann 400, hop 160, Slaney mel filters, log10,
8-decade floor, (x + 4) / 4) so no speech framework is imported.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Protocol

import numpy as np
import onnxruntime

RATE = 16000
WINDOW_S = 8
N_FFT = 400
HOP = 160
N_MELS = 80


class TurnCompletionModel(Protocol):
    """Probability in [0, 1] that the speech in ``audio`` (16 kHz float32) is a finished turn."""

    def probability(self, audio: np.ndarray) -> float: ...


def _hz_to_mel(hz: np.ndarray) -> np.ndarray:
    """Slaney mel scale: linear below 1 kHz, logarithmic above."""
    hz = np.asarray(hz, dtype=np.float64)
    linear = 3.0 * hz / 200.0
    logarithmic = 15.0 + np.log(np.maximum(hz, 1e-9) / 1000.0) * 27.0 / np.log(6.4)
    return np.where(hz >= 1000.0, logarithmic, linear)


def _mel_to_hz(mel: np.ndarray) -> np.ndarray:
    mel = np.asarray(mel, dtype=np.float64)
    linear = 200.0 * mel / 3.0
    logarithmic = 1000.0 * np.exp(np.log(6.4) / 27.0 * (mel - 15.0))
    return np.where(mel >= 15.0, logarithmic, linear)


@lru_cache(maxsize=1)
def mel_filters() -> np.ndarray:
    """[N_MELS, N_FFT // 2 + 1] triangular filters, area-normalised (Slaney)."""
    edges = _mel_to_hz(
        np.linspace(_hz_to_mel(np.array(0.0)), _hz_to_mel(np.array(RATE / 2)), N_MELS + 2)
    )
    bins = np.linspace(0.0, RATE / 2, N_FFT // 2 + 1)
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (bins[None, :] - lower) / (centre - lower)
    falling = (upper - bins[None, :]) / (upper - centre)
    triangles = np.maximum(0.0, np.minimum(rising, falling))
    return triangles * (2.0 / (upper - lower))


def log_mel(audio: np.ndarray) -> np.ndarray:
    """Whisper features of exactly 8 s of 16 kHz audio (shorter: zero-padded at the end)."""
    if audio.ndim != 1:
        raise ValueError(f"expected mono audio, got shape {audio.shape}")
    n = RATE * WINDOW_S
    x = np.zeros(n, dtype=np.float32)
    x[: min(n, audio.size)] = audio[:n]
    # Whisper's feature extractor normalises the waveform (zero mean, unit variance).
    x = (x - x.mean()) / np.sqrt(x.var() + 1e-7)
    padded = np.pad(x.astype(np.float64), N_FFT // 2, mode="reflect")
    frames = np.lib.stride_tricks.sliding_window_view(padded, N_FFT)[::HOP]
    hann = 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(N_FFT) / N_FFT)  # periodic
    power = np.abs(np.fft.rfft(frames * hann, axis=-1)) ** 2  # [frames, bins]
    mel = np.log10(np.maximum(power @ mel_filters().T, 1e-10)).T[:, :-1]
    mel = np.maximum(mel, mel.max() - 8.0)
    return ((mel + 4.0) / 4.0).astype(np.float32)


def last_window(audio: np.ndarray) -> np.ndarray:
    """The last 8 s of the turn; a shorter turn is zero-padded in front (as trained)."""
    n = RATE * WINDOW_S
    if audio.size >= n:
        return audio[-n:]
    return np.concatenate([np.zeros(n - audio.size, dtype=np.float32), audio.astype(np.float32)])


@lru_cache(maxsize=2)
def _session(path: str) -> onnxruntime.InferenceSession:
    options = onnxruntime.SessionOptions()
    # One thread: 40-70 ms per call, and it must not take cores from ASR/TTS.
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.log_severity_level = 4
    return onnxruntime.InferenceSession(
        path, sess_options=options, providers=["CPUExecutionProvider"]
    )


class SmartTurn:
    """The Smart Turn v3.2 ONNX model; one session shared by all calls.

    No lock: onnxruntime documents ``InferenceSession.run`` as thread-safe, so pause
    verdicts of concurrent calls run side by side instead of queueing behind each other
    (``callcenter bench turns`` measures both)."""

    def __init__(self, path: Path) -> None:
        self._session = _session(str(path))

    def probability(self, audio: np.ndarray) -> float:
        features = log_mel(last_window(audio))[None, :, :]
        (output,) = self._session.run(None, {"input_features": features})[:1]
        return float(np.asarray(output).reshape(-1)[0])
