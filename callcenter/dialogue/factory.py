"""Builds the process-wide session services and one CallSession per Media Stream."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy.orm import Session, sessionmaker

from callcenter.asr.base import Transcriber
from callcenter.dialogue.accessibility import CallerLines
from callcenter.dialogue.flows import flow_replier
from callcenter.dialogue.flows.definitions import FLOWS
from callcenter.dialogue.flows.knowledge import KnowledgeBase
from callcenter.dialogue.flows.templates import FlowLines
from callcenter.dialogue.language import prompts_in
from callcenter.dialogue.language_menu import LanguageMenu
from callcenter.dialogue.ports import (
    CallControlPort,
    MediaStreamHandler,
    StreamContext,
    StreamOutput,
)
from callcenter.dialogue.prompts import PromptSet, backchannel_lines, load_prompt_set
from callcenter.dialogue.replying import llm_replier
from callcenter.dialogue.returning import StoreCallerMemory
from callcenter.dialogue.services import SessionServices
from callcenter.dialogue.session import CallSession
from callcenter.dialogue.voice import PhraseCache
from callcenter.keys import caller_id_keys
from callcenter.llm.base import ChatModel
from callcenter.settings import Settings
from callcenter.store import calls as call_store
from callcenter.store.calls import browser_call_drafts, get_call
from callcenter.store.db import transaction
from callcenter.store.models import CallDirection
from callcenter.store.recorder import CallRecorder
from callcenter.tools import ToolService
from callcenter.tts.base import Synthesizer

log = logging.getLogger(__name__)

FIXED_LINES = (
    "greeting",
    "reprompt",
    "goodbye",
    "silence_goodbye",
    "take_your_time",
    "handoff_line",
    "filler",
    "backchannel",
)


class CallSessionFactory:
    """The telephony edge's HandlerFactory: one CallSession per verified stream."""

    def __init__(self, services: SessionServices, session_factory: sessionmaker[Session]):
        self.services = services
        self.session_factory = session_factory

    async def __call__(self, context: StreamContext, output: StreamOutput) -> MediaStreamHandler:
        prompts, caller_number, outbound = await asyncio.to_thread(
            self._call_setup, context.call_id
        )
        # Published tool versions as of now; the call keeps them to its end.
        await self.services.tools.refresh(max_age_s=0)
        session = CallSession(
            context, output, self.services, prompts, self.services.tools.snapshot()
        )
        session.tools_ctx.caller_number = caller_number
        if outbound and self.services.settings.voicemail_own_check:
            session.screen_for_voicemail()
        await session.recall_caller(caller_number)
        await session.start()
        return session

    def _call_setup(self, call_id: str) -> tuple[PromptSet, str, bool]:
        """In one transaction: the call's prompts (resolved once: a prompt published
        mid-call changes new calls only), the caller's number, whether we placed it."""
        with transaction(self.session_factory) as session:
            call = get_call(session, call_id)
            # A console test call may try drafts; a phone call always gets the published.
            drafts = browser_call_drafts(session, call_id) if call is not None else []
            prompts = load_prompt_set(session, drafts=drafts)
            if call is None:
                return prompts, "", False
            if "system" in prompts.version_ids:
                call.prompt_version_id = prompts.version_ids["system"]
            return prompts, call.from_number, call.direction == CallDirection.outbound


def warm_language_lines(services: SessionServices, prompts: PromptSet) -> None:
    """The fixed lines of every further language, in the background (their voices are
    slower than Piper; the first call in a language should not wait for them)."""
    settings = services.settings
    # The greeting's keypad offers ("Para español, pulse 2") are in every call's first
    # seconds: each language warms its own first.
    menu = LanguageMenu(settings.language_codes, enabled=settings.language_keypad)
    offers = dict(menu.offers(prompts, current=""))
    for language, phrases in services.voice_phrases.items():
        offer = offers.pop(language, "")
        task = asyncio.create_task(_warm_language(phrases, prompts_in(prompts, language), offer))
        _WARMING.add(task)
        task.add_done_callback(_WARMING.discard)
    for offer in offers.values():  # languages spoken by the default voice
        task = asyncio.create_task(_warm_language(services.phrases, None, offer))
        _WARMING.add(task)
        task.add_done_callback(_WARMING.discard)


async def _warm_language(phrases: PhraseCache, prompts: PromptSet | None, offer: str) -> None:
    if offer:
        await phrases.get(offer)
    if prompts is not None:
        warming = await warm_fixed_lines(phrases, prompts)
        await warming


async def warm_fixed_lines(phrases: PhraseCache, prompts: PromptSet) -> asyncio.Task[None]:
    """Synthesise the fixed lines ahead of the calls that say them: the greeting and
    backchannels now, the flows' lines in the background (returned: done when all are)."""
    for name in FIXED_LINES:
        texts = backchannel_lines(prompts) if name == "backchannel" else [prompts.render(name)]
        for text in texts:
            if text:
                await phrases.get(text)
    # The first question of each flow and the shared lines first, then every other fixed
    # sentence of the flows ("And the city?", "You're verified."): an answer that starts
    # with a cached sentence is heard at once instead of after its synthesis (0.2-0.6 s
    # on 2 cores). In the background: the first call must not wait for it.
    task = asyncio.create_task(_warm_flow_lines(phrases, prompts))
    _WARMING.add(task)
    task.add_done_callback(_WARMING.discard)
    return task


_WARMING: set[asyncio.Task[None]] = set()


async def _warm_flow_lines(phrases: PhraseCache, prompts: PromptSet) -> None:
    lines = FlowLines(prompts)
    # And the lines of caller requests ("I'll speak more slowly").
    # The knowledge base's sentences early: a question is how many calls open.
    texts = [
        *lines.fixed_sentences(_opening_flow_lines()),
        *KnowledgeBase.from_prompts(prompts).sentences(),
        *CallerLines(prompts).fixed_sentences(),
        *lines.fixed_sentences(),
    ]
    for text in dict.fromkeys(texts):
        try:
            await phrases.get(text)
        except Exception:  # a line that cannot be synthesised is synthesised when said
            log.warning("could not pre-synthesise %r", text, exc_info=True)
            return


def _opening_flow_lines() -> list[str]:
    firsts = [flow.slots[0].ask for flow in FLOWS.values() if flow.slots]
    return [*firsts, "verified", "anything_else", "not_understood", "goodbye"]


def build_services(
    settings: Settings,
    *,
    session_factory: sessionmaker[Session],
    recorder: CallRecorder,
    call_control: CallControlPort,
    transcriber: Transcriber,
    chat: ChatModel,
    synthesizer: Synthesizer,
    voices: dict[str, Synthesizer] | None = None,
) -> SessionServices:
    """``voices``: the synthesizer of each further language (multilingual deployments)."""
    voices = voices or {}

    def record_language(call_id: str, language: str) -> None:
        recorder.submit(
            lambda s: call_store.set_call_language(s, call_id, language), "call language"
        )

    return SessionServices(
        settings=settings,
        transcriber=transcriber,
        chat=chat,
        synthesizer=synthesizer,
        phrases=PhraseCache(synthesizer),
        recorder=recorder,
        tools=ToolService(session_factory, settings),
        call_control=call_control,
        # Task flows run the conversation by default; "llm" keeps the free LLM path.
        make_replier=flow_replier if settings.dialogue_mode == "flows" else llm_replier,
        # Task flows never send the system prompt and tool schemas: nothing to warm.
        warm_llm_prefix=settings.dialogue_mode == "llm",
        caller_memory=(
            StoreCallerMemory(session_factory, caller_id_keys(settings))
            if settings.remember_callers
            else None
        ),
        voices=voices,
        voice_phrases={language: PhraseCache(voice) for language, voice in voices.items()},
        record_language=record_language,
    )
