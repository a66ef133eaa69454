"""Admin-defined HTTP tools: a ``tool_definitions`` row of kind ``http`` becomes a ToolSpec.

The row's ``http`` JSON holds the endpoint::

    {"url": "https://crm.example/lookup", "method": "POST", "timeout_s": 5,
     "headers": [{"name": "Accept", "secret": false, "value": "application/json"},
                 {"name": "Authorization", "secret": true, "value_encrypted": "gAAAA..."}]}

Secret header values are stored only Fernet-encrypted (key: ``tool_secrets_key`` or one
derived from ``secret_key``; previous keys still decrypt, see callcenter/keys.py);
:func:`public_http_config` is the only view of a config
that leaves the server, and it never carries a secret value, encrypted or not.

The handler sends the model's (validated) arguments as the query string (GET, DELETE)
or a JSON body, plus ``X-Callcenter-Call-Id`` and, once the caller is verified,
``X-Callcenter-Account`` (the verified account number: account tools never take an
account from the model). Secret header values are scrubbed from whatever comes back.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
from cryptography.fernet import InvalidToken

from callcenter.keys import tool_secrets_cipher
from callcenter.settings import Settings
from callcenter.store.models import ToolDefinition, ToolStatus
from callcenter.tools.base import ToolResult, ToolRun, ToolSpec
from callcenter.tools.egress import DestinationRefused, EgressPolicy, guarded_client
from callcenter.tools.redaction import redact

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
MAX_TIMEOUT_S = 30.0
MAX_RESPONSE_BYTES = 64 * 1024  # what the model can read in a turn anyway
HEADER_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}$")
# Headers the handler sets itself; an admin value would be confusing or unsafe.
RESERVED_HEADERS = frozenset(
    {"host", "content-length", "x-callcenter-call-id", "x-callcenter-account"}
)
FAILED_SAY = "Sorry, I couldn't reach that service just now. Let me try another way."


class HttpToolConfigError(ValueError):
    """The admin's HTTP settings are not usable; the message names the field."""


@dataclass(frozen=True)
class HeaderInput:
    """One header as an admin submitted it. An empty ``value`` on a secret header that
    already exists keeps the stored secret (the form never shows it back)."""

    name: str
    value: str
    secret: bool


def encrypt_secret(settings: Settings, value: str) -> str:
    return tool_secrets_cipher(settings).encrypt(value.encode()).decode()


def decrypt_secret(settings: Settings, token: str) -> str:
    try:
        return tool_secrets_cipher(settings).decrypt(token.encode()).decode()
    except InvalidToken:
        raise HttpToolConfigError(
            "a header secret cannot be decrypted (was the secret key changed?)"
        ) from None


def build_http_config(
    settings: Settings,
    *,
    url: str,
    method: str,
    timeout_s: float,
    headers: Sequence[HeaderInput],
    previous: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Validate an admin's input and return the ``http`` JSON to store (secrets encrypted)."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise HttpToolConfigError("url: must be an absolute http:// or https:// URL")
    method = method.strip().upper()
    if method not in METHODS:
        raise HttpToolConfigError(f"method: one of {', '.join(METHODS)}")
    if not 0.1 <= timeout_s <= MAX_TIMEOUT_S:
        raise HttpToolConfigError(f"timeout_s: between 0.1 and {MAX_TIMEOUT_S:g} seconds")
    old_secrets = {
        str(h.get("name", "")).lower(): h
        for h in (previous or {}).get("headers", [])
        if h.get("secret") and h.get("value_encrypted")
    }
    stored: list[dict[str, Any]] = []
    seen: set[str] = set()
    for header in headers:
        name = header.name.strip()
        if not name:
            continue
        if not HEADER_NAME.match(name) or name.lower() in RESERVED_HEADERS:
            raise HttpToolConfigError(f"headers: {name!r} is not an allowed header name")
        if name.lower() in seen:
            raise HttpToolConfigError(f"headers: {name!r} appears twice")
        seen.add(name.lower())
        if "\r" in header.value or "\n" in header.value:
            raise HttpToolConfigError(f"headers: the value of {name!r} has a line break")
        if not header.secret:
            stored.append({"name": name, "secret": False, "value": header.value})
        elif header.value:
            stored.append(
                {
                    "name": name,
                    "secret": True,
                    "value_encrypted": encrypt_secret(settings, header.value),
                }
            )
        elif name.lower() in old_secrets:
            kept = old_secrets[name.lower()]["value_encrypted"]
            stored.append({"name": name, "secret": True, "value_encrypted": kept})
        else:
            raise HttpToolConfigError(f"headers: the secret {name!r} needs a value")
    return {
        "url": url.strip(),
        "method": method,
        "timeout_s": float(timeout_s),
        "headers": stored,
    }


def public_http_config(http: Mapping[str, Any]) -> dict[str, Any]:
    """The config as pages and the API may show it: secret values replaced by a flag."""
    headers = []
    for header in http.get("headers", []):
        if header.get("secret"):
            headers.append({"name": header.get("name", ""), "secret": True, "value_set": True})
        else:
            headers.append(
                {"name": header.get("name", ""), "secret": False, "value": header.get("value", "")}
            )
    return {
        "url": http.get("url", ""),
        "method": http.get("method", "POST"),
        "timeout_s": http.get("timeout_s", 5.0),
        "headers": headers,
    }


def http_tool_from_row(row: ToolDefinition) -> ToolSpec:
    """The registry's factory for ``kind == "http"`` rows."""
    return ToolSpec(
        name=row.name,
        description=row.description,
        parameters=dict(row.parameters or {"type": "object", "properties": {}}),
        handler=run_http_tool,
        requires_verification=row.requires_verification,
        kind="http",
        version=row.version,
        extra={"http": dict(row.http or {})},
    )


def run_http_tool(run: ToolRun) -> ToolResult:
    config: Mapping[str, Any] = run.spec.extra.get("http", {})
    method = str(config.get("method", "POST")).upper()
    headers = {"Accept": "application/json", "X-Callcenter-Call-Id": run.ctx.call_id}
    secrets: list[str] = []
    for header in config.get("headers", []):
        if header.get("secret"):
            value = decrypt_secret(run.settings, str(header.get("value_encrypted", "")))
            secrets.append(value)
        else:
            value = str(header.get("value", ""))
        headers[str(header["name"])] = value
    if run.ctx.verified is not None:
        headers["X-Callcenter-Account"] = run.ctx.verified.account_number
    request: dict[str, Any] = {"headers": headers}
    if method in BODY_METHODS:
        request["json"] = run.arguments
    else:
        request["params"] = {k: _query_value(v) for k, v in run.arguments.items()}
    timeout = min(float(config.get("timeout_s", 5.0)), MAX_TIMEOUT_S)
    try:
        with (
            guarded_client(EgressPolicy.from_settings(run.settings), timeout) as client,
            client.stream(method, str(config.get("url", "")), **request) as response,
        ):
            body = _read_capped(response)
            status_code = response.status_code
    except DestinationRefused as refused:
        return _failure("destination_not_allowed", secrets, detail=str(refused))
    except httpx.HTTPError:
        # One answer for refused, reset, timed out and not-HTTP: telling them apart
        # would map which ports are open on the host behind the URL.
        return _failure("unreachable", secrets)
    payload = _decode(body)
    if not 200 <= status_code < 300:
        return _failure("http_status", secrets, status_code=status_code, response=payload)
    say = payload.get("say") if isinstance(payload, dict) else None
    data = {"ok": True, "status_code": status_code, "response": payload, "say": say or ""}
    return ToolResult(ToolStatus.ok, redact(data, secrets))


def _failure(error: str, secrets: list[str], **extra: Any) -> ToolResult:
    data = {"ok": False, "error": error, **extra, "say": FAILED_SAY}
    return ToolResult(ToolStatus.error, redact(data, secrets))


def _query_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)


def _read_capped(response: httpx.Response) -> bytes:
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size >= MAX_RESPONSE_BYTES:
            break
    return b"".join(chunks)[:MAX_RESPONSE_BYTES]


def _decode(body: bytes) -> Any:
    text = body.decode("utf-8", errors="replace")
    try:
        return json.loads(text)
    except ValueError:
        return text
