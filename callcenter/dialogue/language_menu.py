"""The keypad language choice in the greeting: "Para español, pulse 2. Für Deutsch drücken
Sie die 3."

A multilingual deployment's greeting offers each of its other languages on a key, said
in that language and its voice: a caller who does not understand the greeting still
recognises their own language, and a caller who cannot or would rather not speak gets it
without a word. The keys follow the deployment's language list (``en,es,de``: English 1,
Spanish 2, German 3; 0 stays the operator key).

The menu is open until the caller's first turn: a language key then switches the call at
once. After it the keys belong to the task flows again (an account number may start
with 2), and the caller switches by asking ("en español, por favor").
"""

from __future__ import annotations

from dataclasses import dataclass

from callcenter.dialogue.prompts import PromptSet


@dataclass
class LanguageMenu:
    languages: tuple[str, ...]
    enabled: bool = True
    open: bool = True

    def __post_init__(self) -> None:
        # Keys 1-9 in list order; more languages than keys are reachable by asking only.
        self._keys = {str(n): code for n, code in enumerate(self.languages[:9], start=1)}
        self.open = self.enabled and len(self.languages) > 1

    def key_of(self, language: str) -> str | None:
        return next((key for key, code in self._keys.items() if code == language), None)

    def offers(self, prompts: PromptSet, current: str) -> list[tuple[str, str]]:
        """(language, line) for every language but the call's, each in its own words
        ("Para español, pulse 2."); none once the menu is closed."""
        if not self.open:
            return []
        lines = []
        for key, language in self._keys.items():
            if language == current:
                continue
            # The prompt files' own language is English; another language's offer must be
            # translated ("language_offer.es"), never read out in English.
            name = "language_offer" if language == "en" else f"language_offer.{language}"
            line = prompts.render(name, key=key)
            if line:
                lines.append((language, line))
        return lines

    def choice(self, digit: str) -> str | None:
        """The language a key chooses while the menu is open, else None."""
        return self._keys.get(digit) if self.open else None

    def close(self) -> None:
        self.open = False
