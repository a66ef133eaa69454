"""The recording setting through a real call: when calls are recorded, the caller is told
(the notice is said before the media stream connects) and the call page plays the file;
with recording off, nothing is said about it, no file is written and the page has no
player."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from callcenter.audio.call_recording import recording_path
from callcenter.simulator import script as sc
from callcenter.simulator.caller import run_call
from callcenter.simulator.result import SimulationResult
from callcenter.store import users as user_store
from callcenter.store.db import transaction
from callcenter.store.models import Call, CallEvent
from callcenter.testing.handlers import EchoAgentFactory, tone_ulaw
from tests.simulator.test_simulated_call import options
from tests.support.live_app import LiveApp, wait_for
from tests.web.helpers import PASSWORD, login, unique

NOTICE = "Calls to Harbor Bank are recorded for quality and training."
STEPS: list[sc.Step] = [
    sc.WaitAgent(quiet_ms=300),
    sc.Say(ulaw=tone_ulaw(800, 300)),
    sc.WaitAgent(quiet_ms=300),
    sc.Silence(300),
]


async def _call(app: LiveApp, factory: sessionmaker[Session]) -> tuple[SimulationResult, str]:
    """One simulated call, returned once the server has closed it (and its recording)."""
    result = await run_call(app.url, STEPS, options())
    assert result.answer == "stream"

    def stopped() -> str | None:
        with factory() as session:
            return session.scalar(
                select(Call.id)
                .join(CallEvent, CallEvent.call_id == Call.id)
                .where(Call.call_sid == result.call_sid, CallEvent.kind == "stream_stopped")
            )

    call_id = wait_for(stopped, timeout_s=30)
    assert call_id, "the server did not finish the call"
    return result, call_id


def _files(directory: Path) -> list[str]:
    return sorted(path.name for path in directory.iterdir())


def _call_page(app: LiveApp, factory: sessionmaker[Session], call_id: str) -> tuple[str, int]:
    """The call page as an admin sees it, and the status of its recording's URL."""
    username = unique("admin")
    with transaction(factory) as session:
        user_store.create_user(session, username=username, password=PASSWORD, role="admin")
    with httpx.Client(base_url=app.url, timeout=30) as client:
        login(client, username)
        page = client.get(f"/calls/{call_id}")
        assert page.status_code == 200, page.text
        return page.text, client.get(f"/calls/{call_id}/recording").status_code


async def test_a_recorded_call_hears_the_notice_first_and_its_page_plays_the_file(
    live_app: Callable[..., LiveApp], live_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    app = live_app(
        handler_factory=EchoAgentFactory(greeting=tone_ulaw(600, 500)),
        recordings_dir=tmp_path,
        recording_notice=NOTICE,
    )
    result, call_id = await _call(app, live_factory)
    verbs = list(ET.fromstring(result.twiml))
    assert [verb.tag for verb in verbs] == ["Say", "Connect"]
    assert verbs[0].text == NOTICE
    assert recording_path(tmp_path, call_id).stat().st_size > 44  # more than a WAV header
    page, recording = _call_page(app, live_factory, call_id)
    assert 'id="player"' in page and f"/calls/{call_id}/recording" in page
    assert recording == 200


async def test_with_recording_off_nothing_is_said_written_or_played(
    live_app: Callable[..., LiveApp], live_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    app = live_app(
        handler_factory=EchoAgentFactory(greeting=tone_ulaw(600, 500)),
        recordings_dir=tmp_path,
        recording_notice=NOTICE,
        recording_enabled=False,
    )
    result, call_id = await _call(app, live_factory)
    assert [verb.tag for verb in ET.fromstring(result.twiml)] == ["Connect"]
    assert NOTICE not in result.twiml
    assert _files(tmp_path) == []  # no file for this call, nor any other
    page, recording = _call_page(app, live_factory, call_id)
    assert 'id="player"' not in page and 'id="recording"' not in page
    assert f"/calls/{call_id}/recording" not in page
    assert recording == 404
