"""The session's hook into the flows: one :class:`FlowReplier` per call.

``run`` answers the caller's last turn. Replies can be speculative (started while the
endpointer still waits): the flow state is worked on as a copy and committed only after
``before_effects`` returns, which is also the gate in front of every tool call. A reply
cancelled before that leaves the call exactly as it was.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import json
import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from contextlib import aclosing
from typing import Any

from callcenter.dialogue.flows.definitions import FLOWS, TASKS
from callcenter.dialogue.flows.engine import FlowEngine, Say
from callcenter.dialogue.flows.keypad import keyed_words
from callcenter.dialogue.flows.knowledge import (
    GROUNDED_SYSTEM,
    SENTENCE,
    KnowledgeBase,
    extract_answer,
)
from callcenter.dialogue.flows.languages import FlowLanguages, localized
from callcenter.dialogue.flows.slots import AsrHint
from callcenter.dialogue.flows.state import FlowState
from callcenter.dialogue.flows.templates import FlowLines
from callcenter.dialogue.flows.understanding import Understanding, by_model, by_rules
from callcenter.dialogue.guard import GROUNDED_SAFE_LINE, ungrounded
from callcenter.dialogue.reply import ItemSink, ReplyResult, Speak
from callcenter.llm.base import ChatModel, Message, TextDelta
from callcenter.text.dates import parse_date
from callcenter.text.yes_no import yes_or_no
from callcenter.tools.base import ToolCall, ToolOutcome
from callcenter.tools.context import CallContext
from callcenter.tts.clauses import ClauseChunker

log = logging.getLogger(__name__)

ExecuteTool = Callable[[ToolCall], Awaitable[ToolOutcome]]
RecordEvent = Callable[[str, dict[str, Any]], None]
INTENT_SESSION = "flows:intent"  # one shared KV-cache slot: the classifier prompt is common
# Intents whose words are a whole turn when the rules read them (see ``answers``); not
# "verify" ("my account number is"): its digits follow.
_WHOLE_REQUESTS = frozenset([*TASKS, "goodbye", "transfer"]) - {"verify"}


class FlowReplier:
    def __init__(
        self,
        *,
        lines: FlowLines,
        knowledge: KnowledgeBase,
        chat: ChatModel,
        ctx: CallContext,
        execute_tool: ExecuteTool,
        record_event: RecordEvent,
        phrasing: str = "fixed",
        intent_model: bool = True,
        languages: FlowLanguages | None = None,
    ) -> None:
        self.lines = lines
        self.knowledge = knowledge
        self.chat = chat
        self.ctx = ctx
        self.execute_tool = execute_tool
        self.record_event = record_event
        self.phrasing = phrasing
        self.intent_model = intent_model
        self.state = FlowState()
        # Multilingual calls: lines and articles follow the call's language (hook).
        self.languages = languages
        self._ids = itertools.count(1)
        # What model-phrased lines may state: tool results so far (and, per turn, the
        # article used and the caller's words).
        self._facts: list[str] = []

    def asr_hint(self) -> str | None:
        """The kind of answer the agent now waits for: ASR is steered to it."""
        task = self.state.task
        if self.state.offer == "transfer" or (self.state.offer or "").startswith("task:"):
            return "yes_no"
        if task is None or task.awaiting is None:
            return None
        if task.awaiting == "confirm":
            return "yes_no"
        hint: AsrHint | None = None
        for slot in FLOWS[task.flow].slots:
            if slot.name == task.awaiting:
                hint = slot.type.asr_hint
        return hint

    def answers(self, text: str) -> bool:
        """Whether the words wholly answer what the flow waits on, read by the exact
        parsers only (the end of turn must not wait on a model): a yes or no to a
        read-back or offer, or a digits / secret / date / amount / choice slot's value,
        a street ending on its kind, a short town or state. Other free text (a payee)
        is never whole: the caller may go on.

        A request the rules read beyond doubt is whole too, asked or mid-flow: a task
        ("I'd like to check my balance"), a goodbye, asking for a person. Most calls open
        with one; waiting out the longest silence after it would cost every call 0.75 s.
        Words that stop mid-sentence ("... and my") are caught before this is asked."""
        if self.languages is not None:
            text = self.languages.read(text)  # the parsers read English words
        if by_rules(text).intent in _WHOLE_REQUESTS:
            return True
        task = self.state.task
        if self.state.offer is not None or (task is not None and task.awaiting == "confirm"):
            return yes_or_no(text) is not None
        if task is None or task.awaiting is None:
            return False
        slot = next((s for s in FLOWS[task.flow].slots if s.name == task.awaiting), None)
        return slot is not None and slot.type.is_whole(text)

    def _in_call_language(self, said: str) -> str:
        """Take up the call's current language; the turn as the parsers read it."""
        if self.languages is None:
            return said
        self.lines, self.knowledge = self.languages.lines(), self.languages.knowledge()
        return self.languages.read(said)

    def reprompt(self) -> str | None:
        """After silence: the question the flow waits on, asked again (None: nothing
        pending, the generic re-prompt fits)."""
        question = self.pending_question()
        return f"{self.lines.render('still_there')} {question}".strip() if question else None

    def reprompt_question(self) -> str | None:
        """The question the flow waits on, if any."""
        task = self.state.task
        if task is None or task.awaiting is None:
            return None
        flow = FLOWS[task.flow]
        if task.awaiting == "confirm":
            key = flow.confirm_line
        else:
            key = next(s.ask_again or s.ask for s in flow.slots if s.name == task.awaiting)
        values = FlowEngine.values_of(task)
        return self.lines.render(key, **values) or None

    def pending_question(self) -> str | None:
        """The question the flow waits on, in the caller's mode (keypad or speech) and
        the call's language."""
        if self.languages is not None:
            self.lines = self.languages.lines()
        return self.reprompt_question()

    async def run(
        self,
        messages: Sequence[Message],
        speak: ItemSink,
        *,
        session_key: str,
        result: ReplyResult,
        before_effects: Callable[[], Awaitable[None]],
    ) -> None:
        said = _last_user_text(messages)
        if not said:
            return
        text = self._in_call_language(said)
        loop = asyncio.get_running_loop()
        started = loop.time()
        work = copy.deepcopy(self.state)
        committed = False

        async def effects() -> None:
            nonlocal committed
            await before_effects()
            self.state = work  # from here on the turn is real
            committed = True

        async def say(text: str, *, fixed: bool = False) -> None:
            if result.first_token_s is None:
                result.first_token_s = loop.time() - started
            # Sentence by sentence, so the first is heard while the rest is synthesised;
            # fixed lines come from the phrase cache after their first use.
            for sentence in SENTENCE.split(text.strip()):
                for part in [sentence] if fixed else clauses(sentence):
                    if part:
                        await speak(Speak(part, cached=fixed, from_model=False))
            result.spoke = True

        async def run_tool(name: str, arguments: dict[str, Any]) -> ToolOutcome:
            await effects()
            self._note_understood(name, arguments)
            request = ToolCall(id=f"flow-{next(self._ids)}", name=name, arguments=arguments)
            # A tool that started must finish and be recorded even if the caller interrupts.
            outcome = await asyncio.shield(self.execute_tool(request))
            outcome = localized(outcome, self.lines)
            result.outcomes.append(outcome)
            result.tool_messages.extend(_tool_messages(request, outcome))
            if outcome.status.value == "ok":
                self._facts.append(outcome.say)
                self._facts.append(str(outcome.result))
            return outcome

        # Keypad path: a single key where the flow offers a menu or a choice.
        text = keyed_words(work, text) or text
        understanding = by_rules(text)
        article_name: str | None = None

        async def answer(question: str) -> bool:
            nonlocal article_name
            match = self.knowledge.search(question)
            if match is None:
                return False
            article_name = match.article.name
            if self.phrasing == "model":
                await self._phrase(question, match.article.text, text, speak, result, say)
            else:
                # Article sentences said as written: fixed text, from the phrase cache
                # (warmed at start-up) instead of synthesised while the caller waits.
                await say(extract_answer(question, match.article), fixed=True)
            return True

        if self.languages is not None and self.languages.language.asked_only(said):
            # "¿Habla español?": say so in the new language and ask what was pending.
            await say(self.lines.render("language_switched"))
            await say(self.reprompt_question() or self.lines.render("what_else"))
            self.record_event("flow_turn", {"source": "language_request", "committed": True})
            return
        if self._needs_model(work, understanding, text):
            understanding = await by_model(self.chat, said, session_key=INTENT_SESSION)
        engine = FlowEngine(
            self.lines,
            say=say,
            run_tool=run_tool,
            answer=answer,
            is_verified=lambda: self.ctx.verified is not None,
        )
        waited_task = work.task
        waited_for = waited_task.awaiting if waited_task else None
        before = dict(waited_task.slots) if waited_task else {}
        outcome = await engine.turn(work, text, understanding)
        await effects()
        if outcome.action != "continue" and result.action == "continue":
            result.action, result.reason = outcome.action, outcome.reason  # type: ignore[assignment]
        task = work.task
        # Which slot parser read the turn (values themselves are never logged: PINs).
        parsed = sorted(
            name
            for name, value in (waited_task.slots.items() if waited_task else ())
            if before.get(name) != value
        )
        decision = understanding.as_payload()
        if decision["source"] == "none" and parsed:
            decision.update(source="slot_parser", confidence=1.0)
        self.record_event(
            "flow_turn",
            {
                **decision,
                "waited_for": waited_for,
                "parsed": parsed,
                "flow": task.flow if task else None,
                "awaiting": task.awaiting if task else None,
                "slots": sorted(task.slots) if task else [],
                "article": article_name,
                "action": outcome.action,
                "committed": committed,
            },
        )

    def _needs_model(self, state: FlowState, u: Understanding, text: str) -> bool:
        """Only a turn no parser or rule placed, outside a question the agent asked, goes
        to the model: a statement always, a question when no article matches it."""
        if not self.intent_model or u.intent not in (None, "question") or u.answer is not None:
            return False
        if state.offer not in (None, "more") or (state.task is not None and state.task.awaiting):
            return False
        if u.intent is None:
            # Not even worded as a question: a misheard request ("My card once over and
            # please lock it") must not be answered with whatever article shares a word.
            return True
        return self.knowledge.search(text) is None

    def _note_understood(self, name: str, arguments: dict[str, Any]) -> None:
        """Values the flow parsed from the caller's words count as said by the caller."""
        if name != "verify_identity":
            return
        self.ctx.record_understood(digits=str(arguments.get("account_number", "")))
        if pin := arguments.get("pin"):
            self.ctx.record_understood(digits=str(pin))
        if born := arguments.get("date_of_birth"):
            self.ctx.record_understood(when=parse_date(str(born)))

    async def _phrase(
        self,
        question: str,
        article: str,
        caller_text: str,
        speak: ItemSink,
        result: ReplyResult,
        say: Say,
    ) -> None:
        """A capable model phrases the article's answer; each clause is checked."""
        messages: list[Message] = [
            {"role": "system", "content": GROUNDED_SYSTEM.format(article=article)},
            {"role": "user", "content": question},
        ]
        sources = [article, caller_text, *self._facts]
        chunker = ClauseChunker()
        guarded = False

        async def emit(clause: str) -> None:
            nonlocal guarded
            if guarded:
                return
            if ungrounded(clause, sources):
                guarded = True
                self.record_event("guarded", {"clause": "[withheld]", "why": "ungrounded"})
                await say(GROUNDED_SAFE_LINE)
                return
            await speak(Speak(clause, from_model=True))
            result.spoke = True

        async with aclosing(self.chat.stream(messages, session_key=None)) as events:  # type: ignore[type-var]
            async for event in events:
                if isinstance(event, TextDelta):
                    for clause in chunker.feed(event.text):
                        await emit(clause)
        rest = chunker.flush()
        if rest.strip():
            await emit(rest)


_COMMA = re.compile(r",\s+")


def clauses(sentence: str, *, longer_than: int = 50, first_at_least: int = 20) -> list[str]:
    """A long sentence with values in it, cut at its first comma after a few words:
    synthesis takes time in proportion to the text, so the first part is heard sooner
    ("Your new address will be 12 Oak Street," while "Salem, Oregon ..." is made)."""
    if len(sentence) <= longer_than:
        return [sentence]
    for match in _COMMA.finditer(sentence):
        if match.start() >= first_at_least and len(sentence) - match.end() >= first_at_least:
            return [sentence[: match.start() + 1], sentence[match.end() :]]
    return [sentence]


def _last_user_text(messages: Sequence[Message]) -> str:
    for message in reversed(messages):
        if message.get("role") == "user":
            return str(message.get("content") or "").strip()
    return ""


def _tool_messages(request: ToolCall, outcome: ToolOutcome) -> list[dict[str, Any]]:
    arguments = {
        k: ("[secret]" if k in ("pin", "date_of_birth") else v)
        for k, v in request.arguments.items()
    }
    return [
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": request.id,
                    "type": "function",
                    "function": {"name": request.name, "arguments": json.dumps(arguments)},
                }
            ],
        },
        outcome.message(),
    ]
