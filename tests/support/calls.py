"""A call stored with its turns, as a call held in one language leaves it (for the jobs
and pages that read stored calls: summaries, translations, the console)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.orm import Session, sessionmaker

from callcenter.store.calls import add_turn
from callcenter.store.db import transaction
from callcenter.store.models import Call, Speaker


def stored_call(
    factory: sessionmaker[Session],
    language: str,
    lines: Sequence[tuple[str, str]],
    *,
    from_number: str = "+34600000000",
) -> str:
    """A call in ``language`` whose turns are ``lines`` of (speaker, text); a line that
    starts "(keyed" was keyed on the phone. Returns the call's id."""
    with transaction(factory) as session:
        call = Call(call_sid="CA" + uuid.uuid4().hex, from_number=from_number)
        call.language = language
        session.add(call)
        session.flush()
        for seq, (speaker, text) in enumerate(lines, start=1):
            add_turn(
                session,
                call_id=call.id,
                seq=seq,
                speaker=Speaker(speaker),
                text=text,
                heard_text=text if speaker == "agent" else None,
                source="dtmf" if text.startswith("(keyed") else "speech",
                language=language,
            )
        return call.id
