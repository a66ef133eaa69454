"""The per-call flow engine: reads a turn against the flow state, fills slots, validates,
reads back, confirms, runs the tool and says the result.

Pure control: what is said goes to ``say``; account operations go to ``run_tool`` (the
tool executor: policy, identity verification, audit); open questions go to ``answer``
(knowledge base). The engine never decides facts: they come from tools or articles.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from callcenter.dialogue.flows.definitions import FLOWS, TASKS, FlowDef, SlotDef
from callcenter.dialogue.flows.prefill import SECRET_START, arguments, full_address, prefill, tidy
from callcenter.dialogue.flows.slots import Secret
from callcenter.dialogue.flows.state import FlowState, Task
from callcenter.dialogue.flows.templates import FlowLines
from callcenter.dialogue.flows.understanding import Understanding, is_clear_question
from callcenter.store.models import ToolStatus
from callcenter.text.digits import digit_runs, read_back
from callcenter.text.money import say_amount
from callcenter.text.yes_no import is_correction, yes_or_no
from callcenter.tools.base import ToolOutcome

# Turns in a row that no parser, rule or model placed: after the second the agent offers
# the keypad menu, after the third a colleague (instead of "Sorry, I didn't get that" on
# and on while a caller's words never come through).
_OFFER_MENU_KEYS_AFTER = 2
_OFFER_PERSON_AFTER = 3


class Say(Protocol):
    """Queue a line for the caller; ``fixed`` lines (no values in them) may be replayed
    from the phrase cache."""

    async def __call__(self, text: str, *, fixed: bool = False) -> None: ...


RunTool = Callable[[str, dict[str, Any]], Awaitable[ToolOutcome]]
# Answers an open question from the knowledge base; False when it had no answer.
Answer = Callable[[str], Awaitable[bool]]
MISUNDERSTANDING = "misunderstanding"
FREE_TEXT = ("text", "address")  # slots that take the caller's words as they are


@dataclass
class TurnResult:
    action: str = "continue"  # "transfer" or "end_call"
    reason: str | None = None


# The caller cannot give what verification needs.
_CANNOT = re.compile(
    r"\b(don'?t|do not|doesn'?t|can'?t|cannot|can not) (have|know|remember|find|recall)\b"
    r"|\bno idea\b|\bforgot\b|\bnot with me\b",
    re.IGNORECASE,
)
# "Forget the payment, what's my balance?": the new task replaces the old one.
_DROP = re.compile(r"\b(forget|never ?mind|cancel|skip|instead|scratch that)\b", re.IGNORECASE)


class FlowEngine:
    def __init__(
        self,
        lines: FlowLines,
        *,
        say: Say,
        run_tool: RunTool,
        answer: Answer,
        is_verified: Callable[[], bool],
    ) -> None:
        self.lines = lines
        self.say = say
        self.run_tool = run_tool
        self.answer = answer
        self.is_verified = is_verified

    async def _line(self, key: str, **values: object) -> None:
        for text, fixed in self.lines.render_parts(key, **values):
            await self.say(text, fixed=fixed)

    # --- one caller turn ------------------------------------------------------------------

    async def turn(self, state: FlowState, text: str, u: Understanding) -> TurnResult:
        result = TurnResult()
        if state.offer == "transfer":
            state.offer = None
            if u.answer == "yes" and u.intent in (None, "transfer", "question"):
                return await self._start(state, "transfer", text, result)
            if u.answer == "no" and u.intent is None:
                await self._line("offer_declined")
                return result
        if state.offer == "more":
            state.offer = None
            if u.answer == "no" and u.intent in (None, "goodbye"):
                u = Understanding("goodbye", u.source, u.confidence, u.answer)
            elif u.answer == "yes" and u.intent is None:
                await self._line("what_else")
                return result
        if state.offer is not None and state.offer.startswith("task:"):
            guessed, state.offer = state.offer.removeprefix("task:"), None
            if u.answer == "yes" and u.intent in (None, guessed):
                return await self._start(state, guessed, "", result)
            if u.answer == "no" and u.intent is None:
                await self._not_understood(state)  # the model's guess was wrong
                return result
        if u.intent == "transfer":
            return await self._start(state, "transfer", text, result)
        task = state.task
        if u.intent == "goodbye" and not (task and task.awaiting and self._fits(task, text)):
            state.task, state.suspended = None, []
            await self._line("goodbye")
            result.action, result.reason = "end_call", "caller_done"
            return result
        if task is not None and task.awaiting == "confirm":
            return await self._on_confirm(state, task, text, u, result)
        if task is not None and task.awaiting is not None:
            return await self._on_slot(state, task, text, u, result)
        if u.source == "model" and u.intent in TASKS and u.intent != "transfer":
            # The model's guess: ask before acting on it ("tomorrow at 3 pm" is no balance).
            state.offer = f"task:{u.intent}"
            await self._line("check_task", task=self.lines.render(f"task_{u.intent}"))
            return result
        if u.intent in TASKS:
            return await self._start(state, u.intent, text, result)
        if u.source == "keypad" and u.answer is None and task is None:
            # Digits keyed out of the blue: an account number, to start with.
            state.task = Task("verify")
            if (number := FLOWS["verify"].slots[0].type.parse(text)) is not None:
                state.task.slots["account_number"] = number
            return await self._advance(state, text, result)
        if u.intent != "other" and await self.answer(text):
            await self._anything_else(state)
            return result
        if u.intent == "question":
            state.turns_not_understood += 1
            state.offer = "transfer"
            await self._line("no_answer")
        else:
            await self._not_understood(state)
        return result

    async def _not_understood(self, state: FlowState) -> None:
        state.turns_not_understood += 1
        if state.turns_not_understood >= _OFFER_PERSON_AFTER:
            # Asking the same again will not help: a person, or the keys, will.
            state.offer = "transfer"
            await self._line("offer_colleague")
            return
        await self._line("not_understood")
        if state.turns_not_understood >= _OFFER_MENU_KEYS_AFTER:
            await self._line("menu_keys")

    # --- waiting for a slot -------------------------------------------------------------

    async def _on_slot(
        self, state: FlowState, task: Task, text: str, u: Understanding, result: TurnResult
    ) -> TurnResult:
        flow = FLOWS[task.flow]
        slot = _slot(flow, task.awaiting)
        other_task = u.intent in TASKS and u.intent not in (task.flow, "verify")
        if other_task and u.intent in {t.flow for t in state.suspended}:
            other_task = False  # already queued behind this one: just carry on
        if other_task and u.source in ("rules", "model"):
            return await self._switch(state, str(u.intent), text, result)
        if u.answer == "no" and self._correct_earlier(task, flow, slot, text):
            return await self._advance(state, text, result)
        if slot.type.kind in FREE_TEXT and (u.answer == "no" or u.intent == "question"):
            if u.answer == "no":  # "No, forget it" to "Who would you like to pay?"
                await self._line("cancelled")
                state.task = None
                return await self._next(state, text, result)
            if await self.answer(text):
                await self._ask(task, slot)
                return result
        filled = self._fill(task, flow, slot, text)
        if filled:
            task.misses = 0
            task.partial = ""
            return await self._advance(state, text, result)
        if u.intent == "question" and is_clear_question(text) and await self.answer(text):
            await self._ask(task, slot)
            return result
        if task.flow == "verify" and _CANNOT.search(text):
            # "I don't have my account details": asking again will not help.
            state.task, state.suspended = None, []
            state.offer = "transfer"
            await self._line("no_identity")
            return result
        joined = slot.type.kind == "digits" and self._partial_digits(task, slot, text)
        if joined and slot.name in task.slots:
            task.misses = 0
            return await self._advance(state, text, result)
        task.misses += 1
        if task.misses >= slot.max_attempts:
            return await self._give_up(state, result)
        if task.partial:
            await self._line("partial_digits", digits=read_back(task.partial))
            await self._line(slot.ask_again or slot.ask, **self._values(task))
            return result
        ask = self.lines.render(slot.ask_again or slot.ask, **self._values(task))
        await self._line("reask")
        await self.say(ask)
        if slot.type.keypad and task.misses == 1 and "keypad" not in ask:
            money = slot.type.kind == "money" and self.lines.has("offer_keypad_amount")
            await self._line("offer_keypad_amount" if money else "offer_keypad")
        elif (
            task.misses == 1 and self.lines.has(f"keys_{slot.name}") and "press" not in ask.lower()
        ):
            # A choice the recogniser keeps missing ("stolen" heard as "once won"): keys.
            await self._line(f"keys_{slot.name}")
        return result

    def _partial_digits(self, task: Task, slot: SlotDef, text: str) -> bool:
        """Callers pause inside a number and the endpointer splits it ("one zero" ...
        "zero one"): keep a too-short run and join it with the next turn's digits."""
        said = "".join(digit_runs(text))
        if not said:
            task.partial = ""
            return False
        if task.partial and said.startswith(task.partial[:2]):
            task.partial = ""  # the caller started the number again
        joined = task.partial + said
        if slot.type.min_len <= len(joined) <= slot.type.max_len and task.partial:
            task.slots[slot.name] = joined
            task.partial = ""
            return True
        if len(joined) < slot.type.min_len:
            task.partial = joined
            return True
        task.partial = ""
        return False

    def _fits(self, task: Task, text: str) -> bool:
        """The turn is a value for the awaited slot of an exact kind (a goodbye said while
        the agent waits for a street name is a goodbye, not the street)."""
        if task.awaiting in (None, "confirm"):
            return False
        slot_type = _slot(FLOWS[task.flow], task.awaiting).type
        return slot_type.kind not in FREE_TEXT and slot_type.parse(text) is not None

    def _fill(self, task: Task, flow: FlowDef, slot: SlotDef, text: str) -> bool:
        """Fill the awaited slot from the turn, and any later slot said in the same breath."""
        head, tail = text, ""
        if flow.name == "verify" and slot.name == "account_number":
            found = SECRET_START.search(text)
            if found is not None:
                head, tail = text[: found.start()], text[found.start() :]
        if flow.name == "change_address" and slot.name == "address_line1":
            whole = full_address(text)
            if whole is not None:
                task.slots.update(whole)
                return True
        value = slot.type.parse(head)
        if value is None:
            return False
        task.slots[slot.name] = tidy(slot, value)
        if tail:
            for later in flow.slots:
                if later.name not in task.slots:
                    parsed = later.type.parse(tail)
                    if parsed is not None:
                        task.slots[later.name] = tidy(later, parsed)
        return True

    def _correct_earlier(self, task: Task, flow: FlowDef, current: SlotDef, text: str) -> bool:
        """ "No, it's one zero zero two": a new value for a slot given earlier."""
        for slot in reversed(flow.slots):
            if slot.name == current.name or slot.name not in task.slots:
                continue
            value = slot.type.parse(text)
            if value is not None and slot.type.kind in ("digits", "money", "date", "choice"):
                task.slots[slot.name] = tidy(slot, value)
                return True
        return False

    # --- waiting for yes / no -------------------------------------------------------------

    async def _on_confirm(
        self, state: FlowState, task: Task, text: str, u: Understanding, result: TurnResult
    ) -> TurnResult:
        flow = FLOWS[task.flow]
        answer = u.answer or yes_or_no(text)
        if answer == "yes" and u.intent in (None, task.flow, "question"):
            task.confirmed = True
            task.awaiting = None
            return await self._run(state, task, flow, result)
        if u.intent in TASKS and u.intent != task.flow and not answer:
            return await self._switch(state, str(u.intent), text, result)
        if answer == "no" or is_correction(text):
            changed = False
            for slot in flow.slots:
                value = slot.type.parse(text)
                # A correction names a new value: a street only with its house number
                # ("No, it's 12 Oak Street"), never the caller's bare words.
                if value is None or slot.type.kind == "text":
                    continue
                if slot.type.kind == "address" and not any(c.isdigit() for c in str(value)):
                    continue
                task.slots[slot.name] = tidy(slot, value)
                changed = True
            if changed:
                task.awaiting = None
                return await self._advance(state, text, result)
            if u.intent in TASKS and u.intent != task.flow:
                return await self._switch(state, str(u.intent), text, result)
            await self._line("cancelled")
            state.task = None
            return await self._next(state, text, result)
        if u.intent == "question" and await self.answer(text):
            await self._line(flow.confirm_line, **self._values(task))
            return result
        task.misses += 1
        if task.misses >= 3:
            return await self._give_up(state, result)
        await self._line("confirm_again")
        return result

    # --- starting, switching, finishing ---------------------------------------------------

    async def _start(
        self, state: FlowState, name: str, text: str, result: TurnResult
    ) -> TurnResult:
        if state.task is not None and state.task.flow != name and name != "transfer":
            state.suspended.append(state.task)
        state.task = Task(name)
        state.turns_not_understood = 0
        prefill(state.task, FLOWS[name], text)
        return await self._advance(state, text, result)

    async def _switch(
        self, state: FlowState, name: str, text: str, result: TurnResult
    ) -> TurnResult:
        current = state.task
        if current is not None and _DROP.search(text):
            state.task = None  # not put aside: the caller dropped it
        elif current is not None:
            current.misses = 0
            current.awaiting = None if current.awaiting == "confirm" else current.awaiting
            current.confirmed = False
        return await self._start(state, name, text, result)

    async def _advance(self, state: FlowState, text: str, result: TurnResult) -> TurnResult:
        """Ask for what is missing, read back, or run the tool."""
        task = state.task
        if task is None:
            return result
        flow = FLOWS[task.flow]
        if flow.needs_verification and not self.is_verified():
            state.suspended.append(task)
            state.task = Task("verify")
            prefill(state.task, FLOWS["verify"], text)
            return await self._advance(state, text, result)
        for slot in flow.slots:
            if slot.name not in task.slots:
                task.awaiting = slot.name
                await self._ask(task, slot)
                return result
        if flow.confirm is not None and not task.confirmed:
            if flow.confirm == "tool":
                outcome = await self.run_tool(str(flow.tool), arguments(task, confirm=False))
                if outcome.result.get("status") != "needs_confirmation":
                    await self.say(outcome.speak or outcome.say)
                    state.task = None
                    return await self._next(state, text, result, finished=flow.name)
            task.awaiting = "confirm"
            await self._line(flow.confirm_line, **self._values(task))
            return result
        return await self._run(state, task, flow, result)

    async def _run(
        self, state: FlowState, task: Task, flow: FlowDef, result: TurnResult
    ) -> TurnResult:
        confirm = flow.confirm == "tool"
        outcome = await self.run_tool(str(flow.tool), arguments(task, confirm=confirm))
        if outcome.action != "continue":
            result.action, result.reason = outcome.action, outcome.reason
            if flow.name != "transfer" and outcome.say:
                await self.say(outcome.say)
            state.task, state.suspended = None, []
            return result
        if outcome.status == ToolStatus.error:
            # Our side failed (database down): say so, and let the caller try again.
            await self.say(outcome.say)
            return await self._retry_after_error(state, task, flow, result)
        if flow.name == "verify":
            if outcome.status == ToolStatus.ok:
                await self._line("verified", first_name=outcome.result.get("first_name", ""))
                state.task = state.suspended.pop() if state.suspended else None
                if state.task is None:
                    await self._anything_else(state)
                    return result
                return await self._advance(state, "", result)
            task.slots.clear()
            task.awaiting = "account_number"
            await self._line("verify_failed")
            return result
        if confirm and outcome.result.get("error") == "not_confirmed":
            task.awaiting, task.confirmed = "confirm", False
            await self._line("confirm_again")
            return result
        await self.say(outcome.speak or outcome.say)
        state.task = None
        return await self._next(state, "", result, finished=flow.name)

    async def _retry_after_error(
        self, state: FlowState, task: Task, flow: FlowDef, result: TurnResult
    ) -> TurnResult:
        if flow.slots:
            last = flow.slots[-1]
            task.confirmed = False
            if flow.confirm is not None:
                task.awaiting = "confirm"
                await self._line(flow.confirm_line, **self._values(task))
            else:
                task.slots.pop(last.name, None)
                task.awaiting = last.name
                await self._ask(task, last)
            return result
        state.task = None
        return await self._next(state, "", result, finished=flow.name)

    async def _next(
        self, state: FlowState, text: str, result: TurnResult, finished: str | None = None
    ) -> TurnResult:
        """After a task: resume the one it interrupted, or ask if there is anything else."""
        while state.suspended:
            task = state.suspended.pop()
            if task.flow == finished:
                continue
            state.task = task
            task.awaiting = None
            await self._line("resume", task=self.lines.render(f"task_{task.flow}"))
            return await self._advance(state, "", result)
        await self._anything_else(state)
        return result

    async def _anything_else(self, state: FlowState) -> None:
        state.offer = "more"  # a plain "no" now means the caller is done
        await self._line("anything_else")

    async def _give_up(self, state: FlowState, result: TurnResult) -> TurnResult:
        state.task, state.suspended = None, []
        outcome = await self.run_tool("transfer_to_human", {"reason": MISUNDERSTANDING})
        result.action = "transfer"
        result.reason = MISUNDERSTANDING if outcome.action == "transfer" else outcome.reason
        return result

    async def _ask(self, task: Task, slot: SlotDef) -> None:
        await self._line(slot.ask, **self._values(task))

    def _values(self, task: Task) -> dict[str, object]:
        return self.values_of(task)

    @staticmethod
    def values_of(task: Task) -> dict[str, object]:
        """What a flow line may say about the task: slot values as spoken (never a secret)."""
        values: dict[str, object] = {}
        for name, value in task.slots.items():
            if isinstance(value, Secret):
                continue
            values[name] = value
        if "account_number" in task.slots:
            values["account_spoken"] = read_back(str(task.slots["account_number"]))
        if isinstance(task.slots.get("amount"), Decimal):
            values["amount"] = say_amount(task.slots["amount"])
        if task.flow == "change_address" and "postal_code" in task.slots:
            values["address"] = (
                f"{task.slots.get('address_line1', '')}, {task.slots.get('city', '')}, "
                f"{task.slots.get('region', '')} {read_back(str(task.slots['postal_code']), 5)}"
            )
        return values


def _slot(flow: FlowDef, name: str | None) -> SlotDef:
    for slot in flow.slots:
        if slot.name == name:
            return slot
    raise LookupError(f"flow {flow.name} has no slot {name!r}")
