"""Defects a new user met in the console: bare 403/404, next after login, the favicon,
the tools list's "enabled", test arguments and their error message."""

from __future__ import annotations

import html
import uuid

from tests.web.helpers import PASSWORD, WebServer, csrf_from, login


def test_403_and_404_are_pages_with_navigation(web_server: WebServer) -> None:
    with web_server.client() as client:
        anonymous_404 = client.get("/no/such/page")
        assert anonymous_404.status_code == 404 and 'href="/login"' in anonymous_404.text
        api_404 = client.get("/api/v1/no-such-thing")
        assert api_404.status_code == 404 and api_404.json() == {"error": "not found"}

        login(client, web_server.create_user("agent"))
        forbidden = client.get("/admin/tools")
        assert forbidden.status_code == 403
        assert "This page needs the admin role." in forbidden.text
        assert '<nav aria-label="Main">' in forbidden.text and 'href="/calls"' in forbidden.text
        missing = client.get("/agent/nothing-here")
        assert missing.status_code == 404 and '<nav aria-label="Main">' in missing.text
        assert "Back to the console" in missing.text


def test_login_goes_to_next_and_the_favicon_is_served(web_server: WebServer) -> None:
    username = web_server.create_user("agent")
    with web_server.client() as client:
        bounced = client.get("/calls?outcome=resolved")
        assert bounced.headers["location"] == "/login?next=/calls%3Foutcome%3Dresolved"
        form = client.get(bounced.headers["location"]).text
        assert 'name="next" value="/calls?outcome=resolved"' in html.unescape(form)
        response = client.post(
            "/login",
            data={
                "username": username,
                "password": PASSWORD,
                "csrf_token": csrf_from(form),
                "next": "/calls?outcome=resolved",
            },
        )
        assert response.headers["location"] == "/calls?outcome=resolved"
        icon = client.get("/favicon.ico", follow_redirects=True)
        assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/svg")


def test_tool_drafts_show_enabled_and_test_arguments_fit_the_schema(
    web_server: WebServer,
) -> None:
    name = f"orders_{uuid.uuid4().hex[:6]}"
    with web_server.client() as client:
        csrf = login(client, web_server.create_user("admin"))
        api = {"X-CSRF-Token": csrf}
        created = client.post(
            "/api/v1/tools",
            headers=api,
            json={
                "name": name,
                "description": "Order status.",
                "parameters": {
                    "type": "object",
                    "properties": {"order_id": {"type": "string"}},
                    "required": ["order_id"],
                },
                "http": {"url": "http://127.0.0.1:9/orders", "method": "POST"},
            },
        )
        assert created.status_code == 201, created.text
        listing = client.get("/admin/tools").text
        row = listing[listing.index(f">{name}</a>") :].split("</tr>")[0]
        assert "not live" in row and "(draft: yes)" in row

        page = html.unescape(client.get(f"/admin/tools/{name}").text)
        assert '"order_id": "sample"' in page  # not "{}", which the schema refuses

        refused = client.post(
            f"/api/v1/tools/{name}/versions/1/test", headers=api, json={"arguments": {}}
        )
        assert refused.status_code == 422
        assert refused.json()["error"] == "arguments: 'order_id' is a required property"


def test_an_http_tool_can_be_archived_and_restored(web_server: WebServer) -> None:
    name = f"legacy_{uuid.uuid4().hex[:6]}"
    with web_server.client() as client:
        csrf = login(client, web_server.create_user("admin"))
        api = {"X-CSRF-Token": csrf}
        body = {"name": name, "description": "Old CRM lookup.", "parameters": {"type": "object"},
                "http": {"url": "http://127.0.0.1:9/x", "method": "GET"}}  # fmt: skip
        assert client.post("/api/v1/tools", headers=api, json=body).status_code == 201
        publish = f"/api/v1/tools/{name}/versions/1/publish"
        # The shipped scenario suite has not run on this draft: publish with a reason.
        published = client.post(publish, headers=api, json={"override_reason": "test tool"})
        assert published.status_code == 200, published.text
        page = client.get(f"/admin/tools/{name}").text
        assert 'id="archive-tool"' in page

        archived = client.post(f"/admin/tools/{name}/archive", data={"csrf_token": csrf})
        assert archived.status_code == 303
        versions = client.get(f"/api/v1/tools/{name}/versions").json()["versions"]
        assert [v["status"] for v in versions] == ["archived"]
        again = client.post(f"/api/v1/tools/{name}/archive", headers=api)
        assert again.status_code == 409
        builtin = client.post("/api/v1/tools/get_balance/archive", headers=api)
        assert builtin.status_code == 422
        # The shipped scenario suite has not run on this draft: publish with a reason.
        published = client.post(publish, headers=api, json={"override_reason": "test tool"})
        assert published.status_code == 200, published.text  # restored
        audit = client.get("/api/v1/audit", params={"action": "tool.archive"}).json()
        assert any(e["target_id"] == name for e in audit["entries"])
