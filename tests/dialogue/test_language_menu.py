"""The keypad language choice in the greeting, on a scripted timeline: the offers are
said in their own languages after the greeting, a language key switches the call and
greets again in that language, and once the caller has spoken the keys are the flows'."""

from __future__ import annotations

from collections.abc import Sequence

from callcenter.dialogue.language import CallLanguage, LanguagePhrases
from callcenter.dialogue.language_menu import LanguageMenu
from callcenter.dialogue.prompts import default_prompt_set
from callcenter.dialogue.voice import PhraseCache
from callcenter.llm.base import Message
from callcenter.tts.style import VoiceStyle
from tests.dialogue.timeline import Speech, make_settings, place_call, run

MULTILINGUAL = {"languages": "en,es,de"}
SPANISH_GREETING = "Hola, gracias por llamar a Harbor Bank."


def last_user(messages: Sequence[Message]) -> str:
    return str([m for m in messages if m["role"] == "user"][-1]["content"])


def agent_texts(call: object) -> list[str]:
    turns = call.log.agent_turns  # type: ignore[attr-defined]
    return [turns[seq]["text"] for seq in sorted(turns)]


def test_the_greeting_offers_each_other_language_in_its_own_words() -> None:
    menu = LanguageMenu(("en", "es", "de"))
    offers = menu.offers(default_prompt_set(), "en")
    assert offers == [
        ("es", "Para español, pulse 2."),
        ("de", "Für Deutsch drücken Sie die 3."),
    ]
    # A call already in Spanish (a returning caller) is offered English and German.
    assert [lang for lang, _ in menu.offers(default_prompt_set(), "es")] == ["en", "de"]
    assert menu.choice("2") == "es" and menu.choice("0") is None and menu.choice("7") is None
    menu.close()
    assert menu.offers(default_prompt_set(), "en") == [] and menu.choice("2") is None
    # One language: no menu at all; disabled: none either.
    assert LanguageMenu(("en",)).offers(default_prompt_set(), "en") == []
    assert LanguageMenu(("en", "es"), enabled=False).choice("2") is None


def test_a_language_without_a_translated_offer_is_not_offered_in_english() -> None:
    prompts = default_prompt_set()
    bodies = {k: v for k, v in prompts.bodies.items() if k != "language_offer.de"}
    stripped = type(prompts)(bodies=bodies, variables=prompts.variables)
    assert LanguageMenu(("en", "es", "de")).offers(stripped, "en") == [
        ("es", "Para español, pulse 2.")
    ]


class _Cache(PhraseCache):
    def __init__(self, name: str) -> None:
        self.name = name

    async def get(
        self, text: str, style: VoiceStyle | None = None, language: str | None = None
    ) -> bytes:
        return self.name.encode()


def test_an_offer_is_spoken_by_its_languages_voice_not_the_calls() -> None:
    language = CallLanguage(("en", "es", "de"), "en")
    phrases = LanguagePhrases({"es": _Cache("es"), "de": _Cache("de")}, _Cache("en"), language)

    async def voices() -> list[bytes]:
        return [
            await phrases.get("Hello."),
            await phrases.get("Para español, pulse 2.", language="es"),
            await phrases.get("Für Deutsch drücken Sie die 3.", language="de"),
        ]

    assert run(voices()) == [b"en", b"es", b"de"]


def test_pressing_a_language_key_in_the_greeting_switches_and_greets_again() -> None:
    settings = make_settings(**MULTILINGUAL)
    script = [Speech(9000, 10200, "Quiero saber mi saldo.")]
    call = run(place_call(script, last_user, until_ms=12000, keys={1500: "2"}, settings=settings))
    texts = agent_texts(call)
    # The first greeting carried the offers (cut by the key: the turn records what was
    # queued; the heard part is kept by the marks).
    assert texts[0].startswith("Hello.") and "Para español, pulse 2." in texts[0], texts
    assert texts[1].startswith(SPANISH_GREETING), texts
    assert "Para español" not in texts[1]  # chosen: not offered again
    assert call.session.language.current == "es" and call.session.language.chosen
    assert ("language", {"language": "es", "why": "keypad"}) in call.log.events
    # The key chose a language; it is no caller turn for the model. The caller's words
    # are then heard as Spanish (the prior the ASR is given).
    assert list(call.log.caller_turns.values()) == ["Quiero saber mi saldo."]
    assert call.transcriber.languages == ["es"]


def test_after_the_caller_has_spoken_a_key_is_the_flows_again() -> None:
    settings = make_settings(**MULTILINGUAL)
    script = [Speech(500, 1500, "Hi there, my account.")]
    keys = {5000: "2", 5100: "#"}
    call = run(place_call(script, last_user, until_ms=8000, keys=keys, settings=settings))
    assert call.session.language.current == "en"
    assert "(keyed on the phone) 2" in list(call.log.caller_turns.values())


def test_a_one_language_deployment_offers_nothing_and_keys_are_the_flows() -> None:
    call = run(place_call([], last_user, until_ms=4000, keys={600: "2", 700: "#"}))
    assert "Para español" not in agent_texts(call)[0]
    assert list(call.log.caller_turns.values()) == ["(keyed on the phone) 2"]
