"""The Hermes tool-call parser: text flows at once, tags never reach the caller's ear."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from callcenter.llm.base import TextDelta, ToolCallRequest, ToolCallStarting
from callcenter.llm.hermes import HermesEvent, HermesStreamParser, parse_tool_call_body

CALL = (
    '<tool_call>\n{"name": "verify_identity", '
    '"arguments": {"account_number": "1001", "pin": "4321"}}\n</tool_call>'
)


def run(pieces: list[str]) -> list[HermesEvent]:
    """Text and call events; the ToolCallStarting hints are checked on their own below."""
    return [e for e in run_all(pieces) if not isinstance(e, ToolCallStarting)]


def run_all(pieces: list[str]) -> list[HermesEvent]:
    parser = HermesStreamParser(id_prefix="t")
    events: list[HermesEvent] = []
    for piece in pieces:
        events += parser.feed(piece)
    return events + parser.finish()


def test_a_call_is_announced_as_soon_as_it_starts() -> None:
    parser = HermesStreamParser(id_prefix="t")
    assert parser.feed("Sure. ") == [TextDelta("Sure. ")]
    assert ToolCallStarting() in parser.feed('<tool_call>{"name": "get_bal')
    events = parser.feed('ance", "arguments": {}}</tool_call>')
    assert [type(e) for e in events] == [ToolCallRequest]


def test_an_untagged_call_is_announced_at_its_first_brace() -> None:
    parser = HermesStreamParser(id_prefix="t")
    assert parser.feed('{"na') == [ToolCallStarting()]


def merged(events: list[HermesEvent]) -> list[object]:
    """Adjacent text deltas joined: chunking may split text, never change it."""
    out: list[object] = []
    for event in events:
        if isinstance(event, TextDelta) and out and isinstance(out[-1], str):
            out[-1] += event.text
        elif isinstance(event, TextDelta):
            out.append(event.text)
        else:
            out.append(event)
    return out


def test_plain_text_is_forwarded_immediately() -> None:
    parser = HermesStreamParser()
    assert parser.feed("Hello, ") == [TextDelta("Hello, ")]
    assert parser.feed("how can I help?") == [TextDelta("how can I help?")]
    assert parser.finish() == []


def test_possible_tag_start_is_held_back_then_released() -> None:
    parser = HermesStreamParser()
    assert parser.feed("a < b and <tool") == [TextDelta("a < b and ")]
    assert parser.feed("s are nice") == [TextDelta("<tools are nice")]


def test_tool_call_between_text() -> None:
    events = run(["Let me check.\n", CALL, "\nDone"])
    assert merged(events) == [
        "Let me check.\n",
        ToolCallRequest(
            id="call_t_1",
            name="verify_identity",
            arguments={"account_number": "1001", "pin": "4321"},
            raw_arguments='{"account_number": "1001", "pin": "4321"}',
        ),
        "\nDone",
    ]


def test_two_calls_get_distinct_ids() -> None:
    events = run([CALL, "\n", CALL.replace("verify_identity", "get_balance")])
    calls = [event for event in events if isinstance(event, ToolCallRequest)]
    assert [call.name for call in calls] == ["verify_identity", "get_balance"]
    assert calls[0].id != calls[1].id


def test_unclosed_call_at_end_is_still_parsed() -> None:
    events = run(['<tool_call>\n{"name": "get_balance", "arguments": {}}'])
    assert events == [ToolCallRequest("call_t_1", "get_balance", {}, "{}")]


def test_held_back_partial_tag_at_end_is_text() -> None:
    assert merged(run(["see you <tool_"])) == ["see you <tool_"]


def test_untagged_json_reply_is_a_call() -> None:
    # Qwen 0.5B often drops the tags and answers with the bare JSON object.
    events = run(['{"name": "verify_identity", "arg', 'uments": {"pin": "4321"}}'])
    assert events == [
        ToolCallRequest("call_t_1", "verify_identity", {"pin": "4321"}, '{"pin": "4321"}')
    ]


def test_fenced_json_reply_is_a_call() -> None:
    events = run(["```json\n", '{"name": "get_balance", "arguments": {}}', "\n```"])
    assert [type(e) for e in events] == [ToolCallRequest]


def test_json_without_a_name_stays_text() -> None:
    assert merged(run(["{a: 1}", " is what I said"])) == ["{a: 1} is what I said"]


def test_brace_later_in_a_sentence_is_plain_text() -> None:
    parser = HermesStreamParser()
    assert parser.feed("Sure, ") == [TextDelta("Sure, ")]
    assert parser.feed('{"name": "x"}') == [TextDelta('{"name": "x"}')]


def test_single_quotes_and_python_literals() -> None:
    call = parse_tool_call_body("{'name': 'pay', 'arguments': {'amount': 5, 'ok': true}}", "c")
    assert (call.name, call.arguments) == ("pay", {"amount": 5, "ok": True})


def test_missing_arguments_and_string_arguments() -> None:
    assert parse_tool_call_body('{"name": "get_balance"}', "c").arguments == {}
    call = parse_tool_call_body('{"name": "pay", "arguments": "{\\"amount\\": 5}"}', "c")
    assert call.arguments == {"amount": 5}


def test_code_fence_inside_tags() -> None:
    call = parse_tool_call_body('```json\n{"name": "pay", "arguments": {"amount": 1}}\n```', "c")
    assert (call.name, call.arguments) == ("pay", {"amount": 1})


def test_garbage_body_keeps_name_and_raw_text() -> None:
    call = parse_tool_call_body('{"name": "pay", "arguments": {amount: five', "c")
    assert call.name == "pay"
    assert call.arguments == {}
    assert "amount: five" in call.raw_arguments


def test_non_object_arguments_are_refused_as_empty() -> None:
    call = parse_tool_call_body('{"name": "pay", "arguments": [1, 2]}', "c")
    assert call.arguments == {}
    assert call.raw_arguments == "[1, 2]"


BARE = '{"name": "get_balance", "arguments": {"note": "a } and { in a string"}}'

TEXTS = st.sampled_from(
    [
        BARE,
        "  " + BARE + "\n" + CALL + " ok",
        "```json\n" + BARE + "\n```",
        "{not a call} but text",
        "```\ncode that is not a call\n```",
        "Sure. " + CALL + " One moment.",
        "<tool_call" + " is not a call <tool>" + CALL,
        CALL + CALL,
        "Plain answer with < and > and </tool_call> text.",
        "Unclosed: <tool_call>{'name': 'pay', 'arguments': {'amount': 3}}",
        "ends with <tool_ca",
    ]
)


@settings(max_examples=300, deadline=None)
@given(text=TEXTS, cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=30))
def test_any_chunking_gives_the_same_events(text: str, cuts: list[int]) -> None:
    bounds = sorted({cut % (len(text) + 1) for cut in cuts})
    pieces = [text[a:b] for a, b in zip([0, *bounds], [*bounds, len(text)], strict=True)]
    assert merged(run(pieces)) == merged(run([text]))


@settings(max_examples=200, deadline=None)
@given(text=st.text(alphabet=st.sampled_from(list("ab <>/_tolca\n{}")), max_size=60))
def test_text_without_calls_passes_through_unchanged(text: str) -> None:
    events = run([text[i : i + 3] for i in range(0, len(text), 3)])
    if "<tool_call>" not in text:
        # No quotes or colons: nothing here can name a function, so it all stays text
        # (a reply of only whitespace says nothing and is dropped).
        spoken = "".join(e.text for e in events if isinstance(e, TextDelta))
        assert spoken == (text if text.strip() else "")
