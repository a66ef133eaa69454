"""HTTP tool header secrets never leave the server: not in pages, API answers or the audit."""

from __future__ import annotations

import re
import uuid

from sqlalchemy import select

from callcenter.store.models import ToolDefinition
from tests.web.helpers import WebServer, echo_endpoint, login
from tests.web.test_authorization import PARAM, ROUTES


def test_http_tool_secret_never_appears_in_any_response(web_server: WebServer) -> None:
    secret = "sk-live-" + uuid.uuid4().hex
    name = f"orders_{uuid.uuid4().hex[:6]}"
    bodies: list[str] = []
    with echo_endpoint() as (url, received), web_server.client() as client:
        csrf = login(client, web_server.create_user("admin"))
        token = client.post("/api/v1/me/token", headers={"X-CSRF-Token": csrf}).json()["token"]
        api = {"Authorization": f"Bearer {token}"}
        created = client.post(
            "/api/v1/tools",
            headers=api,
            json={
                "name": name,
                "description": "Order status by order id.",
                "parameters": {
                    "type": "object",
                    "properties": {"order_id": {"type": "string"}},
                    "required": ["order_id"],
                },
                "http": {
                    "url": url,
                    "method": "POST",
                    "timeout_s": 5,
                    "headers": [{"name": "X-Api-Key", "value": secret, "secret": True}],
                },
            },
        )
        assert created.status_code == 201, created.text
        bodies.append(created.text)
        assert created.json()["http"]["headers"] == [
            {"name": "X-Api-Key", "secret": True, "value_set": True}
        ]
        # A second version saved from the console with the secret left empty keeps it.
        form = {
            "csrf_token": csrf, "description": "Order status (v2).", "enabled": "on",
            "parameters": '{"type": "object", "properties": {"order_id": {"type": "string"}}}',
            "url": url, "method": "POST", "timeout_s": "5", "header_rows": "1",
            "header_name_0": "X-Api-Key", "header_value_0": "", "header_secret_0": "on",
        }  # fmt: skip
        saved = client.post(f"/admin/tools/{name}/save", data=form)
        assert saved.status_code == 303, saved.text
        publish = client.post(
            f"/api/v1/tools/{name}/versions/2/publish",
            headers=api,
            json={"override_reason": "no scenario covers this tool"},
        )
        assert publish.status_code == 200
        tested = client.post(
            f"/api/v1/tools/{name}/versions/2/test",
            headers=api,
            json={"arguments": {"order_id": "9"}},
        )
        bodies.append(tested.text)
        assert tested.json()["status"] == "ok", tested.text
        assert tested.json()["result"]["response"]["echoed_key"] == "[redacted]"
        page_test = client.post(
            f"/admin/tools/{name}/versions/1/test",
            data={"csrf_token": csrf, "arguments": '{"order_id": "10"}'},
        )
        bodies.append(page_test.text)
        assert "shipped on Tuesday" in page_test.text
        assert [r["headers"]["x-api-key"] for r in received] == [secret, secret]

        values = {
            "name": name,
            "version": "1",
            "handoff_id": "1",
            "user_id": "1",
            "call_id": "00000000-0000-0000-0000-000000000000",
            "number": "1001",
            "suite_id": "1",
            "scenario_id": "1",
            "run_id": "1",
        }
        for route in ROUTES:
            if not route.path.startswith(("/admin", "/api", "/agent", "/account", "/calls")):
                continue
            if "GET" not in (route.methods or set()) or route.path == "/agent/events":
                continue
            for version in ("1", "2"):
                filled = values | {"version": version}
                path = PARAM.sub(lambda m, f=filled: f[m.group(1)], route.path)  # type: ignore[misc]
                bodies.append(client.get(path).text)
                bodies.append(client.get(path, headers=api).text)
        bodies.append(client.get("/admin/tools/" + name).text)
        bodies.append(client.get(f"/admin/audit?target_id={name}").text)
    assert any(name in body for body in bodies)
    for body in bodies:
        assert secret not in body
    # Stored only encrypted.
    with web_server.factory() as session:
        rows = session.scalars(select(ToolDefinition).where(ToolDefinition.name == name)).all()
        assert len(rows) == 2
        for row in rows:
            assert secret not in repr(row.http)
            assert re.match(r"^gAAAA", row.http["headers"][0]["value_encrypted"])
