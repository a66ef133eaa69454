"""A call in text: the caller's lines and keys in, the agent's lines out, no audio.

It runs the call's own dialogue engine: the per-call replier the session would build
(task flows by default, or the LLM with tools), the real tool executor and its policy,
and the turn-taking rules that do not depend on audio (a request for a person or the
key 0 hands the call over, keyed digits form runs ended by ``#``, the replier's transfer
and hang-up). What it leaves out is the voice: VAD, ASR, TTS, barge-in, the caller's mood
from the voice, silence re-prompts. So a scenario checks what the agent decides and says,
in seconds, and the simulator (``callcenter simulate``/``bench tasks``) checks how it sounds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from callcenter.dialogue.conversation import Conversation
from callcenter.dialogue.escalation import EscalationReason
from callcenter.dialogue.guard import SAFE_LINE, mentions_internals, unverified_leak
from callcenter.dialogue.ports import ToolBox
from callcenter.dialogue.prompts import PromptSet
from callcenter.dialogue.reply import ReplyResult, Speak
from callcenter.dialogue.replying import CallScope, ReplierFactory
from callcenter.dialogue.turns import DtmfCollector
from callcenter.llm.base import ChatModel
from callcenter.scenarios.spec import Step
from callcenter.settings import Settings
from callcenter.text.requests import asks_for_human
from callcenter.tools.context import CallContext

Ending = Literal["hangup", "handoff"]


@dataclass
class Line:
    """One turn of the transcript (caller or agent), with how the agent decided."""

    seq: int
    speaker: Literal["caller", "agent"]
    text: str
    source: str = "speech"  # caller: speech | dtmf; agent: reply | line
    # Agent replies: the flow's decision (intent, source: rules/slot_parser/model, flow,
    # awaiting, action) and the tools run, as the call's events record them.
    decision: dict[str, Any] | None = None
    tools: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "speaker": self.speaker,
            "text": self.text,
            "source": self.source,
            "decision": self.decision,
            "tools": self.tools,
        }


class MemoryCallLog:
    """The replier's :class:`CallLog`: decisions are kept with the transcript."""

    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []

    def event(self, kind: str, payload: dict[str, Any]) -> None:
        self.events.append((kind, payload))

    async def caller_turn(
        self, seq: int, text: str, *, source: str, confidence: float | None
    ) -> None:
        return None

    def drop_turn(self, seq: int) -> None:
        return None

    def agent_turn_started(
        self, seq: int, text: str, *, latency_ms: int | None, played_ms: float = 0.0
    ) -> None:
        return None

    def agent_turn_finished(
        self, seq: int, *, text: str, heard_text: str, interrupted: bool
    ) -> None:
        return None


class TextCall:
    """One call in text. ``start`` says the greeting; ``step`` plays one caller step."""

    def __init__(
        self,
        *,
        call_id: str,
        settings: Settings,
        prompts: PromptSet,
        chat: ChatModel,
        tools: ToolBox,
        ctx: CallContext,
        make_replier: ReplierFactory,
    ) -> None:
        self.call_id = call_id
        self.prompts = prompts
        self.ctx = ctx
        self.conversation = Conversation()
        self.log = MemoryCallLog()
        scope = CallScope(chat, settings, call_id, prompts, tools, ctx, self.conversation, self.log)
        self.replier = make_replier(scope)
        self.system_prompt = prompts.render("system")
        self.lines: list[Line] = []
        self.ended: Ending | None = None
        self.handoff_reason: str | None = None
        self._dtmf = DtmfCollector()

    async def start(self) -> None:
        self._agent_line(self.prompts.render("greeting"))

    async def play(self, steps: Sequence[Step]) -> None:
        """Every step in order, until the call ends (a later step is then never said)."""
        for step in steps:
            if self.ended:
                return
            await self.step(step)

    async def step(self, step: Step) -> None:
        if self.ended:
            return
        if step.kind == "say":
            await self._caller_turn(step.text, "speech")
            return
        for key in step.text:
            run = self._dtmf.press(key)
            if run is not None:
                await self._keyed(run)
            if self.ended:
                return
        run = self._dtmf.take()  # no '#': the pause after the keys ends the run
        if run is not None:
            await self._keyed(run)

    # --- the turn-taking rules that need no audio --------------------------------------

    async def _keyed(self, digits: str) -> None:
        if digits == "0":  # the universal "operator" key
            await self._escalate(EscalationReason.dtmf_zero)
            return
        await self._caller_turn(f"(keyed on the phone) {digits}", "dtmf", digits)

    async def _caller_turn(self, text: str, source: str, digits: str = "") -> None:
        seq = self.conversation.next_seq()
        if source == "dtmf":
            self.ctx.record_dtmf(digits, turn_seq=seq)
        else:
            self.ctx.record_caller_utterance(text, turn_seq=seq)
        self.conversation.add_caller(text)
        self.lines.append(Line(seq, "caller", text, source))
        if source == "speech" and asks_for_human(text):
            await self._escalate(EscalationReason.caller_request)
            return
        await self._reply()

    async def _reply(self) -> None:
        seq = self.conversation.next_seq()  # the agent turn's number, as the floor gives it
        said: list[str] = []
        guarded = False

        async def speak(item: Speak) -> None:
            nonlocal guarded
            if item.from_model and (
                unverified_leak(item.text, self.ctx) or mentions_internals(item.text)
            ):
                if not guarded:
                    said.append(SAFE_LINE)
                guarded = True
                return
            said.append(item.text)

        async def go_ahead() -> None:
            return None  # a text turn is never speculative

        events_before = len(self.log.events)
        result = ReplyResult()
        try:
            await self.replier.run(
                self.conversation.messages(self.system_prompt),
                speak,
                session_key=self.call_id,
                result=result,
                before_effects=go_ahead,
            )
        except Exception as error:
            # As in a call: a reply that fails before saying anything goes to a person.
            self.log.event("error", {"stage": "reply", "error": repr(error)[:300]})
            if not said:
                result.action, result.reason = "transfer", EscalationReason.llm_unavailable
        self.conversation.last_user_answered = True
        self.conversation.history.extend(result.tool_messages)
        text = " ".join(part.strip() for part in said if part.strip())
        self.conversation.add_heard(text)
        decisions = [p for kind, p in self.log.events[events_before:] if kind == "flow_turn"]
        tools = [{"name": o.name, "status": o.status.value} for o in result.outcomes]
        self.lines.append(
            Line(seq, "agent", text, "reply", decisions[-1] if decisions else None, tools)
        )
        if result.action == "transfer":
            await self._escalate(result.reason or EscalationReason.model_transfer)
        elif result.action == "end_call":
            self.ended = "hangup"

    async def _escalate(self, reason: str) -> None:
        self._agent_line(self.prompts.render("handoff_line"))
        self.ended, self.handoff_reason = "handoff", str(reason)

    def _agent_line(self, text: str) -> None:
        if text:
            seq = self.conversation.next_seq()
            self.conversation.add_heard(text)
            self.lines.append(Line(seq, "agent", text, "line"))
