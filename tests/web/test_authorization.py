"""Who may do what, against a real server: every console and API route, enumerated from
the app's routing table so a new route is covered without touching this file."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from starlette.routing import Route

from callcenter.app import create_app
from callcenter.settings import load_settings
from callcenter.web.api import ADMIN_API_PREFIXES
from callcenter.web.openapi import build_document
from tests.web.helpers import PASSWORD, WebServer, csrf_from, login, unique

GUARDED_PREFIXES = ("/agent", "/admin", "/api/v1", "/account", "/logout", "/calls")
PATH_VALUES = {
    "name": "system",
    "version": "1",
    "handoff_id": "1",
    "user_id": "1",
    "call_id": "00000000-0000-0000-0000-000000000000",
    "number": "1001",
    "suite_id": "1",
    "scenario_id": "1",
    "run_id": "1",
}
PARAM = re.compile(r"\{(\w+)(?::\w+)?\}")


def _routes() -> list[Route]:
    app = create_app(load_settings(database_url="sqlite:///:memory:"))
    return [r for r in app.routes if isinstance(r, Route)]


ROUTES = _routes()


def _requests(prefixes: tuple[str, ...]) -> list[tuple[str, str]]:
    out = []
    for route in ROUTES:
        if route.path.startswith(prefixes):
            path = PARAM.sub(lambda m: PATH_VALUES[m.group(1)], route.path)
            for method in sorted((route.methods or {"GET"}) - {"HEAD"}):
                out.append((method, path))
    return out


ADMIN_REQUESTS = _requests(("/admin", *ADMIN_API_PREFIXES))
API_REQUESTS = _requests(("/api/v1",))
PAGE_REQUESTS = _requests(("/agent", "/admin", "/account", "/logout", "/calls"))
UNSAFE_REQUESTS = [(m, p) for m, p in _requests(GUARDED_PREFIXES) if m not in ("GET", "HEAD")]


def _send(
    client: httpx.Client, method: str, path: str, *, csrf: str | None = None, bearer: str = ""
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
    if path.startswith("/api/"):
        if csrf is not None:
            headers["X-CSRF-Token"] = csrf
        return client.request(method, path, json={}, headers=headers)
    data = {"csrf_token": csrf} if csrf is not None and method != "GET" else None
    return client.request(method, path, data=data, headers=headers)


@pytest.fixture
def agent_client(web_server: WebServer) -> Iterator[tuple[httpx.Client, str]]:
    with web_server.client() as client:
        csrf = login(client, web_server.create_user("agent"))
        yield client, csrf


@pytest.fixture
def admin_client(web_server: WebServer) -> Iterator[tuple[httpx.Client, str]]:
    with web_server.client() as client:
        csrf = login(client, web_server.create_user("admin"))
        yield client, csrf


def test_the_enumeration_finds_the_routes() -> None:
    assert ("GET", "/admin/prompts") in ADMIN_REQUESTS
    assert ("POST", "/api/v1/tools/system/versions/1/test") in ADMIN_REQUESTS
    assert len(ADMIN_REQUESTS) > 30 and len(UNSAFE_REQUESTS) > 20


def test_every_console_and_api_route_has_a_guard() -> None:
    for route in ROUTES:
        if route.path.startswith(GUARDED_PREFIXES):
            guard = getattr(route.endpoint, "guard", None)
            assert guard in ("page", "api"), f"{route.path} has no auth guard"
            if route.path.startswith(("/admin", *ADMIN_API_PREFIXES)):
                assert getattr(route.endpoint, "required_role", None) == "admin", route.path


def test_an_agent_is_refused_on_every_admin_route(
    web_server: WebServer, agent_client: tuple[httpx.Client, str]
) -> None:
    client, csrf = agent_client
    token = client.post("/api/v1/me/token", headers={"X-CSRF-Token": csrf}).json()["token"]
    for method, path in ADMIN_REQUESTS:
        # With a valid CSRF token, so the role is the only reason to refuse.
        assert _send(client, method, path, csrf=csrf).status_code == 403, (method, path)
        with web_server.client() as bare:
            response = _send(bare, method, path, bearer=token)
            assert response.status_code == 403, (method, path, "bearer")


def test_anonymous_pages_redirect_to_login_and_api_says_401(web_server: WebServer) -> None:
    with web_server.client() as client:
        for method, path in PAGE_REQUESTS:
            response = _send(client, method, path)
            assert response.status_code == 303, (method, path)
            expected = f"/login?next={path}" if method == "GET" else "/login"
            assert response.headers["location"] == expected, (method, path)
        for method, path in API_REQUESTS:
            response = _send(client, method, path)
            assert response.status_code == 401, (method, path)
            assert response.headers["www-authenticate"].startswith("Bearer")
        assert _send(client, "GET", "/api/v1/me", bearer="cc_not-a-token").status_code == 401


def test_state_changes_without_the_right_csrf_token_are_refused(
    admin_client: tuple[httpx.Client, str],
) -> None:
    client, csrf = admin_client
    for method, path in UNSAFE_REQUESTS:
        assert _send(client, method, path).status_code == 403, (method, path, "missing")
        assert _send(client, method, path, csrf="wrong" + csrf).status_code == 403, (method, path)
    # The session still works: nothing above logged it out or changed it.
    assert client.get("/api/v1/me").status_code == 200


def test_login_itself_needs_the_csrf_token(web_server: WebServer) -> None:
    username = web_server.create_user("agent")
    with web_server.client() as client:
        client.get("/login")
        response = client.post("/login", data={"username": username, "password": PASSWORD})
        assert response.status_code == 403
        assert client.get("/agent").status_code == 303  # not logged in


def test_login_is_rate_limited_per_username_and_address(web_server: WebServer) -> None:
    username, other = web_server.create_user("agent"), web_server.create_user("agent")
    with web_server.client() as client:
        csrf = csrf_from(client.get("/login").text)
        for _ in range(5):
            form = {"username": username, "password": "wrong-password", "csrf_token": csrf}
            assert client.post("/login", data=form).status_code == 400
        right = {"username": username, "password": PASSWORD, "csrf_token": csrf}
        blocked = client.post("/login", data=right)
        assert blocked.status_code == 429
        assert int(blocked.headers["retry-after"]) > 0
        # Another username from the same address is not locked out by the first.
        form = {"username": other, "password": PASSWORD, "csrf_token": csrf}
        assert client.post("/login", data=form).status_code == 303


def test_api_token_works_and_a_revoked_one_does_not(
    web_server: WebServer, agent_client: tuple[httpx.Client, str]
) -> None:
    client, csrf = agent_client
    token = client.post("/api/v1/me/token", headers={"X-CSRF-Token": csrf}).json()["token"]
    with web_server.client() as bare:
        auth = {"Authorization": f"Bearer {token}"}
        me = bare.get("/api/v1/me", headers=auth)
        assert me.status_code == 200 and me.json()["has_api_token"] is True
        assert bare.get("/api/v1/handoffs", headers=auth).status_code == 200
        # Bearer requests need no CSRF token (no ambient credential).
        assert bare.delete("/api/v1/me/token", headers=auth).json() == {"revoked": True}
        assert bare.get("/api/v1/me", headers=auth).status_code == 401
    with web_server.factory() as session:
        from callcenter.store.users import get_by_username

        user = get_by_username(session, me.json()["username"])
        assert user is not None and user.api_token_hash is None


def test_an_admin_revokes_a_users_token_from_the_console(
    web_server: WebServer, admin_client: tuple[httpx.Client, str]
) -> None:
    client, csrf = admin_client
    created = client.post(
        "/api/v1/users",
        json={"username": unique("svc"), "password": PASSWORD, "role": "agent"},
        headers={"X-CSRF-Token": csrf},
    )
    assert created.status_code == 201, created.text
    user_id = created.json()["id"]
    issued = client.post(f"/admin/users/{user_id}/token", data={"csrf_token": csrf})
    token = re.search(r'id="new-token">([^<]+)<', issued.text)
    assert token, issued.text
    auth = {"Authorization": f"Bearer {token.group(1)}"}
    with web_server.client() as bare:
        assert bare.get("/api/v1/me", headers=auth).status_code == 200
        revoked = client.post(f"/admin/users/{user_id}/token/revoke", data={"csrf_token": csrf})
        assert revoked.status_code == 303
        assert bare.get("/api/v1/me", headers=auth).status_code == 401
    actions = client.get(
        "/api/v1/audit", params={"target_type": "user", "target_id": str(user_id)}
    ).json()
    assert {e["action"] for e in actions["entries"]} == {
        "user.create",
        "token.create",
        "token.revoke",
    }


def test_a_deactivated_user_loses_the_open_session(
    web_server: WebServer, admin_client: tuple[httpx.Client, str]
) -> None:
    admin, admin_csrf = admin_client
    username = web_server.create_user("agent")
    with web_server.client() as agent:
        login(agent, username)
        assert agent.get("/agent").status_code == 200
        users = admin.get("/api/v1/users").json()["users"]
        user_id = next(u["id"] for u in users if u["username"] == username)
        response = admin.post(f"/admin/users/{user_id}/deactivate", data={"csrf_token": admin_csrf})
        assert response.status_code == 303
        assert agent.get("/agent").status_code == 303
        assert agent.get("/api/v1/me").status_code == 401
        # And cannot log in again.
        csrf = csrf_from(agent.get("/login").text)
        form = {"username": username, "password": PASSWORD, "csrf_token": csrf}
        assert agent.post("/login", data=form).status_code == 400


def test_login_redirects_only_to_local_paths(web_server: WebServer) -> None:
    username = web_server.create_user("agent")
    with web_server.client() as client:
        csrf = csrf_from(client.get("/login").text)
        form = {"username": username, "password": PASSWORD, "csrf_token": csrf,
                "next": "//evil.example/x"}  # fmt: skip
        response = client.post("/login", data=form)
        assert response.headers["location"] == "/agent"


def test_session_cookie_is_httponly_and_samesite_lax(web_server: WebServer) -> None:
    with web_server.client() as client:
        cookie = client.get("/login").headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie


def test_openapi_document_lists_exactly_the_api_routes(web_server: WebServer) -> None:
    served = httpx.get(web_server.base + "/api/openapi.json", timeout=10).json()
    assert served == build_document()
    documented = {
        (method.upper(), path)
        for path, operations in served["paths"].items()
        for method in operations
    }
    routed = {
        (method, PARAM.sub(lambda m: "{" + m.group(1) + "}", route.path))
        for route in ROUTES
        if route.path.startswith("/api/v1")
        for method in (route.methods or set()) - {"HEAD"}
    }
    assert documented == routed
