"""The call page's data: the caller's mood after each caller turn (``mood`` events)."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from callcenter.store.calls import delete_turn, list_events
from callcenter.store.dashboard import frustrated_calls
from callcenter.store.models import Call, CallEvent, Speaker, Turn
from callcenter.web import call_ops


def test_each_caller_turn_carries_the_mood_heard_in_it(db_session: Session) -> None:
    call = Call(call_sid="CA" + uuid.uuid4().hex)
    db_session.add(call)
    db_session.flush()
    db_session.add_all(
        [
            Turn(call_id=call.id, seq=1, speaker=Speaker.agent, text="Hello."),
            Turn(call_id=call.id, seq=2, speaker=Speaker.caller, text="My balance."),
            Turn(call_id=call.id, seq=3, speaker=Speaker.agent, text="Your account number?"),
            Turn(call_id=call.id, seq=4, speaker=Speaker.caller, text="I already told you!"),
            CallEvent(call_id=call.id, kind="mood", payload={"seq": 2, "frustration": 0.05}),
            CallEvent(call_id=call.id, kind="mood", payload={"seq": 4, "frustration": 0.4}),
            CallEvent(call_id=call.id, kind="mood", payload={"frustration": 0.9}),  # no turn
        ]
    )
    db_session.flush()
    transcript = call_ops.detail(db_session, call.id)["transcript"]
    assert [t["frustration"] for t in transcript] == [None, 0.05, None, 0.4]


def test_a_turn_taken_back_takes_its_mood_reading_with_it(db_session: Session) -> None:
    # A speculative caller turn is recorded, read, then withdrawn (the caller went on):
    # neither the call page nor the dashboard may keep its reading.
    call = Call(call_sid="CA" + uuid.uuid4().hex)
    db_session.add(call)
    db_session.flush()
    db_session.add_all(
        [
            Turn(call_id=call.id, seq=2, speaker=Speaker.caller, text="This is ridiculous"),
            CallEvent(call_id=call.id, kind="mood", payload={"seq": 2, "frustration": 0.5}),
            CallEvent(call_id=call.id, kind="turn_timing", payload={"seq": 2}),
            Turn(call_id=call.id, seq=3, speaker=Speaker.caller, text="My balance, please."),
            CallEvent(call_id=call.id, kind="mood", payload={"seq": 3, "frustration": 0.1}),
        ]
    )
    db_session.flush()
    assert frustrated_calls(db_session, [call.id]) == 1
    delete_turn(db_session, call_id=call.id, seq=2)
    db_session.expire_all()
    transcript = call_ops.detail(db_session, call.id)["transcript"]
    assert [(t["seq"], t["frustration"]) for t in transcript] == [(3, 0.1)]
    assert [e.payload["seq"] for e in list_events(db_session, call.id, "mood")] == [3]
    assert len(list_events(db_session, call.id, "turn_timing")) == 1  # not a reading
    assert frustrated_calls(db_session, [call.id]) == 0
