"""The conversation as the LLM sees it: only what the caller said and heard.

Agent text enters the history once its playout is known (cut to the heard prefix on
barge-in); tool calls and results are facts and stay. Turn numbers (``seq``) are shared by
caller and agent turns and by the store.
"""

from __future__ import annotations

from typing import Any

from callcenter.llm.base import Message


class Conversation:
    def __init__(self) -> None:
        self.history: list[Message] = []
        self.seq = 0
        # The agent has started answering the latest caller turn (some audio went out).
        self.last_user_answered = True

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq

    def add_caller(self, content: str) -> dict[str, Any]:
        entry: dict[str, Any] = {"role": "user", "content": content}
        self.history.append(entry)
        self.last_user_answered = False
        return entry

    def take_unanswered(self) -> str:
        """The latest caller turn if the agent never started answering it (to merge it
        into the next one: the caller paused mid-thought). Lines said since that did not
        answer it ("Take your time.") stay where they are."""
        if self.last_user_answered:
            return ""
        index = len(self.history) - 1
        while index >= 0 and _plain_agent_line(self.history[index]):
            index -= 1
        if index >= 0 and self.history[index]["role"] == "user":
            return str(self.history.pop(index)["content"])
        return ""

    def take_back(self, entry: dict[str, Any], merged: str) -> None:
        """Remove a speculative caller turn; what it had absorbed goes back, to be merged
        into the next one."""
        if entry in self.history:
            self.history.remove(entry)
            if merged:
                self.history.append({"role": "user", "content": merged})
            # As it was before the speculation: a merged turn is still unanswered; with
            # none, the latest caller turn had been answered, and must not be merged
            # into the next one ("I lost it." + "Yes, please." read as neither).
            self.last_user_answered = not merged

    def add_heard(self, text: str) -> None:
        if text:
            self.history.append({"role": "assistant", "content": text})

    def messages(self, system_prompt: str) -> list[Message]:
        return [{"role": "system", "content": system_prompt}, *self.history]

    def last_agent_text(self) -> str | None:
        for message in reversed(self.history):
            if message["role"] == "assistant" and message.get("content"):
                return str(message["content"])
        return None


def _plain_agent_line(message: Message) -> bool:
    return message["role"] == "assistant" and not message.get("tool_calls")
