"""Builds the process-wide session services and one CallSession per Media Stream."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy.orm import Session, sessionmaker

from callcenter.asr.base import Transcriber
from callcenter.dialogue.flows import flow_replier
from callcenter.dialogue.flows.templates import FlowLines
from callcenter.dialogue.ports import (
    CallControlPort,
    MediaStreamHandler,
    StreamContext,
    StreamOutput,
)
from callcenter.dialogue.prompts import PromptSet, backchannel_lines, load_prompt_set
from callcenter.dialogue.replying import llm_replier
from callcenter.dialogue.services import SessionServices
from callcenter.dialogue.session import CallSession
from callcenter.dialogue.voice import PhraseCache
from callcenter.llm.base import ChatModel
from callcenter.settings import Settings
from callcenter.store.calls import get_call
from callcenter.store.db import transaction
from callcenter.store.recorder import CallRecorder
from callcenter.tools import ToolService
from callcenter.tts.base import Synthesizer

log = logging.getLogger(__name__)

FIXED_LINES = (
    "greeting",
    "reprompt",
    "goodbye",
    "silence_goodbye",
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
        prompts = await asyncio.to_thread(self._call_prompts, context.call_id)
        # Published tool versions as of now; the call keeps them to its end.
        await self.services.tools.refresh(max_age_s=0)
        session = CallSession(
            context, output, self.services, prompts, self.services.tools.snapshot()
        )
        session.tools_ctx.caller_number = await asyncio.to_thread(
            self._caller_number, context.call_id
        )
        await session.start()
        return session

    def _call_prompts(self, call_id: str) -> PromptSet:
        # Resolved once: a prompt published mid-call changes new calls only.
        with transaction(self.session_factory) as session:
            prompts = load_prompt_set(session)
            call = get_call(session, call_id)
            if call is not None and "system" in prompts.version_ids:
                call.prompt_version_id = prompts.version_ids["system"]
        return prompts

    def _caller_number(self, call_id: str) -> str:
        with self.session_factory() as session:
            call = get_call(session, call_id)
            return call.from_number if call is not None else ""


async def warm_fixed_lines(phrases: PhraseCache, prompts: PromptSet) -> None:
    for name in FIXED_LINES:
        texts = backchannel_lines(prompts) if name == "backchannel" else [prompts.render(name)]
        for text in texts:
            if text:
                await phrases.get(text)
    # The task flows' fixed sentences, in the background: the first call must not wait.
    task = asyncio.create_task(_warm_flow_lines(phrases, prompts))
    _WARMING.add(task)
    task.add_done_callback(_WARMING.discard)


_WARMING: set[asyncio.Task[None]] = set()


async def _warm_flow_lines(phrases: PhraseCache, prompts: PromptSet) -> None:
    for text in FlowLines(prompts).fixed_sentences():
        try:
            await phrases.get(text)
        except Exception:  # a line that cannot be synthesised is synthesised when said
            log.warning("could not pre-synthesise %r", text, exc_info=True)
            return


def build_services(
    settings: Settings,
    *,
    session_factory: sessionmaker[Session],
    recorder: CallRecorder,
    call_control: CallControlPort,
    transcriber: Transcriber,
    chat: ChatModel,
    synthesizer: Synthesizer,
) -> SessionServices:
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
    )
