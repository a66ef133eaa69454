"""The call list and call page over HTTP, against a real server and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from callcenter.store.db import transaction
from callcenter.store.models import Call, CallStatus
from tests.web.helpers import (
    WebServer,
    add_handoff,
    login,
    seed_answered_call,
    seed_call,
    unique,
)


@pytest.fixture
def client(web_server: WebServer) -> httpx.Client:
    with web_server.client() as client:
        login(client, web_server.create_user("agent"))
        yield client


def test_a_call_not_handed_off_is_listed_found_and_shown(
    web_server: WebServer, client: httpx.Client
) -> None:
    words = unique("opening hours please")
    call_id = seed_answered_call(web_server, words=words, started=datetime.now(UTC))

    found = client.get("/api/v1/calls", params={"q": words}).json()
    assert found["total"] == 1
    row = found["calls"][0]
    assert row["id"] == call_id
    assert row["outcome"] == "resolved" and row["verified"] is False
    assert row["duration_s"] == 42.0 and row["p50_latency_ms"] == 700
    assert row["sentiment"] == "positive"

    detail = client.get(f"/api/v1/calls/{call_id}").json()
    assert [t["seq"] for t in detail["transcript"]] == [1, 2, 3]
    assert [e["kind"] for e in detail["events"]] == ["barge_in"]  # plumbing is not shown
    assert detail["handoffs"] == []

    page = client.get(f"/calls/{call_id}")
    assert page.status_code == 200
    assert "Asked for the opening hours" in page.text and "Answered from the FAQ." in page.text
    assert "until 0:01.8" in page.text  # a caller turn with no recorded start
    assert "–0:01.8" not in page.text.replace("0:00.0–0:01.8", "")
    listing = client.get("/calls", params={"q": words})
    assert f'href="/calls/{call_id}"' in listing.text and "1 call." in listing.text


def test_filters_outcome_verified_dates_and_pagination(
    web_server: WebServer, client: httpx.Client
) -> None:
    seeded = seed_call(web_server.factory)  # verified, and handed off below
    add_handoff(web_server.factory, seeded.call_id, intent="Dispute a charge")
    with transaction(web_server.factory) as session:  # ended, not yet summarised
        ended = session.get(Call, seeded.call_id)
        assert ended is not None
        ended.status = CallStatus.completed
    long_ago = datetime(2020, 3, 4, 12, tzinfo=UTC)
    marker = unique("pagination marker")
    old_ids = [seed_answered_call(web_server, words=marker, started=long_ago) for _ in range(3)]

    transferred = client.get("/api/v1/calls", params={"outcome": "transferred"}).json()
    assert seeded.call_id in [c["id"] for c in transferred["calls"]]
    assert all(c["outcome"] == "transferred" for c in transferred["calls"])
    verified = client.get("/api/v1/calls", params={"verified": "yes", "limit": 500}).json()
    assert seeded.call_id in [c["id"] for c in verified["calls"]]
    assert not set(old_ids) & {c["id"] for c in verified["calls"]}

    day = client.get("/api/v1/calls", params={"since": "2020-03-04", "until": "2020-03-04"})
    assert set(old_ids) <= {c["id"] for c in day.json()["calls"]}
    assert seeded.call_id not in {c["id"] for c in day.json()["calls"]}

    pages = [
        client.get("/api/v1/calls", params={"q": marker, "limit": 2, "offset": o}).json()
        for o in (0, 2)
    ]
    assert pages[0]["total"] == 3 and len(pages[0]["calls"]) == 2 and len(pages[1]["calls"]) == 1
    assert {c["id"] for p in pages for c in p["calls"]} == set(old_ids)

    handoff_page = client.get(f"/calls/{seeded.call_id}").text
    assert "Handoff #" in handoff_page


def test_bad_filters_are_clear_errors(client: httpx.Client) -> None:
    response = client.get("/api/v1/calls", params={"outcome": "maybe"})
    assert response.status_code == 422 and "outcome" in response.json()["error"]
    response = client.get("/api/v1/calls", params={"since": "yesterday"})
    assert response.status_code == 422 and "YYYY-MM-DD" in response.json()["error"]
    page = client.get("/calls", params={"verified": "perhaps"})
    assert page.status_code == 422 and "verified: yes or no" in page.text
    assert client.get("/api/v1/calls/no-such-call").status_code == 404
    assert client.get("/calls/no-such-call").status_code == 404


def test_the_handoff_page_shows_intent_notes_and_readable_reason(
    web_server: WebServer, client: httpx.Client
) -> None:
    seeded = seed_call(web_server.factory)
    with transaction(web_server.factory) as session:
        from callcenter.store.models import Handoff

        handoff = Handoff(
            call_id=seeded.call_id,
            reason="caller_request",
            summary_source="llm",
            summary={"intent": "Close the account", "notes": "Was polite but firm."},
        )
        session.add(handoff)
        session.flush()
        handoff_id = handoff.id
    page = client.get(f"/agent/handoffs/{handoff_id}").text
    assert "Close the account" in page and "Was polite but firm." in page
    assert "Caller asked for a person" in page and "caller_request" not in page
    queue = client.get("/api/v1/handoffs").json()["handoffs"]
    mine = next(h for h in queue if h["id"] == handoff_id)
    assert mine["caller_intent"] == "Close the account"


def test_the_handoff_page_shows_the_mood_at_handoff(
    web_server: WebServer, client: httpx.Client
) -> None:
    seeded = seed_call(web_server.factory)
    with transaction(web_server.factory) as session:
        from callcenter.store.models import Handoff

        handoffs = [
            Handoff(
                call_id=seeded.call_id,
                reason=reason,
                summary_source="fallback",
                summary={"intent": "Check the balance", **summary},
            )
            for reason, summary in (("frustration", {"frustration": 0.723}), ("dtmf_zero", {}))
        ]
        session.add_all(handoffs)
        session.flush()
        angry, calm = (h.id for h in handoffs)
    page = client.get(f"/agent/handoffs/{angry}").text
    assert "Caller sounded frustrated" in page and ">frustration<" not in page
    assert '<dd id="summary-mood">frustration 0.72 ' in page
    page = client.get(f"/agent/handoffs/{calm}").text
    assert '<dd id="summary-mood">—</dd>' in page


def test_the_recording_is_served_with_range_and_only_for_a_known_call(
    web_server: WebServer, client: httpx.Client
) -> None:
    from callcenter.audio.call_recording import CallRecording, recording_path

    assert web_server.state_dir is not None
    call_id = seed_answered_call(web_server, words=unique("recorded"), started=datetime.now(UTC))
    recordings = web_server.state_dir / "recordings"
    recording = CallRecording(recording_path(recordings, call_id))
    for i in range(50):
        recording.caller(b"\x7f" * 160, timestamp_ms=i * 20)
    recording.close()

    page = client.get(f"/calls/{call_id}").text
    assert f'src="/calls/{call_id}/recording"' in page and 'id="player"' in page
    whole = client.get(f"/calls/{call_id}/recording")
    assert whole.status_code == 200 and whole.headers["content-type"] == "audio/wav"
    assert whole.content[:4] == b"RIFF" and len(whole.content) == 44 + 50 * 160 * 4
    part = client.get(f"/calls/{call_id}/recording", headers={"Range": "bytes=0-99"})
    assert part.status_code == 206 and len(part.content) == 100

    (recordings / "00000000-0000-0000-0000-00000000dead.wav").write_bytes(b"RIFF")
    stray = client.get("/calls/00000000-0000-0000-0000-00000000dead/recording")
    assert stray.status_code == 404  # no such call: its leftover file is not served
    other = seed_answered_call(web_server, words=unique("unrecorded"), started=datetime.now(UTC))
    assert client.get(f"/calls/{other}/recording").status_code == 404
    assert 'id="player"' not in client.get(f"/calls/{other}").text
    with web_server.client() as anonymous:
        assert anonymous.get(f"/calls/{call_id}/recording").status_code == 303
