"""The simulated caller of `callcenter bench tasks`: it hears the agent and answers.

Each time the agent finishes speaking, the caller transcribes what it heard (the
project's own Transcriber, as a person's ear) and picks its answer by keywords: the
account number, the PIN or date of birth, yes or no to a read-back (correcting a wrong
one), the task's details, the keypad when offered, the next request after "anything
else", goodbye. The agent's fixed lines say these words on purpose (see
prompts/flow_lines.txt). :class:`CallerMind` is that decision, free of audio and time.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from callcenter.asr.base import Transcriber
from callcenter.audio.g711 import ulaw_to_float
from callcenter.audio.resample import resample
from callcenter.bench.task_goals import REPHRASE, Goal, spell
from callcenter.bench.voices import only_digits
from callcenter.scenarios.judge import numbers_in
from callcenter.simulator.caller import CallerLine
from callcenter.simulator.script import trim_silence

GOODBYE = "No, that's all. Thank you, goodbye."
# Lines that only acknowledge or stall: the answer itself is still coming.
STALLS = {"okay", "sure", "alright", "all right", "got it", "one moment", "one moment please"}
# "Account 1 0 0 1." / "account number one zero zero seven, is that right?"
_DIGIT = r"(?:\d|zero|oh|one|two|three|four|five|six|seven|eight|nine)"
READ_BACK = re.compile(rf"account(?: number)?(?: is)?[ ,:]*((?:{_DIGIT}[ ,.-]*){{3,12}})")
# How tiny.en writes the agent's "PIN" and "keypad" on a phone line.
PIN = re.compile(r"\bp\.? ?i\.? ?n\b|\bpi in\b|\bpen\b")
KEYPAD = re.compile(r"keypad|key pad|keep it|keep at|keep pad|type it on your")
# Requests that start an account task (a question about opening hours does not).
KEY_WORDS = {
    "one": "1", "when": "1", "won": "1", "two": "2", "to": "2", "too": "2", "three": "3",
    "four": "4", "for": "4", "zero": "0",
}  # fmt: skip
# A key word right after "press" or after a comma in a list of keys ("..., to for ...").
_KEY_WORD = re.compile(
    r"(?<=press )(?:one|when|won|two|to|too|three|four|for|zero)\b"
    r"|(?<=, )(?:one|two|to|too|three|four|for|zero)(?= (?:for|to|if)\b)"
    r"|(?<=or )(?:one|two|to|too|three|four|for|zero)(?= (?:for|to|if)\b)"
)
TASK = re.compile(r"balance|transaction|card|address|pay|call me back|callback|person")
YES_NO_QUESTIONS = ("is that right", "is that correct", "yes or a no", "go ahead", "shall i")
# tiny.en drops a last or first word at the edge of the agent's audio: "... Is that" for
# "... Is that right?", "Would you like us to call you back" for "When would you ...".
CLIPPED_QUESTION = re.compile(r"\bis that\W*$")


@dataclass(frozen=True)
class Reply:
    kind: str  # "say" | "press" | "hangup" | "wait"
    text: str = ""  # what to say, or the keys to press


@dataclass
class CallerMind:
    """What the caller says next, given what the agent just said."""

    goal: Goal
    next_request: int = 0
    account_asks: int = 0
    pin_asks: int = 0
    switched: bool = False
    said_goodbye: bool = False
    repeated_request: bool = False
    asked: dict[str, int] = field(default_factory=dict)  # times each task detail was asked
    last: Reply = field(default_factory=lambda: Reply("wait"))
    log: list[tuple[str, str]] = field(default_factory=list)  # (heard, reply) per turn

    def respond(self, heard: str) -> Reply:
        reply = self._decide(KEYPAD.sub("keypad", " ".join(heard.lower().split())))
        self.log.append((heard, f"{reply.kind}: {reply.text}"))
        if reply.kind in ("say", "press"):
            self.last = reply
        return reply

    def _decide(self, text: str) -> Reply:
        goal = self.goal
        if not text:
            return Reply("wait")
        if "goodbye" in text or "transferring you" in text or "colleague who can help" in text:
            return Reply("hangup" if "goodbye" in text else "wait")
        if self.said_goodbye:
            return Reply("hangup")
        if self.switched and "back to" in text:
            return Reply("say", "No, I don't need that any more.")
        if goal.switch and not self.switched and goal.switch[0] in text:
            self.switched = True
            self.next_request = len(goal.requests)
            return Reply("say", goal.switch[1])
        wrong = self._wrong_account_read_back(text)
        if wrong:
            return wrong
        if any(q in text for q in YES_NO_QUESTIONS) or CLIPPED_QUESTION.search(text):
            change = any(word in text for word in ("payment", "pay ", "address"))
            if goal.decline_read_back and change:
                return Reply("say", "No, don't do that.")
            wrong_amount = self._wrong_amount(text)
            if wrong_amount:
                return wrong_amount
            if "like help with" in text and not self._wanted(text):
                return Reply("say", "No.")  # the agent guessed a task the caller never asked
            # "Yes, that's right" in espeak-ng's RP accent reaches tiny.en as "not right".
            return Reply("say", "Yes, please.")
        if "would you like that" in text or "connect you with" in text:
            wants_person = goal.expected.handoff
            return Reply("say", "Yes, please." if wants_person else "No, thank you.")
        offered = self._offered_keys(text)
        if offered:
            return Reply("press", offered)
        missed = "didn't catch" in text or "didn't get" in text
        if missed and "keypad" in text and self.last.kind == "press":
            return self.last
        if missed and "keypad" in text and "cents" in text and self.goal.expected.payment:
            # The amount keyed with its cents, as the agent offered ("40.00" -> 4000#).
            return Reply("press", self.goal.expected.payment[0].replace(".", "") + "#")
        if missed and "keypad" in text and self._last_digits():
            return Reply("press", self._last_digits() + "#")
        if missed and "what would you like to do" in text:
            return Reply("say", goal.requests[max(0, self.next_request - 1)])
        identity = self._identity(text)
        if identity:
            return identity
        for keys, slot in (
            (("lost, or stolen", "lost or stolen"), "reason"),
            (("street address", "house number"), "street"),
            (("the city", "which city"), "city"),
            (("the state", "which state"), "region"),
            (("zip", "postal code"), "postal_code"),
            (("who would you like", "who do you want to pay"), "payee"),
            (("how much",), "amount"),
            (("when would you like", "what time", "like us to call you"), "time"),
        ):
            if any(key in text for key in keys) and slot in goal.answers:
                first = goal.answers[slot]
                ways = (first, *REPHRASE.get(first, ()))
                self.asked[slot] = self.asked.get(slot, 0) + 1
                return Reply("say", ways[min(self.asked[slot], len(ways)) - 1])
        if missed:
            return self.last if self.last.kind != "wait" else Reply("say", "Sorry?")
        if any(q in text for q in ("anything else", "what else", "how can i help", "help you")):
            if self._request_ignored(text):
                self.repeated_request = True
                return Reply("say", f"Sorry, I meant: {self.last.text}")
            return self._next()
        if "what would you like to do" in text:
            return Reply("say", goal.requests[max(0, self.next_request - 1)])
        if text.rstrip().endswith("?"):
            return Reply("say", "Sorry, could you say that again?")
        return Reply("wait")

    def _identity(self, text: str) -> Reply | None:
        persona = self.goal.persona
        asks_pin = PIN.search(text) is not None
        asks_birth = "birth" in text
        if asks_pin or asks_birth:
            self.pin_asks += 1
            if persona.no_identity:
                return self._no_identity()
            if persona.wrong_pins:
                pin = persona.wrong_pins[min(self.pin_asks, len(persona.wrong_pins)) - 1]
                return Reply("say", spell(pin))
            missed = "didn't catch" in text or "didn't get" in text
            if asks_birth and (persona.prefers_date_of_birth or not asks_pin) and not missed:
                return Reply("say", persona.date_of_birth)
            # Not understood: key the PIN when the keypad is offered, else say it.
            if persona.keypad or (missed and "keypad" in text):
                return Reply("press", persona.pin + "#")
            return Reply("say", spell(persona.pin))
        if "account number" in text:
            self.account_asks += 1
            if persona.no_identity:
                return self._no_identity()
            if persona.keypad or ("keypad" in text and self.account_asks > 2):
                return Reply("press", persona.account + "#")
            if persona.first_account and self.account_asks == 1:
                return Reply("say", spell(persona.first_account))
            return Reply("say", spell(persona.account))
        return None

    def _no_identity(self) -> Reply:
        if self.account_asks + self.pin_asks > 2:
            self.said_goodbye = True
            return Reply("say", "Never mind then. Goodbye.")
        return Reply("say", "Sorry, I don't have my account details with me.")

    def _wrong_account_read_back(self, text: str) -> Reply | None:
        """The agent read back an account number that is not the one the caller meant."""
        persona = self.goal.persona
        found = READ_BACK.search(text)
        if found is None or persona.no_identity:
            return None
        heard = "".join(sorted(numbers_in(found.group(1)), key=len)[-1:])
        # A different length is the caller's ear (ASR) more likely than the agent's: "one
        # zero, zero two" is often written "10002". Only a same-length mismatch is wrong.
        if len(heard) != len(persona.account) or heard == persona.account:
            return None
        return Reply("say", f"No, that's wrong. My account number is {spell(persona.account)}.")

    def _wrong_amount(self, text: str) -> Reply | None:
        """A payment read back with another amount than the caller's: correct it."""
        wanted = self.goal.expected.payment
        if wanted is None or "payment" not in text or "amount" not in self.goal.answers:
            return None
        amount = wanted[0].split(".")[0]  # "25.00" -> "25"
        heard = numbers_in(text, spelled=False)
        if amount in heard or not heard:
            return None  # right, or the caller's ear caught no number: nothing to contest
        return Reply("say", f"No, the amount is {self.goal.answers['amount']}")

    def _wanted(self, text: str) -> bool:
        """Whether a task the agent names is one of the caller's requests."""
        named = set(TASK.findall(text))
        return any(named & set(TASK.findall(r.lower())) for r in self.goal.requests)

    def _request_ignored(self, text: str) -> bool:
        """The agent moved on from an account task without starting it (it misheard the
        request): a caller says it again, once."""
        asked_task = self.last.text in self.goal.requests and TASK.search(self.last.text.lower())
        progress = numbers_in(text, spelled=False) or "verified" in text or "account" in text
        return bool(asked_task) and not progress and not self.repeated_request

    def _offered_keys(self, text: str) -> str | None:
        """The key for what this caller wants, when the agent offers keys for it ("press 1
        if it was lost, or 2 if it was stolen"; the task menu): a caller whose words did
        not come through presses it."""
        if "press" not in text:
            return None
        # tiny.en writes the agent's "press 1" as "press when", "2" as "to".
        text = _KEY_WORD.sub(lambda m: KEY_WORDS[m.group(0)], text)
        reason = self.goal.answers.get("reason", "").lower()
        if reason:
            want = "stolen" if "stolen" in reason else "lost"
            if match := re.search(rf"(\d),? if it was {want}", text):
                return match.group(1) + "#"
        request = self.goal.requests[max(0, self.next_request - 1)].lower()
        wanted = set(TASK.findall(request.replace("call back", "callback")))
        for key, label in re.findall(r"(\d),? (?:for|to) ([a-z ]+)", text):
            if wanted & set(TASK.findall(label.replace("call back", "callback"))):
                return key + "#"
        return None

    def _last_digits(self) -> str:
        """The digits the caller last said (to key them when the agent missed them)."""
        return only_digits(self.last.text) or "" if self.last.kind == "say" else ""

    def _next(self) -> Reply:
        if self.next_request < len(self.goal.requests):
            self.next_request += 1
            return Reply("say", self.goal.requests[self.next_request - 1])
        self.said_goodbye = True
        return Reply("say", GOODBYE)


def is_stall(text: str) -> bool:
    return " ".join(re.findall(r"[a-z]+", text.lower())) in STALLS


async def hear(transcriber: Transcriber, ulaw: bytes) -> str:
    speech = trim_silence(ulaw)
    if len(speech) < 1600:  # under 0.2 s: nothing was said
        return ""
    # Whisper drops a last word that ends right at the edge of the audio: keep a pause.
    speech += b"\xff" * 3200
    audio = resample(ulaw_to_float(speech), 8000, 16000).astype(np.float32)
    return (await transcriber.transcribe(audio)).text.strip()


@dataclass
class TaskCaller:
    """Plays one goal on a call: the driver handed to the simulator."""

    mind: CallerMind
    transcriber: Transcriber
    # (caller text, times said again in a row) -> 8 kHz μ-law in the caller's voice
    render: Callable[[str, int], bytes]
    quiet_ms: int = 1400  # the agent is done when silent this long
    max_turns: int = 16
    turns: int = 0
    heard: list[str] = field(default_factory=list)
    last_said: str = ""
    repeats: int = 0

    async def __call__(self, line: CallerLine) -> None:
        since = 0
        while self.turns < self.max_turns:
            spoke = await self._wait_agent(line, since)
            # The call goes on while the caller's ear transcribes: what the agent says
            # meanwhile is heard next time, not lost.
            heard_to = line.now_ms
            text = await hear(self.transcriber, line.agent_audio(since))
            if spoke and is_stall(text):
                continue  # "Okay." then the answer: keep listening from the same point
            since = heard_to
            self.heard.append(text)
            reply = self.mind.respond(text)
            if reply.kind == "hangup":
                return
            if reply.kind == "wait":
                if not spoke:
                    return  # nothing said and nothing to say: the call is over
                continue
            self.turns += 1
            if reply.kind == "press":
                await line.press(reply.text)
            else:
                # Said again after "I didn't catch that": slower, as people do.
                self.repeats = self.repeats + 1 if reply.text == self.last_said else 0
                self.last_said = reply.text
                await line.say(self.render(reply.text, self.repeats), reply.text)
            since = line.now_ms
        line.note("caller_gave_up", turns=self.turns)

    async def _wait_agent(self, line: CallerLine, since: int, timeout_ms: int = 12_000) -> bool:
        """Until the agent has spoken after ``since`` and gone quiet (also when that
        happened while the caller was still thinking); False when it never spoke."""
        started = line.now_ms
        while True:
            last = line.agent_last_played_ms
            spoke = last is not None and last >= since
            if spoke and not line.agent_speaking and line.now_ms - (last or 0) >= self.quiet_ms:
                return True
            if not spoke and line.now_ms - started >= timeout_ms:
                return False
            await line.tick()
