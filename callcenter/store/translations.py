"""Machine translations of a call's turns: which turns still need one, saving, reading.

A translation is for people who read another language than the caller spoke (the human
agents). The turn stays the record of what was said; a translation sits beside it,
one per turn and target language, and says which model made it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from callcenter.store.models import Call, Speaker, Turn, TurnTranslation
from callcenter.text.digits import keyed_keys

MACHINE = "llm"


@dataclass(frozen=True)
class TurnToTranslate:
    turn_id: int
    seq: int
    speaker: Speaker
    language: str  # the language the turn was said in
    text: str


def _said(turn: Turn) -> str:
    # What the caller heard of an agent turn is what a reader needs; a turn cut off
    # before anything was heard still has its text to show (struck through).
    if turn.speaker == Speaker.agent and turn.heard_text:
        return turn.heard_text
    return turn.text


def turns_to_translate(session: Session, call_id: str, target: str) -> list[TurnToTranslate]:
    """Turns of the call said in a language other than ``target``, with words to
    translate, and no ``target`` translation yet. Keypad turns carry digits, not words."""
    call = session.get(Call, call_id)
    if call is None:
        return []
    done = select(TurnTranslation.turn_id).where(TurnTranslation.language == target)
    turns = session.scalars(
        select(Turn).where(Turn.call_id == call_id, Turn.id.not_in(done)).order_by(Turn.seq)
    )
    pending = []
    for turn in turns:
        # Turns stored before languages were recorded were said in the call's language.
        language = turn.language or call.language
        text = _said(turn).strip()
        if language == target or not text or turn.source == "dtmf" or keyed_keys(text):
            continue
        pending.append(TurnToTranslate(turn.id, turn.seq, turn.speaker, language, text))
    return pending


def save_translation(session: Session, turn_id: int, target: str, text: str, *, model: str) -> bool:
    """Store one translation; False when the turn already has one in ``target`` (a
    duplicate job, or a person's request racing the handoff's) or is gone."""
    exists = session.scalar(
        select(TurnTranslation.id).where(
            TurnTranslation.turn_id == turn_id, TurnTranslation.language == target
        )
    )
    if exists is not None or session.get(Turn, turn_id) is None:
        return False
    session.add(
        TurnTranslation(
            turn_id=turn_id, language=target, text=text, made_by=MACHINE, model=model[:200]
        )
    )
    session.flush()
    return True


def translations_of_call(session: Session, call_id: str, target: str) -> dict[int, str]:
    """{turn seq: translated text} of the call's turns translated into ``target``."""
    rows = session.execute(
        select(Turn.seq, TurnTranslation.text)
        .join(TurnTranslation, TurnTranslation.turn_id == Turn.id)
        .where(Turn.call_id == call_id, TurnTranslation.language == target)
    )
    return {seq: text for seq, text in rows}


def needs_translation(session: Session, call_id: str, target: str) -> bool:
    return bool(turns_to_translate(session, call_id, target))
