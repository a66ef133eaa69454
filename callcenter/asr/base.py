"""The speech-to-text stage: one protocol, local and remote engines."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

ASR_RATE = 16000
# Pass as ``hint=`` when the dialogue expects digits (account number, PIN): the engine
# then decodes with a number-only vocabulary.
HINT_DIGITS = "digits"
# A date (date of birth) or a yes/no answer is expected: engines may steer decoding.
HINT_DATE = "date"
HINT_YES_NO = "yes_no"


@dataclass(frozen=True)
class Transcript:
    text: str
    # Mean token probability in [0, 1]; low values drive re-prompts and escalation.
    confidence: float
    language: str = "en"
    # How sure the audio language ID was (multilingual models; 1.0 = a one-language model).
    language_probability: float = 1.0
    audio_s: float = 0.0
    decode_s: float = 0.0
    # How many utterances shared the decode call (1 = decoded alone).
    batch_size: int = 1


class Transcriber(Protocol):
    """Turns one finished utterance (16 kHz float32 mono) into text."""

    async def transcribe(
        self, audio: np.ndarray, *, hint: str | None = None, language: str | None = None
    ) -> Transcript:
        """``language``: the call's language so far, a prior for a multilingual model
        (decode in it unless the audio is clearly another); ignored by one-language models."""
        ...

    async def close(self) -> None: ...
