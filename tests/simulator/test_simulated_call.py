"""The simulator against the real app over loopback, with the echo agent as the session."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from callcenter.simulator import script as sc
from callcenter.simulator.caller import CallerLine, SimulationOptions, run_call
from callcenter.store import calls as call_store
from callcenter.store.models import CallStatus
from callcenter.testing.handlers import EchoAgentFactory, tone_ulaw
from tests.support.live_app import ACCOUNT_SID, AUTH_TOKEN, LiveApp, wait_for

SPEED = 4.0  # faster than real time; every timing below is call time


def options(**overrides: object) -> SimulationOptions:
    values: dict[str, object] = {
        "auth_token": AUTH_TOKEN,
        "account_sid": ACCOUNT_SID,
        "speed": SPEED,
    }
    values.update(overrides)
    return SimulationOptions(**values)  # type: ignore[arg-type]


async def test_turns_marks_dtmf_and_recording(
    live_app: Callable[..., LiveApp], live_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    agents = EchoAgentFactory(greeting=tone_ulaw(600, 500))
    app = live_app(handler_factory=agents)
    steps: list[sc.Step] = [
        sc.WaitAgent(quiet_ms=300),
        sc.Say(ulaw=tone_ulaw(800, 300)),
        sc.WaitAgent(quiet_ms=300),
        sc.Dtmf("7"),
        sc.Silence(300),
    ]
    result = await run_call(app.url, steps, options())
    assert result.answer == "stream" and result.end_reason == "caller_hangup"
    assert result.twilio_errors == []
    kinds = result.kinds()
    assert kinds.index("connected_sent") < kinds.index("start_sent") < kinds.index("agent_media")

    # The greeting and the echoed turn: 600 + 800 ms of agent audio were played.
    played = sum(1 for byte in result.agent_audio if byte != 0xFF)
    assert 0.9 * (600 + 800) * 8 <= played <= (600 + 800) * 8
    (turn,) = result.turns
    assert turn.end_ms - turn.start_ms == 800
    # The echo agent answers after 300 ms of caller silence: that is the floor.
    assert turn.response_delay_ms is not None and turn.response_delay_ms >= 300

    # Every tracker mark came back only after the audio before it had played.
    received = {e.data["name"]: e.t_ms for e in result.of_kind("mark_received")}
    echoed = {e.data["name"]: e for e in result.of_kind("mark_echoed")}
    assert set(echoed) == set(received)
    assert "pt:r1:600" in echoed and "pt:r2:800" in echoed
    assert not any(e.data["cleared"] for e in echoed.values())
    first_audio = result.of_kind("agent_playout_start")[0].t_ms
    assert echoed["pt:r1:160"].t_ms - first_audio >= 160
    assert echoed["pt:r1:600"].t_ms - first_audio >= 600
    # DTMF answered with a mark, echoed at once (nothing queued before it).
    assert "dtmf-7" in echoed

    # The agent saw all of it, and the recording is what the caller heard.
    (agent,) = agents.agents
    assert agent.digits == ["7"]
    # The server handles `stop` after the client has left: give it a moment.
    assert wait_for(lambda: agent.stop_reason == "hangup")
    assert agent.tracker.heard_ms("r2") == 800
    result.write_wav(tmp_path / "agent.wav")
    assert (tmp_path / "agent.wav").stat().st_size > 44

    def ended() -> list[str]:
        with live_factory() as session:
            call = call_store.get_call_by_sid(session, result.call_sid)
            assert call is not None
            kinds = [e.kind for e in call_store.list_events(session, call.id)]
            return kinds if "stream_stopped" in kinds else []

    assert wait_for(ended)
    with live_factory() as session:
        call = call_store.get_call_by_sid(session, result.call_sid)
        assert call is not None and call.status == CallStatus.completed
        assert call.stream_sid == result.stream_sid
        kinds_stored = [e.kind for e in call_store.list_events(session, call.id)]
        assert kinds_stored[:2] == ["twilio_voice", "stream_started"]
        assert kinds_stored[-1] == "stream_stopped"


async def test_barge_in_clear_drops_audio_and_echoes_pending_marks(
    live_app: Callable[..., LiveApp],
) -> None:
    agents = EchoAgentFactory(greeting=tone_ulaw(3000, 500))
    app = live_app(handler_factory=agents)
    steps: list[sc.Step] = [
        sc.Interrupt(sc.Say(ulaw=tone_ulaw(400, 300)), after_ms=600),
        sc.WaitAgent(quiet_ms=300),
    ]
    result = await run_call(app.url, steps, options())
    assert result.twilio_errors == []
    (interruption,) = result.interruptions
    assert interruption.clear_delay_ms is not None
    # The agent clears after 60 ms of caller speech; the wire adds a frame or two.
    assert 60 <= interruption.clear_delay_ms < 1000
    assert interruption.dropped_ms > 1000  # most of the 3 s greeting never played
    clear = result.of_kind("clear_received")[0]
    flushed = [e for e in result.of_kind("mark_echoed") if e.data["cleared"]]
    assert flushed and all(e.t_ms == clear.t_ms for e in flushed)
    assert [e.data["name"] for e in flushed] == clear.data["marks"]
    (agent,) = agents.agents
    assert agent.tracker.was_cleared("r1")
    heard = agent.tracker.heard_ms("r1")
    assert 600 <= heard <= interruption.onset_ms + 200
    # After the barge-in the agent answered the interruption itself.
    assert agent.replies == 2


async def test_webhook_rejected_without_the_right_token(live_app: Callable[..., LiveApp]) -> None:
    app = live_app()
    result = await run_call(app.url, [], options(auth_token="wrong"))
    assert result.answer == "http_403"


async def test_draining_server_transfers_instead_of_streaming(
    live_app: Callable[..., LiveApp],
) -> None:
    app = live_app(human_destination="tel:+15550009999")
    app.runtime.accepting_calls = False
    result = await run_call(app.url, [], options())
    assert result.answer == "dial" and "+15550009999" in result.twiml


async def test_a_reactive_driver_hears_the_agent_and_answers(
    live_app: Callable[..., LiveApp],
) -> None:
    """A driver instead of a script: it waits for the agent, reads what it heard, speaks
    and keys digits as it decides, and the call ends when it returns."""
    agents = EchoAgentFactory(greeting=tone_ulaw(600, 400))
    app = live_app(handler_factory=agents)
    heard: list[int] = []

    async def driver(line: CallerLine) -> None:
        while not line.agent_speaking:
            await line.tick()
        while line.agent_speaking:
            await line.tick()
        heard.append(sum(1 for byte in line.agent_audio(0) if byte != 0xFF))
        await line.say(tone_ulaw(700, 300), "tone")
        await line.press("42#")
        await line.wait_ms(1200)
        line.note("driver_done")

    result = await run_call(app.url, [], options(), driver=driver)
    assert result.end_reason == "caller_hangup" and result.twilio_errors == []
    assert heard and 0.9 * 600 * 8 <= heard[0] <= 600 * 8  # the 600 ms greeting, as played
    (turn,) = result.turns  # the driver's speech is a turn, timed like a scripted one
    assert turn.label == "tone" and turn.end_ms - turn.start_ms == 700
    assert turn.response_delay_ms is not None
    (agent,) = agents.agents
    assert agent.digits == ["4", "2", "#"]
    kinds = result.kinds()
    assert kinds.index("caller_speech_end") < kinds.index("driver_done")
