"""Admin-defined HTTP tools reach public addresses only, unless a deployment allows more.

Found in a probe: a tool at http://127.0.0.1:8080/metrics (also http://2130706433:8080/)
returned the body through "test run", and error texts told open ports from closed ones.
These run real requests against real servers on loopback.
"""

from __future__ import annotations

import ipaddress
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy.orm import Session
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from callcenter.settings import Settings, load_settings
from callcenter.store.models import ToolDefinition, ToolStatus
from callcenter.testing.twilio_stub import BackgroundServer
from callcenter.tools.egress import DestinationRefused, EgressPolicy
from callcenter.tools.http_tool import HeaderInput, build_http_config, http_tool_from_row
from callcenter.web import tool_ops

DEFAULT = load_settings(secret_key="e" * 40)
ALLOW_LOOPBACK = load_settings(secret_key="e" * 40, tool_allowed_networks="127.0.0.0/8")
SECRET = "sk-" + uuid.uuid4().hex


@contextmanager
def crm() -> Iterator[tuple[str, list[str]]]:
    """A stand-in CRM on loopback: /orders answers big and echoes the key; /hop redirects."""
    hits: list[str] = []

    async def orders(request: Request) -> Response:
        hits.append(request.url.path)
        return JSONResponse(
            {"status": "shipped", "echoed_key": request.headers.get("x-api-key", ""),
             "blob": "x" * 20_000, "pin": "4321"}
        )  # fmt: skip

    async def hop(request: Request) -> Response:
        hits.append(request.url.path)
        return RedirectResponse("http://169.254.169.254/latest/meta-data/", status_code=302)

    app = Starlette(routes=[Route("/orders", orders), Route("/hop", hop)])
    server = BackgroundServer(app, name="crm").start()
    try:
        yield server.url, hits
    finally:
        server.stop()


def _test_run(session: Session, settings: Settings, url: str) -> tuple[ToolStatus, Any]:
    http = build_http_config(
        settings, url=url, method="GET", timeout_s=3,
        headers=[HeaderInput("X-Api-Key", SECRET, True)],
    )  # fmt: skip
    row = ToolDefinition(
        name="lookup", version=1, kind="http", description="Look up an order.",
        parameters={"type": "object", "properties": {}}, requires_verification=False, http=http,
    )  # fmt: skip
    result = tool_ops.test_run(session, settings, http_tool_from_row(row), {})
    return result.status, result.data


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize(
    "address",
    ["127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1", "10.0.0.5", "172.16.3.4",
     "192.168.1.1", "169.254.169.254", "fd00:ec2::254", "100.64.0.1", "0.0.0.0", "::",
     "224.0.0.1", "fe80::1"],
)  # fmt: skip
def test_internal_addresses_are_refused_by_default(address: str) -> None:
    assert not EgressPolicy().permits(ipaddress.ip_address(address))


def test_public_addresses_pass_and_the_allow_list_opens_only_what_it_names() -> None:
    assert EgressPolicy().permits(ipaddress.ip_address("93.184.216.34"))
    assert EgressPolicy().permits(ipaddress.ip_address("2606:4700::1111"))
    policy = EgressPolicy.from_settings(load_settings(tool_allowed_networks="10.20.0.0/16"))
    assert policy.permits(ipaddress.ip_address("10.20.3.4"))
    assert not policy.permits(ipaddress.ip_address("10.21.0.1"))
    assert not policy.permits(ipaddress.ip_address("127.0.0.1"))


@pytest.mark.parametrize("host", ["127.0.0.1", "2130706433", "0x7f000001", "localhost", "[::1]"])
def test_every_spelling_of_loopback_is_refused_after_resolution(host: str) -> None:
    with pytest.raises(DestinationRefused, match="internal address"):
        EgressPolicy().resolve(host.strip("[]"), 80)


def test_a_tool_aimed_at_loopback_is_refused_and_sends_nothing(db_session: Session) -> None:
    with crm() as (base, hits):
        port = base.rsplit(":", 1)[1]
        for url in (f"{base}/orders", f"http://2130706433:{port}/orders",
                    f"http://localhost:{port}/orders"):  # fmt: skip
            status, data = _test_run(db_session, DEFAULT, url)
            assert status == ToolStatus.error
            assert data["error"] == "destination_not_allowed", data
            assert "CALLCENTER_TOOL_ALLOWED_NETWORKS" in data["detail"]
        assert hits == []  # the request never left


def test_allowed_test_run_shows_status_and_a_capped_redacted_body(db_session: Session) -> None:
    with crm() as (base, hits):
        status, data = _test_run(db_session, ALLOW_LOOPBACK, f"{base}/orders")
    assert status == ToolStatus.ok and hits == ["/orders"]
    assert data["status_code"] == 200
    assert data["response_truncated"] is True
    assert len(data["response"]) == tool_ops.TEST_BODY_CHARS
    assert SECRET not in str(data) and "[redacted]" in data["response"]
    assert "4321" not in str(data)  # a field named like a secret is scrubbed too


def test_redirects_are_not_followed(db_session: Session) -> None:
    with crm() as (base, hits):
        status, data = _test_run(db_session, ALLOW_LOOPBACK, f"{base}/hop")
    assert hits == ["/hop"]
    assert status == ToolStatus.error and data["status_code"] == 302


def test_errors_do_not_tell_open_ports_from_closed_ones(db_session: Session) -> None:
    """Redis (open, not HTTP) and a closed port answer the same, with no detail."""
    answers = []
    for port in (6379, _closed_port()):
        status, data = _test_run(db_session, ALLOW_LOOPBACK, f"http://127.0.0.1:{port}/")
        answers.append((status, data))
    assert answers[0] == answers[1]
    assert answers[0][1] == {
        "ok": False,
        "error": "unreachable",
        "say": answers[0][1]["say"],
    }
