"""Admins add knowledge-base articles in the console and over the API, versioned like
prompts; a published one is what the next call answers from. Real server, PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from callcenter.dialogue.flows.knowledge import KnowledgeBase, extract_answer
from callcenter.dialogue.prompts import load_prompt_set
from tests.web.helpers import WebServer, login, unique

PARKING = "# Parking\nCustomers park free for 90 minutes in the garage behind every branch."


@pytest.fixture
def admin(web_server: WebServer) -> Iterator[tuple[httpx.Client, str]]:
    with web_server.client() as client:
        csrf = login(client, web_server.create_user("admin"))
        yield client, csrf


def test_an_article_added_in_the_console_is_versioned_and_answers_calls_once_published(
    web_server: WebServer, admin: tuple[httpx.Client, str]
) -> None:
    client, csrf = admin
    slug = unique("parking").lower()
    created = client.post(
        "/admin/knowledge", data={"name": slug, "body": PARKING, "csrf_token": csrf}
    )
    assert created.status_code == 303, created.text
    name = f"kb_{slug}"
    assert created.headers["location"] == f"/admin/prompts/{name}"
    listing = client.get("/admin/prompts").text
    assert f'href="/admin/prompts/{name}"' in listing

    versions = client.get(f"/api/v1/prompts/{name}/versions").json()["versions"]
    assert [(v["version"], v["status"]) for v in versions] == [(1, "draft")]
    # A draft is not what calls hear.
    with web_server.factory() as session:
        assert name not in load_prompt_set(session).bodies

    # Edited like any prompt: a second draft, then published.
    edited = PARKING.replace("90 minutes", "two hours")
    draft = client.post(
        f"/api/v1/prompts/{name}/drafts", json={"body": edited}, headers={"X-CSRF-Token": csrf}
    )
    assert draft.status_code == 201 and draft.json()["version"] == 2
    published = client.post(
        f"/api/v1/prompts/{name}/versions/2/publish",
        headers={"X-CSRF-Token": csrf},
        # The shipped scenario suite has not been run against this draft.
        json={"override_reason": "new article, suites run after publishing"},
    )
    assert published.status_code == 200, published.text

    with web_server.factory() as session:
        knowledge = KnowledgeBase.from_prompts(load_prompt_set(session))
    match = knowledge.search("Where can I park my car, and is parking free?")
    assert match is not None and match.article.name == name
    assert "two hours" in extract_answer("is parking free", match.article)


def test_the_api_creates_an_article_and_refuses_a_bad_name_or_a_second_one(
    admin: tuple[httpx.Client, str],
) -> None:
    client, csrf = admin
    headers = {"X-CSRF-Token": csrf}
    slug = unique("lockers").lower()
    body = "# Safe deposit boxes\nBoxes are rented at the main branch only."
    created = client.post("/api/v1/prompts", json={"name": slug, "body": body}, headers=headers)
    assert created.status_code == 201, created.text
    assert created.json()["name"] == f"kb_{slug}" and created.json()["status"] == "draft"

    again = client.post("/api/v1/prompts", json={"name": slug, "body": body}, headers=headers)
    assert again.status_code == 409
    shipped = client.post(
        "/api/v1/prompts", json={"name": "opening_hours", "body": body}, headers=headers
    )
    assert shipped.status_code == 409  # shipped articles are edited, not created again
    for bad in ("Parking Lot", "x", "../system", "kb_"):
        refused = client.post("/api/v1/prompts", json={"name": bad, "body": body}, headers=headers)
        assert refused.status_code == 422, (bad, refused.text)
    blank = {"name": unique("empty"), "body": " "}
    empty = client.post("/api/v1/prompts", json=blank, headers=headers)
    assert empty.status_code == 422
    # An article nobody created is not a prompt.
    assert client.get("/api/v1/prompts/kb_never_made/versions").status_code == 404


def test_a_bad_name_in_the_console_form_shows_the_reason(
    admin: tuple[httpx.Client, str],
) -> None:
    client, csrf = admin
    page = client.post(
        "/admin/knowledge", data={"name": "No Spaces", "body": PARKING, "csrf_token": csrf}
    )
    assert page.status_code == 422
    assert 'id="form-error"' in page.text and "lower-case letters" in page.text
    assert PARKING.splitlines()[1] in page.text  # what was typed is kept
