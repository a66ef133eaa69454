"""Machine translation of a call's transcript for the human agents (``handoff_language``).

One request per turn: small models translate one line reliably and drift, merge or drop
lines when handed a batch. Each translation is saved as soon as it arrives, so a job cut
short keeps what it did and a rerun only does the rest. A turn whose translation fails
stays untranslated; the job never raises for it (the console shows the original).
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from callcenter.languages.text_id import text_language
from callcenter.llm.base import ChatModel, StreamEnd, TextDelta
from callcenter.settings import get_settings
from callcenter.store.db import transaction
from callcenter.store.models import Speaker
from callcenter.store.translations import TurnToTranslate, save_translation, turns_to_translate
from callcenter.tasks.celery_app import app
from callcenter.tasks.common import build_chat_model, factory_for
from callcenter.tasks.summary import HandoffSummary
from callcenter.text.languages import KNOWN_LANGUAGES, english_name

log = logging.getLogger(__name__)

# Per turn: a stalled model must not hold the rest of the call.
TURN_TIMEOUT_S = 30.0
# The whole job: stop starting turns after this (the task's soft limit is above it);
# what is left is translated by the next request.
JOB_BUDGET_S = 240.0
MAX_TURN_CHARS = 2000
NOTES_SURE = 0.5  # text language ID score at which summary notes count as in a language

# The line goes in the user message after a short request: the embedded 0.5B model,
# given the line alone under a system prompt full of rules, read the rules back
# ("No quotes, no labels, ...") or answered it instead of translating it.
TRANSLATE_SYSTEM = "You translate phone call lines for a bank's call center into {target}."
TRANSLATE_REQUEST = "Translate this {source} {kind} into {target}:\n{text}"


class TranslationError(ValueError):
    """The model gave no usable translation."""


@dataclass
class TranslationReport:
    """What a job did (logs, tests, the task's return value)."""

    translated: list[int] = field(default_factory=list)  # turn seqs
    failed: dict[int, str] = field(default_factory=dict)  # seq -> why
    already: list[int] = field(default_factory=list)  # done meanwhile by another job
    left: list[int] = field(default_factory=list)  # not tried: the budget ran out

    def as_dict(self) -> dict[str, object]:
        return {
            "translated": self.translated,
            "failed": self.failed,
            "already": self.already,
            "left": self.left,
        }


# Labels models put before the translation: "Translation:", "English translation:",
# "Here is the translation:", "Agent:", "Caller:".
_LABEL = re.compile(
    r"^\s*(?:here(?:'s| is) (?:the |my )?(?:\w+ )?translation\s*:?|"
    r"(?:\w+ )?translation(?: \([^)]*\))?\s*:|english\s*:|german\s*:|spanish\s*:|"
    r"caller\s*:|agent\s*:)\s*",
    re.IGNORECASE,
)
_QUOTES = (
    ('"', '"'), ("'", "'"), ("“", "”"), ("„", "“"), ("«", "»"), ("‘", "’"), ("`", "`"),
)  # fmt: skip
# A note the model adds after the translation: "(Note: ...)", "Note: ...".
_NOTE = re.compile(r"\s*(?:\n|\s)\(?\s*note\s*:.*$", re.IGNORECASE | re.DOTALL)


# The instructions read back instead of a translation (a small model given a line it
# cannot place answers "No quotes, no labels, no notes, no explanation.").
_ECHO = re.compile(r"\bno (?:quotes|labels|notes|explanation)\b", re.IGNORECASE)


def clean_translation(reply: str) -> str:
    """The translation without what models add around it: code fences, a label, quotes,
    a trailing note. Empty when nothing is left, or when the reply reads the
    instructions back."""
    text = reply.strip()
    if text.startswith("```"):
        text = text.strip("`").strip()
        first, _, rest = text.partition("\n")
        text = rest.strip() if rest and re.fullmatch(r"[a-z]*", first.strip()) else text
    text = _NOTE.sub("", text).strip()
    for _ in range(2):  # a label inside quotes, or quotes after a label
        text = _LABEL.sub("", text, count=1).strip()
        for opening, closing in _QUOTES:
            if len(text) >= 2 and text[0] == opening and text[-1] == closing:
                text = text[1:-1].strip()
    if len(_ECHO.findall(text)) >= 2:
        return ""
    return text


def translation_messages(
    text: str, source: str, target: str, speaker: Speaker | None
) -> list[dict[str, str]]:
    """``speaker`` None: a note about the call (a handoff summary's), not a line said."""
    names = {"source": english_name(source), "target": english_name(target)}
    kind = "note" if speaker is None else "line"
    return [
        {"role": "system", "content": TRANSLATE_SYSTEM.format(**names)},
        {"role": "user", "content": TRANSLATE_REQUEST.format(**names, kind=kind, text=text)},
    ]


_DIGITS = re.compile(r"\d+")


async def translate_text(
    model: ChatModel,
    text: str,
    *,
    source: str,
    target: str,
    speaker: Speaker | None = Speaker.caller,
    timeout_s: float = TURN_TIMEOUT_S,
) -> str:
    """One line into ``target``; raises :class:`TranslationError` (or the model's error)
    when there is no usable translation. A reply cut off by the token limit is refused:
    half a sentence would read as the whole of what was said."""
    messages = translation_messages(text[:MAX_TURN_CHARS], source, target, speaker)

    async def collect() -> tuple[str, str]:
        parts, finish = [], "stop"
        async for event in model.stream(messages):
            if isinstance(event, TextDelta):
                parts.append(event.text)
            elif isinstance(event, StreamEnd):
                finish = event.finish_reason
        return "".join(parts), finish

    reply, finish = await asyncio.wait_for(collect(), timeout_s)
    if finish == "length":
        raise TranslationError("the reply was cut off at the token limit")
    translated = clean_translation(reply)
    if not translated:
        raise TranslationError(f"no translation in the reply: {reply[:120]!r}")
    # A number the line does not hold is the model's invention ("Wie lautet Ihre
    # Kontonummer?" came back as "Your account number is 1234567890.").
    invented = set(_DIGITS.findall(translated)) - set(_DIGITS.findall(text))
    if invented:
        raise TranslationError(f"the reply has numbers the line does not: {sorted(invented)}")
    return translated


SaveOne = Callable[[TurnToTranslate, str], bool]


async def notes_in(model: ChatModel, summary: HandoffSummary, target: str) -> HandoffSummary:
    """The summary's words (intent, open items, notes) in ``target``: a small model asked
    for notes in English about a Spanish call may write them in Spanish anyway; what is
    found in another language is translated field by field. Unsure language ID, or a
    failed translation, leaves a field as the model wrote it."""
    fields = [summary.intent, summary.notes, *summary.open_items]
    found = text_language(" ".join(fields), KNOWN_LANGUAGES)
    if found is None or found[0] == target or found[1] < NOTES_SURE:
        return summary
    source = found[0]

    async def translated(text: str) -> str:
        if not text.strip():
            return text
        try:
            return await translate_text(model, text, source=source, target=target, speaker=None)
        except Exception as error:  # the model's words stay: better than none
            log.warning("summary notes left in %s: %r", source, error)
            return text

    return summary.model_copy(
        update={
            "intent": await translated(summary.intent),
            "notes": await translated(summary.notes),
            "open_items": [await translated(item) for item in summary.open_items],
        }
    )


async def translate_turns(
    model: ChatModel,
    turns: list[TurnToTranslate],
    target: str,
    save: SaveOne,
    *,
    timeout_s: float = TURN_TIMEOUT_S,
    budget_s: float = JOB_BUDGET_S,
) -> TranslationReport:
    """Translate turn by turn, handing each result to ``save`` at once (False: another
    job stored it first). One turn's failure is recorded and the next one goes on."""
    report = TranslationReport()
    deadline = time.monotonic() + budget_s
    for index, turn in enumerate(turns):
        if time.monotonic() >= deadline:
            report.left = [t.seq for t in turns[index:]]
            break
        try:
            text = await translate_text(
                model,
                turn.text,
                source=turn.language,
                target=target,
                speaker=turn.speaker,
                timeout_s=timeout_s,
            )
        except Exception as error:  # one turn's failure never loses the others
            report.failed[turn.seq] = f"{type(error).__name__}: {str(error)[:200]}"
            continue
        if save(turn, text):
            report.translated.append(turn.seq)
        else:
            report.already.append(turn.seq)
    return report


def run_translation(
    factory: sessionmaker[Session],
    call_id: str,
    target: str,
    model_factory: Callable[[], ChatModel],
    *,
    model_name: str,
    timeout_s: float = TURN_TIMEOUT_S,
    budget_s: float = JOB_BUDGET_S,
) -> TranslationReport:
    """Translate the turns of a call that still need it into ``target``; idempotent
    (turns already translated are not asked for again)."""
    with factory() as session:
        pending = turns_to_translate(session, call_id, target)
    if not pending:
        return TranslationReport()

    def save(turn: TurnToTranslate, text: str) -> bool:
        try:
            with transaction(factory) as session:
                return save_translation(session, turn.turn_id, target, text, model=model_name)
        except IntegrityError:  # a concurrent job inserted it between check and insert
            return False

    async def translate_all() -> TranslationReport:
        model = model_factory()
        try:
            return await translate_turns(
                model, pending, target, save, timeout_s=timeout_s, budget_s=budget_s
            )
        finally:
            await model.close()

    try:
        report = asyncio.run(translate_all())
    except Exception as error:  # building the model failed: every turn stays as it is
        report = TranslationReport(
            failed={t.seq: f"{type(error).__name__}: {str(error)[:200]}" for t in pending}
        )
    if report.failed:
        log.warning(
            "call %s: %d turn(s) left untranslated into %s: %s",
            call_id,
            len(report.failed),
            target,
            next(iter(report.failed.values())),
        )
    return report


@app.task(name="callcenter.translate_call", acks_late=True, soft_time_limit=300, time_limit=330)
def translate_call(call_id: str, target: str) -> dict[str, object]:
    """Machine-translate a call's transcript into ``target`` (the human agents' language)."""
    settings = get_settings()
    report = run_translation(
        factory_for(settings.sqlalchemy_url),
        call_id,
        target,
        lambda: build_chat_model(settings),
        model_name=settings.llm_model,
    )
    return report.as_dict()
