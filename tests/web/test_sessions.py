"""Sessions against the real server of a fresh install (no secret key configured).

Found in a probe: a cookie forged with the built-in secret key was accepted as user 1;
a cookie saved before logout still worked for 12 hours. Now the server signs with its
own generated key, and logout, a password change or an admin's revoke end sessions
server-side.
"""

from __future__ import annotations

import base64
import json
import stat

import httpx
import itsdangerous
from sqlalchemy import select

from callcenter.keys import GENERATED_SECRET_FILE, derive_key
from callcenter.settings import DEFAULT_SECRET_KEY
from callcenter.store.models import User
from callcenter.web import SESSION_COOKIE
from tests.web.helpers import PASSWORD, WebServer, login, unique


def _forged_cookie(secret: str, uid: int, version: int = 0) -> str:
    """What an attacker makes from a known key (Starlette's cookie format)."""
    data = base64.b64encode(json.dumps({"uid": uid, "sv": version}).encode())
    return itsdangerous.TimestampSigner(secret).sign(data).decode()


def _saved(client: httpx.Client) -> str:
    value = client.cookies.get(SESSION_COOKIE)
    assert value, "no session cookie"
    return value


def _with_cookie(web_server: WebServer, cookie: str) -> httpx.Client:
    client = web_server.client()
    client.cookies.set(SESSION_COOKIE, cookie)
    return client


def test_the_fresh_install_generated_its_own_secret_key(web_server: WebServer) -> None:
    assert web_server.state_dir is not None
    key_file = web_server.state_dir / GENERATED_SECRET_FILE
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(key_file.read_text().strip()) >= 32
    assert key_file.read_text().strip() != DEFAULT_SECRET_KEY


def test_a_cookie_forged_with_the_built_in_key_is_refused(web_server: WebServer) -> None:
    admin = web_server.create_user("admin")
    with web_server.factory() as session:
        admin_id = session.scalar(select(User.id).where(User.username == admin))
    assert admin_id is not None
    # Whatever an attacker could derive from the built-in default: the key itself, or
    # the session key derived from it the way the server derives its own.
    candidates = [DEFAULT_SECRET_KEY, derive_key(DEFAULT_SECRET_KEY, "session").hex()]
    for secret in candidates:
        for uid in (1, admin_id):
            with _with_cookie(web_server, _forged_cookie(secret, uid)) as client:
                assert client.get("/api/v1/me").status_code == 401
                assert client.get("/api/v1/users").status_code == 401
                page = client.get("/admin")
                assert page.status_code == 303 and page.headers["location"].startswith("/login")


def test_a_cookie_saved_before_logout_is_refused_after_it(web_server: WebServer) -> None:
    username = web_server.create_user("agent")
    with web_server.client() as client:
        csrf = login(client, username)
        saved = _saved(client)
        assert client.get("/api/v1/me").json()["username"] == username
        logout = client.post("/logout", data={"csrf_token": csrf})
        assert logout.status_code == 303
    with _with_cookie(web_server, saved) as replay:
        assert replay.get("/api/v1/me").status_code == 401
        page = replay.get("/agent")
        assert page.status_code == 303 and page.headers["location"].startswith("/login")
    # Logging in again gives a new session that works.
    with web_server.client() as client:
        login(client, username)
        assert client.get("/api/v1/me").status_code == 200


def test_a_password_change_ends_the_other_sessions_and_keeps_this_one(
    web_server: WebServer,
) -> None:
    username = web_server.create_user("agent")
    new_password = "a-fresh-passphrase-" + unique("p")
    with web_server.client() as laptop, web_server.client() as phone:
        csrf = login(laptop, username)
        login(phone, username)
        weak = laptop.post(
            "/account/password",
            data={"csrf_token": csrf, "current_password": PASSWORD, "new_password": "password1"},
        )
        assert weak.status_code == 422 and "common" in weak.text
        assert phone.get("/api/v1/me").status_code == 200  # a refused change ends nothing
        wrong = laptop.post(
            "/account/password",
            data={"csrf_token": csrf, "current_password": "nope", "new_password": new_password},
        )
        assert wrong.status_code == 422
        changed = laptop.post(
            "/account/password",
            data={"csrf_token": csrf, "current_password": PASSWORD, "new_password": new_password},
        )
        assert changed.status_code == 303, changed.text
        assert laptop.get("/api/v1/me").status_code == 200
        assert phone.get("/api/v1/me").status_code == 401
    with web_server.client() as client:
        token = client.get("/login").text.split('name="csrf_token" value="')[1].split('"')[0]
        old = {"username": username, "password": PASSWORD, "csrf_token": token}
        assert client.post("/login", data=old).status_code == 400
        login(client, username, new_password)


def test_the_api_password_change_keeps_a_cookie_caller_signed_in(web_server: WebServer) -> None:
    username = web_server.create_user("agent")
    with web_server.client() as client:
        csrf = login(client, username)
        before = _saved(client)
        body = {"current_password": PASSWORD, "new_password": "another-long-" + unique("pw")}
        changed = client.post("/api/v1/me/password", json=body, headers={"X-CSRF-Token": csrf})
        assert changed.status_code == 200, changed.text
        assert client.get("/api/v1/me").status_code == 200
    with _with_cookie(web_server, before) as replay:
        assert replay.get("/api/v1/me").status_code == 401


def test_an_admin_revokes_a_users_sessions_and_api_token(web_server: WebServer) -> None:
    agent = web_server.create_user("agent")
    admin = web_server.create_user("admin")
    with web_server.client() as agent_client, web_server.client() as admin_client:
        agent_csrf = login(agent_client, agent)
        token = agent_client.post("/api/v1/me/token", headers={"X-CSRF-Token": agent_csrf})
        bearer = {"Authorization": f"Bearer {token.json()['token']}"}
        assert httpx.get(web_server.base + "/api/v1/me", headers=bearer).status_code == 200
        admin_csrf = login(admin_client, admin)
        users = admin_client.get("/api/v1/users").json()["users"]
        agent_id = next(u["id"] for u in users if u["username"] == agent)
        # An agent cannot revoke anyone (admin routes refuse agents).
        denied = agent_client.post(
            f"/api/v1/users/{agent_id}/revoke-access", headers={"X-CSRF-Token": agent_csrf}
        )
        assert denied.status_code == 403
        revoked = admin_client.post(
            f"/admin/users/{agent_id}/revoke-access", data={"csrf_token": admin_csrf}
        )
        assert revoked.status_code == 303
        assert agent_client.get("/api/v1/me").status_code == 401
        assert httpx.get(web_server.base + "/api/v1/me", headers=bearer).status_code == 401
        audit = admin_client.get("/api/v1/audit", params={"action": "user.revoke_access"})
        assert any(e["target_id"] == str(agent_id) for e in audit.json()["entries"])
    # The user can sign in again (revoking is not deactivating).
    with web_server.client() as client:
        login(client, agent)


def test_the_password_policy_refuses_common_passwords(web_server: WebServer) -> None:
    admin = web_server.create_user("admin")
    with web_server.client() as client:
        csrf = login(client, admin)
        headers = {"X-CSRF-Token": csrf}
        for weak in ("password", "12345678", "password123", "Password2024!", "qwertyuiop"):
            body = {"username": unique("u"), "password": weak, "role": "agent"}
            refused = client.post("/api/v1/users", json=body, headers=headers)
            assert refused.status_code == 422, weak
            assert "password" in refused.json()["error"]
        name = unique("u")
        with_name = {"username": name, "password": f"{name}-xyz", "role": "agent"}
        assert client.post("/api/v1/users", json=with_name, headers=headers).status_code == 422
        good = {"username": unique("u"), "password": "violet-tram-oyster-42", "role": "agent"}
        assert client.post("/api/v1/users", json=good, headers=headers).status_code == 201
