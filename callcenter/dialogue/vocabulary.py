"""The glossary a call uses (the published ``glossary`` prompt) and what it adds to the
model's system prompt. One place, so the prefix warmed at start-up is the one calls send.
"""

from __future__ import annotations

from dataclasses import replace

from callcenter.asr.base import Transcriber, Transcript
from callcenter.dialogue.call_log import CallLog
from callcenter.dialogue.prompts import PromptSet
from callcenter.text.glossary import PROMPT_NAME, Glossary


def glossary_of(prompts: PromptSet) -> Glossary:
    return Glossary.from_body(prompts.bodies.get(PROMPT_NAME, ""))


def system_prompt(prompts: PromptSet, glossary: Glossary | None = None) -> str:
    """The system prompt, with the glossary's names and spellings after it."""
    note = (glossary if glossary is not None else glossary_of(prompts)).llm_note()
    return f"{prompts.render('system')}\n\n{note}".strip()


def steer_asr(transcriber: Transcriber, glossary: Glossary) -> None:
    """Hand the terms to an engine that takes a decoder prompt (the embedded Whisper)."""
    steer = getattr(transcriber, "set_vocabulary", None)
    if callable(steer):
        steer(glossary.asr_prompt())


def corrected(transcript: Transcript, glossary: Glossary, call_log: CallLog) -> Transcript:
    """The transcript with known mis-hearings of the glossary's names fixed ("kill field"
    -> "Quillfield"); each fix is a ``glossary_fix`` call event."""
    text, fixed = glossary.correct(transcript.text)
    if not fixed:
        return transcript
    call_log.event("glossary_fix", {"terms": fixed})
    return replace(transcript, text=text)
