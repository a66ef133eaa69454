"""Requests about the call itself, honoured at any moment: slower, faster, louder, softer,
say that again, the keypad instead of speech, more time, "forget my preferences".

A caller turn that is such a request (``text/caller_requests.py``: a few words, or a star
code on the keypad) never reaches the task flows or the model. The change applies to the
rest of the call: the voice speaks every later line (replies and fixed lines) in the new
:class:`VoiceStyle`, turn-taking waits longer before re-prompting, and the flows switch to
keypad prompts. Then the agent says it (at the new pace) and repeats what it said last, so
the caller hears that line the way they asked for.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from callcenter.dialogue.events import CallEvent, PlaybackFinished
from callcenter.dialogue.flows.templates import SENTENCE_BREAK, parse_lines
from callcenter.dialogue.preferences import CallPreferences
from callcenter.dialogue.prompts import PromptSet
from callcenter.store.prompts import default_prompt_bodies
from callcenter.text.caller_requests import CallerRequest
from callcenter.tts.style import VoiceStyle

log = logging.getLogger(__name__)

LINES_PROMPT = "caller_lines"

# Requests after which the agent says its last line again (in the new pace or volume).
_REPEATS_LAST: frozenset[CallerRequest] = frozenset(
    ["slower", "faster", "louder", "softer", "repeat"]
)


_FIXED_KEYS = (
    "slower", "slowest", "faster", "louder", "loudest", "softer", "nothing_to_repeat",
    "keypad_on", "speech_on", "more_time", "help", "forgot_preferences", "keypad_menu",
)  # fmt: skip


class CallerLines:
    """The ``caller_lines`` prompt: a key per thing said (the shipped default fills gaps)."""

    def __init__(self, prompts: PromptSet) -> None:
        defaults = parse_lines(default_prompt_bodies().get(LINES_PROMPT, ""))
        self._lines = {**defaults, **parse_lines(prompts.bodies.get(LINES_PROMPT, ""))}

    def get(self, key: str) -> str:
        return self._lines.get(key, "")

    def fixed_sentences(self) -> list[str]:
        """The sentences said as they are (synthesised ahead of the first call)."""
        return [
            sentence
            for key in _FIXED_KEYS
            for sentence in SENTENCE_BREAK.split(self.get(key))
            if sentence
        ]


class Accessibility:
    """One call's handling of requests about the call."""

    def __init__(
        self,
        preferences: CallPreferences,
        lines: CallerLines,
        *,
        apply_style: Callable[[VoiceStyle], None],
        apply_patience: Callable[[bool], None],
        pending_question: Callable[[], str | None],
        backchannels: list[str],
        forget: Callable[[], object] = lambda: None,
    ) -> None:
        self.preferences = preferences
        self.lines = lines
        self._apply_style = apply_style
        self._apply_patience = apply_patience
        self._pending_question = pending_question
        self._backchannels = {line.strip() for line in backchannels}
        self._forget = forget
        self.last_line = ""  # the last thing the agent said, to say again
        self._own_turns: set[str] = set()  # acknowledgements: not "what the agent said"
        self.apply()

    def apply(self) -> None:
        """Put the preferences into effect (at the start, or after they were loaded)."""
        self._apply_style(self.preferences.style)
        self._apply_patience(self.preferences.more_time or self.preferences.keypad)

    def observe(self, event: CallEvent) -> None:
        if isinstance(event, PlaybackFinished) and event.turn_id not in self._own_turns:
            text = _without_backchannel(event.text, self._backchannels)
            if text:
                self.last_line = text

    def own_turn(self, turn_id: str) -> None:
        self._own_turns.add(turn_id)

    def handle(self, request: CallerRequest) -> list[tuple[str, bool]]:
        """Apply the request; returns what the agent says about it, sentence by sentence,
        each with whether it is a fixed line (the phrase cache may replay it)."""
        prefs, lines = self.preferences, self.lines
        said: list[str] = []
        if request in ("slower", "faster", "louder", "softer"):
            before = prefs.style
            prefs.style = getattr(before, request)()
            unchanged = prefs.style == before
            key = {"slower": "slowest", "louder": "loudest"}.get(request, request)
            said.append(lines.get(key if unchanged else request))
            self._apply_style(prefs.style)
        elif request == "keypad":
            prefs.keypad = True
            said += [lines.get("keypad_on"), self._pending_question() or lines.get("keypad_menu")]
        elif request == "speech":
            prefs.keypad = False
            said += [lines.get("speech_on"), self._pending_question() or ""]
        elif request == "more_time":
            prefs.more_time = True
            said.append(lines.get("more_time"))
        elif request == "help":
            said.append(lines.get("help"))
        elif request == "forget_preferences":
            self._forget()
            said.append(lines.get("forgot_preferences"))
        self._apply_patience(prefs.more_time or prefs.keypad)
        if request in _REPEATS_LAST:
            if self.last_line:
                said.append(self.last_line)
            else:
                said.append(lines.get("nothing_to_repeat"))
        log.info("caller request %s -> %s", request, prefs.as_dict())
        # The request's own lines are fixed; the pending question and the repeated line
        # may hold account values.
        fixed = {lines.get(key) for key in _FIXED_KEYS}
        return [
            (sentence, part in fixed)
            for part in said
            if part
            for sentence in SENTENCE_BREAK.split(part.strip())
            if sentence
        ]


def _without_backchannel(text: str, backchannels: set[str]) -> str:
    """The line without the "Okay." said before the answer was ready."""
    text = text.strip()
    for line in backchannels:
        if line and text.startswith(line) and text != line:
            return text[len(line) :].strip()
    return text
