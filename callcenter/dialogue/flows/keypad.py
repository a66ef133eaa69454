"""The keypad path through the task flows, for callers who cannot or prefer not to speak.

While the call is in keypad mode (:class:`CallPreferences`), :class:`KeypadLines` says the
``keypad_`` variant of a flow line where there is one (from the ``caller_lines`` prompt:
"Press 1 if it was lost, 2 if it was stolen") and adds "Press 1 for yes, or 2 for no" to
every yes/no question. :func:`keyed_words` reads a single key as the words the flow
understands: a task from the menu, a choice, a call-back time. Digits, dates and PINs are
keyed as they always were; yes and no are 1 and 2 in every mode.
"""

from __future__ import annotations

from collections.abc import Callable

from callcenter.dialogue.flows.state import FlowState
from callcenter.dialogue.flows.templates import FlowLines, parse_lines
from callcenter.dialogue.prompts import PromptSet
from callcenter.store.prompts import default_prompt_bodies
from callcenter.text.digits import keyed_digits

LINES_PROMPT = "caller_lines"
KEYPAD_PREFIX = "keypad_"

# The keypad menu of tasks ("keypad_menu" says it); the words are what the rules read.
MENU: dict[str, str] = {
    "1": "my balance",
    "2": "my recent transactions",
    "3": "block my card",
    "4": "please call me back",
}
# Slots whose answer is one of a few: key -> the words that mean it.
CHOICES: dict[str, dict[str, str]] = {
    "reason": {"1": "lost", "2": "stolen"},
    "when": {"1": "later today", "2": "tomorrow morning", "3": "tomorrow afternoon"},
}
# Lines that ask a yes or no: in keypad mode they say which keys mean which.
YES_NO_LINES = frozenset(
    ["confirm_block_card", "confirm_address", "confirm_payment", "confirm_callback",
     "check_task", "no_identity", "no_answer", "confirm_again", "offer_colleague"]
)  # fmt: skip


class KeypadLines(FlowLines):
    """Flow lines that switch to their keypad variants while ``keypad()`` is true."""

    def __init__(self, prompts: PromptSet, keypad: Callable[[], bool]) -> None:
        super().__init__(prompts)
        self._keypad = keypad
        defaults = parse_lines(default_prompt_bodies().get(LINES_PROMPT, ""))
        overlay = {**defaults, **parse_lines(prompts.bodies.get(LINES_PROMPT, ""))}
        self._keypad_lines = {
            key: text for key, text in overlay.items() if key.startswith(KEYPAD_PREFIX)
        }
        self._lines.update(self._keypad_lines)

    def _key(self, key: str) -> str:
        if self._keypad() and f"{KEYPAD_PREFIX}{key}" in self._keypad_lines:
            return f"{KEYPAD_PREFIX}{key}"
        return key

    def _yes_no(self, key: str) -> str:
        return (
            self._lines.get("keypad_yes_no", "") if self._keypad() and key in YES_NO_LINES else ""
        )

    def render_parts(self, key: str, **values: object) -> list[tuple[str, bool]]:
        parts = super().render_parts(self._key(key), **values)
        if hint := self._yes_no(key):
            parts.append((hint, True))
        return parts

    def render(self, key: str, **values: object) -> str:
        text = super().render(self._key(key), **values)
        hint = self._yes_no(key)
        return f"{text} {hint}".strip() if hint else text


def keyed_words(state: FlowState, text: str) -> str | None:
    """The words a single keyed digit stands for where the flow waits for a choice or a
    task, or None (the keys mean what they always meant: digits, 1 = yes, 2 = no)."""
    keyed = keyed_digits(text)
    if keyed is None or len(keyed) != 1:
        return None
    task = state.task
    if task is not None and task.awaiting in CHOICES:
        return CHOICES[task.awaiting].get(keyed)
    if state.offer is None and (task is None or task.awaiting is None):
        return MENU.get(keyed)
    return None
