"""Latency of the embedded LLM: ``python -m callcenter.llm.bench [--threads N] [--out FILE]``.

Measures, in one run so the numbers compare as ratios on a shared machine:
- first turn cold (nothing cached) and after ``warm()`` (system prompt + tools cached),
- later turns of one conversation (KV prefix reuse), and tokens per second,
- three interleaved conversations (A1 B1 C1 A2 B2 C2 ...) with per-session KV states
  kept, and with them disabled (only the shared system prefix is reused).
Timings are the engine's own (time to first sampled token, prompt tokens reused).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from callcenter.llm.base import StreamEnd, TextDelta, ToolCallRequest
from callcenter.llm.llama_cpp import LlamaCppChatModel
from callcenter.llm.model_files import embedded_model_path
from callcenter.settings import load_settings

SYSTEM = {
    "role": "system",
    "content": (
        "You are the phone agent of Acme Bank. Answer in one or two short sentences. "
        "Opening hours: 9am to 5pm, Monday to Friday; closed on weekends. Callers must be "
        "verified with their account number and PIN before any account operation."
    ),
}


def _tool(name: str, description: str, properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "function",
        "function": {
            "name": name,
            "description": description,
            "parameters": {
                "type": "object",
                "properties": properties,
                "required": list(properties),
            },
        },
    }


TOOLS = [
    _tool(
        "verify_identity",
        "Verify the caller with their account number and 4-digit PIN.",
        {"account_number": {"type": "string"}, "pin": {"type": "string"}},
    ),
    _tool("get_balance", "Balance of the verified caller's account.", {}),
    _tool(
        "list_transactions",
        "Recent transactions of the verified caller.",
        {"limit": {"type": "integer"}},
    ),
    _tool(
        "make_payment",
        "Pay a bill from the verified caller's account.",
        {"payee": {"type": "string"}, "amount": {"type": "number"}},
    ),
    _tool(
        "transfer_to_human",
        "Hand the call to a human agent.",
        {"reason": {"type": "string"}},
    ),
]

CONVERSATIONS = {
    "A": ["Hi, when are you open?", "Are you open on Saturday?", "Thanks, that is all."],
    "B": [
        "Hello, I want to check my balance.",
        "Sorry, what do you need from me?",
        "Okay, thank you very much.",
    ],
    "C": [
        "I lost my card, what should I do?",
        "Can you tell me more?",
        "Alright, goodbye.",
    ],
}


async def _turn(
    model: LlamaCppChatModel, history: list[dict[str, Any]], key: str | None
) -> StreamEnd:
    """One model call; appends the assistant message (and canned tool results)."""
    text, calls, end = "", [], StreamEnd()
    async for event in model.stream(history, TOOLS, session_key=key):
        if isinstance(event, TextDelta):
            text += event.text
        elif isinstance(event, ToolCallRequest):
            calls.append(event)
        elif isinstance(event, StreamEnd):
            end = event
    message: dict[str, Any] = {"role": "assistant", "content": text}
    if calls:
        message["tool_calls"] = [
            {
                "id": c.id,
                "type": "function",
                "function": {"name": c.name, "arguments": c.raw_arguments},
            }
            for c in calls
        ]
    history.append(message)
    for call in calls:
        history.append({"role": "tool", "tool_call_id": call.id, "content": '{"status": "ok"}'})
    return end


def _summary(ends: Sequence[StreamEnd]) -> dict[str, float]:
    ttft = [end.timings["ttft_s"] for end in ends if "ttft_s" in end.timings]
    rates = [end.timings["tokens_per_s"] for end in ends if "tokens_per_s" in end.timings]
    reused = [end.timings.get("reused_tokens", 0.0) for end in ends]
    prompt = [float(end.prompt_tokens or 0) for end in ends]
    saves = [end.timings["state_save_s"] for end in ends if "state_save_s" in end.timings]
    loads = [end.timings["state_load_s"] for end in ends if "state_load_s" in end.timings]
    return {
        "turns": len(ends),
        "state_save_median_s": statistics.median(saves) if saves else 0.0,
        "state_load_median_s": statistics.median(loads) if loads else 0.0,
        "ttft_median_s": statistics.median(ttft) if ttft else float("nan"),
        "ttft_max_s": max(ttft) if ttft else float("nan"),
        "tokens_per_s_median": statistics.median(rates) if rates else float("nan"),
        "prompt_tokens_mean": statistics.fmean(prompt) if prompt else 0.0,
        "reused_fraction": sum(reused) / max(1.0, sum(prompt)),
    }


async def _interleaved(model: LlamaCppChatModel, *, per_session: bool) -> dict[str, float]:
    model.reset()
    await model.warm([SYSTEM], TOOLS, session_key="warm")
    model.forget("warm")
    histories: dict[str, list[dict[str, Any]]] = {name: [SYSTEM] for name in CONVERSATIONS}
    later: list[StreamEnd] = []
    for round_index in range(3):
        for name, lines in CONVERSATIONS.items():
            histories[name].append({"role": "user", "content": lines[round_index]})
            key = name if per_session else None
            end = await _turn(model, histories[name], key)
            if histories[name][-1]["role"] == "tool":  # answer the tool result too
                await _turn(model, histories[name], key)
            if round_index:
                later.append(end)
    return _summary(later)


async def run(threads: int, max_tokens: int) -> dict[str, Any]:
    settings = load_settings()
    model = LlamaCppChatModel(
        embedded_model_path(settings.cache_dir),
        n_ctx=settings.llm_context,
        n_threads=threads,
        temperature=0.0,
        max_tokens=max_tokens,
    )
    results: dict[str, Any] = {"threads": threads or "all", "max_tokens": max_tokens}
    first: list[dict[str, Any]] = [SYSTEM, {"role": "user", "content": CONVERSATIONS["A"][0]}]
    model.reset()
    results["first_turn_cold"] = _summary([await _turn(model, list(first), "cold")])
    model.reset()
    await model.warm([SYSTEM], TOOLS, session_key="warmed")
    results["first_turn_after_warm"] = _summary([await _turn(model, list(first), "warmed")])
    model.reset()
    history: list[dict[str, Any]] = [SYSTEM]
    ends = []
    for line in CONVERSATIONS["A"]:
        history.append({"role": "user", "content": line})
        ends.append(await _turn(model, history, "single"))
    results["single_conversation_later_turns"] = _summary(ends[1:])
    results["interleaved_per_session_states"] = await _interleaved(model, per_session=True)
    results["interleaved_shared_prefix_only"] = await _interleaved(model, per_session=False)
    results["state_saves"] = model.sessions.saves
    results["state_restores"] = model.sessions.restores
    await model.close()
    return results


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Embedded LLM latency")
    parser.add_argument("--threads", type=int, default=0, help="0 = all cores")
    parser.add_argument("--max-tokens", type=int, default=40)
    parser.add_argument("--out", type=Path, help="write the JSON here too")
    args = parser.parse_args(argv)
    results = asyncio.run(run(args.threads, args.max_tokens))
    text = json.dumps(results, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
