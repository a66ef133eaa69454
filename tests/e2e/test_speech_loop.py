"""Simulated calls through the whole speech loop with the real embedded ASR, VAD and TTS.

The LLM is the scripted OpenAI-compatible server (deterministic dialogue); everything else
is what production runs on the CPU.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest
from sqlalchemy import select

from callcenter.bench.voice import human_interruptions, interruption_call
from callcenter.dialogue.prompts import backchannel_lines, default_prompt_set
from callcenter.simulator.caller import CallRemote, SimulationOptions, run_call
from callcenter.simulator.result import SimulationResult
from callcenter.simulator.script import Dtmf, Hangup, Interrupt, Say, Silence, Step, WaitAgent
from callcenter.store.db import make_session_factory
from callcenter.store.models import Call, CallEvent, Speaker, ToolInvocation, Turn
from tests.e2e.conftest import ACCOUNT_SID, AUTH_TOKEN, LONG_REPLY, SpeechApp
from tests.support.asr import transcribe_ulaw, words
from tests.support.paths import SPEECH


async def call(app: SpeechApp, steps: list[Step]) -> SimulationResult:
    remote = CallRemote()
    options = SimulationOptions(auth_token=AUTH_TOKEN, account_sid=ACCOUNT_SID)
    options.call_sid = "CA" + __import__("uuid").uuid4().hex
    app.twilio.attach(options.call_sid, remote)
    return await run_call(app.url, steps, options, remote)


def turns_of(app: SpeechApp, call_sid: str) -> list[Turn]:
    with make_session_factory(app.engine)() as session:
        call_row = session.scalar(select(Call).where(Call.call_sid == call_sid))
        assert call_row is not None
        return list(
            session.scalars(select(Turn).where(Turn.call_id == call_row.id).order_by(Turn.seq))
        )


GREETING = WaitAgent(quiet_ms=700, timeout_ms=30_000)
REPLY = WaitAgent(quiet_ms=900, timeout_ms=30_000)


async def test_caller_question_gets_a_relevant_spoken_answer(speech_app: SpeechApp) -> None:
    result = await call(
        speech_app, [GREETING, Say(text="What are your opening hours?"), REPLY, Hangup()]
    )
    assert result.answer == "stream"
    heard = words(transcribe_ulaw(result.agent_audio))
    assert "monday" in heard and "friday" in heard, heard

    turns = turns_of(speech_app, result.call_sid)
    caller = [t for t in turns if t.speaker == Speaker.caller]
    # "opening", not "hours": under load tiny.en has written "opening nowers" (the answer
    # still found its article, which the checks above and below are about).
    assert caller and "opening" in words(caller[0].text)
    agent = [t for t in turns if t.speaker == Speaker.agent]
    assert agent[0].heard_text == agent[0].text  # the greeting, played in full
    answer = agent[-1]
    assert "Monday to Friday" in answer.text and answer.heard_text == answer.text
    assert answer.latency_ms is not None and answer.latency_ms > 0
    assert result.turns and result.turns[-1].response_delay_ms is not None


async def test_each_answered_turn_is_measured_and_traced(speech_app: SpeechApp) -> None:
    metrics = speech_app.runtime.metrics
    stages = ("voice_to_voice", "vad_endpoint_delay", "asr", "llm_first_token", "tts_first_audio")
    before = {s: metrics.value(f"{s}_seconds_count") for s in stages}
    result = await call(
        speech_app, [GREETING, Say(text="What are your opening hours?"), REPLY, Hangup()]
    )
    with make_session_factory(speech_app.engine)() as session:
        call_row = session.scalar(select(Call).where(Call.call_sid == result.call_sid))
        assert call_row is not None
        call_id = str(call_row.id)

    exporter = speech_app.spans

    def turn_spans() -> list[Any]:
        return [
            s
            for s in exporter.get_finished_spans()
            if s.name == "turn" and s.attributes.get("call.id") == call_id
        ]

    # The timing completes when the answer's first audio has played (just after the call).
    for _ in range(100):
        if turn_spans():
            break
        await asyncio.sleep(0.1)
    spans = turn_spans()
    assert spans, "no turn trace for the call"
    root = spans[-1]
    children = {
        s.name: s
        for s in exporter.get_finished_spans()
        if s.parent is not None and s.parent.span_id == root.context.span_id
    }
    assert {"vad.endpoint", "asr", "llm.first_token", "tts.first_audio"} <= set(children)
    # Every stage happened inside the turn, and the turn is as long as the caller waited.
    for child in children.values():
        assert root.start_time <= child.start_time <= child.end_time <= root.end_time
    assert root.attributes["turn.first_answer_ms"] == pytest.approx(
        (root.end_time - root.start_time) / 1e6, abs=1.0
    )
    # Prometheus saw the same turn in every stage histogram.
    for stage in stages:
        assert metrics.value(f"{stage}_seconds_count") >= before[stage] + 1, stage


async def test_a_slow_answer_is_acknowledged_once(speech_app: SpeechApp) -> None:
    # The caller waits through the model's silence after the backchannel.
    patient = WaitAgent(quiet_ms=2500, timeout_ms=30_000)
    result = await call(speech_app, [GREETING, Say(text="I lost my card."), patient, Hangup()])
    answer = [t for t in turns_of(speech_app, result.call_sid) if t.speaker == Speaker.agent][-1]
    backchannels = backchannel_lines(default_prompt_set())
    opening = next((line for line in backchannels if answer.text.startswith(line)), None)
    # The backchannel filled the model's silence, and the model's own "Got it." that
    # followed it was dropped, from the audio and from what the agent is recorded to say.
    assert opening is not None, answer.text
    assert answer.text == f"{opening} I can block your card as soon as you are verified."
    assert answer.heard_text == answer.text
    with make_session_factory(speech_app.engine)() as session:
        dropped = session.scalars(
            select(CallEvent).where(
                CallEvent.call_id == answer.call_id, CallEvent.kind == "dropped_acknowledgement"
            )
        ).all()
    assert [event.payload["clause"] for event in dropped] == ["Got it."]


async def test_barge_in_clears_and_keeps_only_what_was_heard(speech_app: SpeechApp) -> None:
    speech_app.llm.clear()
    result = await call(
        speech_app,
        [
            GREETING,
            Say(text="Tell me everything about your branches."),
            Interrupt(say=Say(text="Sorry, what are your opening hours?"), after_ms=1500),
            REPLY,
            Hangup(),
        ],
    )
    assert result.of_kind("clear_received"), result.kinds()
    assert result.interruptions and result.interruptions[0].clear_delay_ms is not None

    turns = turns_of(speech_app, result.call_sid)
    cut = [t for t in turns if t.speaker == Speaker.agent and t.interrupted]
    assert len(cut) == 1
    turn = cut[0]
    assert turn.heard_text is not None
    assert turn.text.startswith(turn.heard_text)
    assert 0 < len(turn.heard_text) < len(LONG_REPLY)

    # The LLM never saw the unheard rest: the next request holds only the heard prefix.
    # (tiny.en may hear the cut-in question as "opening now": match loosely.)
    later = [
        r
        for r in speech_app.llm.requests
        if any(
            m["role"] == "user" and re.search(r"\bopen|\bhours", str(m.get("content")).lower())
            for m in r.body["messages"]
        )
    ]
    assert later, "the interrupting question reached the LLM"
    history = later[-1].body["messages"]
    assistant_texts = [str(m.get("content") or "") for m in history if m["role"] == "assistant"]
    assert turn.heard_text in assistant_texts
    assert all(LONG_REPLY not in text for text in assistant_texts)


async def test_keyed_digits_reach_the_dialogue(speech_app: SpeechApp) -> None:
    speech_app.llm.clear()
    result = await call(speech_app, [GREETING, Dtmf("1001#"), REPLY, Hangup()])
    keyed = [
        r for r in speech_app.llm.requests if "(keyed on the phone) 1001" in str(r.body["messages"])
    ]
    assert keyed
    turns = turns_of(speech_app, result.call_sid)
    assert any(t.source == "dtmf" and t.text.endswith("1001") for t in turns)
    assert "got the number" in words(transcribe_ulaw(result.agent_audio))


async def test_verify_then_balance_then_goodbye(speech_app: SpeechApp) -> None:
    speech_app.llm.clear()
    result = await call(
        speech_app,
        [
            GREETING,
            Say(text="My account number is one zero zero one, and my PIN is four three two one."),
            REPLY,
            Say(text="What is my balance?"),
            REPLY,
            Say(text="That's all, bye."),
            WaitAgent(quiet_ms=1500, timeout_ms=30_000),
        ],
    )
    with make_session_factory(speech_app.engine)() as session:
        call_row = session.scalar(select(Call).where(Call.call_sid == result.call_sid))
        assert call_row is not None
        invocations = list(
            session.scalars(
                select(ToolInvocation)
                .where(ToolInvocation.call_id == call_row.id)
                .order_by(ToolInvocation.id)
            )
        )
        names = [(i.name, str(i.status)) for i in invocations]
        said = [t.text for t in turns_of(speech_app, result.call_sid)]
        assert ("verify_identity", "ok") in names, "\n".join([str(names), *said])
        assert ("get_balance", "ok") in names, names
        assert all("4321" not in str(i.arguments) for i in invocations)
        assert call_row.verified_account_id is not None
    heard = words(transcribe_ulaw(result.agent_audio))
    assert "2417" in heard or "two thousand" in heard or "2 417" in heard, heard
    hangups = [
        r
        for r in speech_app.twilio.requests
        if r.call_sid == result.call_sid and r.form.get("Status") == "completed"
    ]
    assert hangups, "the agent hung up through Twilio REST after saying goodbye"


async def test_asking_for_a_person_escalates_with_a_handoff(speech_app: SpeechApp) -> None:
    result = await call(
        speech_app,
        [GREETING, Say(text="I want to talk to a real person please."), REPLY],
    )
    redirects = [
        r for r in speech_app.twilio.requests if r.call_sid == result.call_sid and "Twiml" in r.form
    ]
    assert redirects and "<Enqueue" in redirects[0].form["Twiml"]
    assert result.end_reason in {"transfer", "stop"}, result.end_reason
    with make_session_factory(speech_app.engine)() as session:
        call_row = session.scalar(select(Call).where(Call.call_sid == result.call_sid))
        assert call_row is not None
        from callcenter.store.models import Handoff

        handoff = session.scalar(select(Handoff).where(Handoff.call_id == call_row.id))
        assert handoff is not None
        assert "real person" in handoff.summary["intent"]
        assert handoff.reason == "caller_request"
        events = session.scalars(
            select(CallEvent.kind).where(CallEvent.call_id == call_row.id)
        ).all()
        assert "escalation" in events


async def test_every_one_of_several_interruptions_stops_the_agent(speech_app: SpeechApp) -> None:
    # Several barge-ins in one call, at different points of the answer (right after a
    # backchannel, mid-clause): each one is answered by a clear, and no reply fails.
    # Two of them are real people saying one short word on a phone line.
    human = [Say(wav=str(clip)) for clip in human_interruptions(SPEECH)[:2]]
    assert len(human) == 2
    result = await call(
        speech_app, interruption_call((550, 700, 850), [Say(text="Wait, stop, sorry."), *human])
    )
    assert len(result.interruptions) == 3
    assert all(i.clear_delay_ms is not None for i in result.interruptions), result.interruptions
    with make_session_factory(speech_app.engine)() as session:
        call_row = session.scalar(select(Call).where(Call.call_sid == result.call_sid))
        assert call_row is not None
        kinds = [
            e.kind
            for e in session.scalars(select(CallEvent).where(CallEvent.call_id == call_row.id))
        ]
    assert "error" not in kinds and kinds.count("barge_in") >= 3


async def test_the_agent_does_not_speak_into_a_thinking_pause(speech_app: SpeechApp) -> None:
    # "I would like to check" ... 0.8 s ... "the balance on my savings account."
    first, rest = "I would like to check", "the balance on my savings account."
    result = await call(
        speech_app, [GREETING, Say(text=first), Silence(800), Say(text=rest), REPLY, Hangup()]
    )
    ends = [e.t_ms for e in result.of_kind("caller_speech_end")]
    starts = [e.t_ms for e in result.of_kind("caller_speech_start")]
    pause_start, pause_end = ends[0], starts[1]
    assert pause_end - pause_start >= 800
    spoken = [e.t_ms for e in result.of_kind("agent_media") if pause_start < e.t_ms < pause_end]
    assert spoken == [], spoken  # nothing was said into the pause
    # The call's rows are written by a background writer: give it a moment.
    caller: list[Turn] = []
    for _ in range(50):
        caller = [t for t in turns_of(speech_app, result.call_sid) if t.speaker == Speaker.caller]
        if caller:
            break
        await asyncio.sleep(0.1)
    assert len(caller) == 1, [t.text for t in caller]  # one turn, answered once
    heard = words(caller[0].text)
    assert "check" in heard and "balance" in heard, caller[0].text


async def test_a_mm_hmm_does_not_stop_the_agent_and_an_interruption_quiets_it(
    speech_app: SpeechApp,
) -> None:
    # The agent pauses while the caller's sound is judged: a slow ASR makes that pause long.
    long_answer = WaitAgent(quiet_ms=8000, timeout_ms=90_000)
    asked = Say(text="Tell me everything about your branches.")
    result = await call(
        speech_app,
        [GREETING, asked, Interrupt(say=Say(text="Mm-hmm."), after_ms=1500), long_answer],
    )
    assert not result.of_kind("clear_received"), result.kinds()
    answers: list[Turn] = []
    for _ in range(50):  # the call's rows are written by a background writer
        turns = turns_of(speech_app, result.call_sid)
        answers = [t for t in turns if t.speaker == Speaker.agent and LONG_REPLY in t.text]
        if answers and answers[0].heard_text is not None:
            break
        await asyncio.sleep(0.1)
    assert answers, [t.text for t in turns]
    # Played to the end (a backchannel may open it), nothing cut.
    assert answers[0].heard_text == answers[0].text and not answers[0].interrupted

    wait = Interrupt(say=Say(text="Wait, stop. What are your opening hours?"), after_ms=1500)
    result = await call(speech_app, [GREETING, asked, wait, REPLY, Hangup()])
    (cut_in,) = result.interruptions
    # It went quiet before the words were known (how fast: `callcenter bench turns`).
    assert cut_in.clear_ms is not None and cut_in.quiet_delay_ms is not None, cut_in
    assert cut_in.quiet_delay_ms < cut_in.clear_ms - cut_in.onset_ms, cut_in
