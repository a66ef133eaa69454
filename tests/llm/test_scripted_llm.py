"""The scripted vLLM double itself: script files, role matching, the command line."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from callcenter.testing import Rule, Script, ScriptedLLMServer, ScriptedToolCall, load_script

SCRIPT = {
    "token_delay_s": 0,
    "rules": [
        {
            "match": r"account \d+",
            "role": "user",
            "tool_calls": [{"name": "verify_identity", "arguments": {"account_number": "1001"}}],
        },
        {"match": r'"verified": ?true', "role": "tool", "reply": "You are verified."},
    ],
    "fallback": {"reply": "Pardon?"},
}


def test_script_file_matches_on_the_last_user_or_tool_message(tmp_path: Path) -> None:
    path = tmp_path / "script.json"
    path.write_text(json.dumps(SCRIPT))
    script = load_script(path)
    user = {"role": "user", "content": "My ACCOUNT 1001"}
    index, rule = script.choose([user])
    assert index == 0 and rule.tool_calls == (
        ScriptedToolCall("verify_identity", {"account_number": "1001"}),
    )
    tool = {"role": "tool", "tool_call_id": "c", "content": '{"verified": true}'}
    assert script.choose([user, {"role": "assistant", "content": ""}, tool])[1].reply == (
        "You are verified."
    )
    # The tool rule does not fire on a user message saying the same thing.
    assert script.choose([{"role": "user", "content": '"verified": true'}])[1].reply == "Pardon?"


def test_unknown_rule_fields_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown rule field"):
        Script.from_dict({"rules": [{"match": "x", "replly": "typo"}]})


def test_requests_are_recorded_in_order() -> None:
    with ScriptedLLMServer([Rule(reply="ok")]) as server, httpx.Client() as client:
        for text in ("one", "two"):
            client.post(
                server.base_url + "/chat/completions",
                json={"messages": [{"role": "user", "content": text}]},
            )
        assert [r.messages[-1]["content"] for r in server.requests] == ["one", "two"]
        server.clear()
        assert server.requests == []


def test_bad_request_gets_an_openai_style_error() -> None:
    with ScriptedLLMServer([]) as server:
        reply = httpx.post(server.base_url + "/chat/completions", json={"model": "m"})
    assert reply.status_code == 400
    assert reply.json()["error"]["type"] == "invalid_request_error"


def test_runs_from_the_command_line(tmp_path: Path) -> None:
    path = tmp_path / "script.json"
    path.write_text(json.dumps(SCRIPT))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "callcenter.testing.scripted_llm"]
    process = subprocess.Popen(
        [*command, "--script", str(path), "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                reply = httpx.post(
                    f"http://127.0.0.1:{port}/v1/chat/completions",
                    json={"messages": [{"role": "user", "content": "hi"}]},
                )
                break
            except httpx.TransportError:
                assert process.poll() is None and time.monotonic() < deadline
                time.sleep(0.2)
        assert reply.json()["choices"][0]["message"]["content"] == "Pardon?"
    finally:
        process.terminate()
        process.wait(timeout=10)
