"""A Whisper per language: once a call's language is known, its model hears the call.

Why: the multilingual model that names each utterance's language is a compromise across
all of them. A deployment can give a language a larger or language-specialised model
(``CALLCENTER_LANGUAGE_ASR_MODELS``, "en=distil-large-v3,de=/models/whisper-de"). The
call's language prior is the routing key: the session passes it only once the caller's
words have settled the language, so first words (and languages without a model of
their own) still go to the multilingual model, which detects.

What an override can still detect:

- a multilingual override (``detecting``) keeps naming each utterance's language among
  the deployment's; the call's language wins unless the audio is clearly another, and
  the session switches on what it names, as with the default model;
- a one-language model (``tiny.en``, ``distil-medium.en``) cannot tell languages apart:
  its transcript carries the call's language, and its language probability says nothing,
  so detection cannot move a call away from that language. Callers still switch by
  asking ("Spanish, please", "auf Deutsch bitte"), as far as that model writes the
  request down; a multilingual model for the language keeps both ways open.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import replace

import numpy as np

from callcenter.asr.base import Transcriber, Transcript


class LanguageRoutedTranscriber:
    """Implements :class:`~callcenter.asr.base.Transcriber`: the call's language picks the
    engine (``overrides``), else ``default`` (the multilingual one, which detects)."""

    def __init__(
        self,
        default: Transcriber,
        overrides: Mapping[str, Transcriber],
        *,
        detecting: Collection[str] = (),
    ) -> None:
        """``detecting``: languages whose override names the language itself (a
        multilingual model); the others' transcripts are put in their language."""
        self.default = default
        self.overrides = dict(overrides)
        self.detecting = frozenset(detecting)

    def transcriber_for(self, language: str | None) -> Transcriber:
        """The engine that decodes an utterance of a call in ``language``."""
        if language is None:
            return self.default
        return self.overrides.get(language, self.default)

    async def transcribe(
        self, audio: np.ndarray, *, hint: str | None = None, language: str | None = None
    ) -> Transcript:
        transcriber = self.transcriber_for(language)
        heard = await transcriber.transcribe(audio, hint=hint, language=language)
        if transcriber is self.default or language is None or language in self.detecting:
            return heard
        # A one-language model reports its own language (tiny.en: always "en"), sure of it.
        return replace(heard, language=language, language_probability=1.0)

    def set_vocabulary(self, prompt: str | None) -> None:
        """The glossary's decoder prompt, to every engine that takes one."""
        for transcriber in self.engines:
            steer = getattr(transcriber, "set_vocabulary", None)
            if callable(steer):
                steer(prompt)

    @property
    def engines(self) -> list[Transcriber]:
        """Each distinct engine once (languages may share one), the default first."""
        distinct: list[Transcriber] = []
        for transcriber in (self.default, *self.overrides.values()):
            if all(transcriber is not seen for seen in distinct):
                distinct.append(transcriber)
        return distinct

    async def close(self) -> None:
        for transcriber in self.engines:
            await transcriber.close()
