"""Process-wide state shared by requests and calls: settings, database, engines."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading
import uuid
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from callcenter.call_records import StoreCallRecords
from callcenter.dialogue.ports import HandlerFactory
from callcenter.metrics import Metrics
from callcenter.recordings import RecordingStorage, make_recording_storage
from callcenter.settings import Settings
from callcenter.store.db import make_engine, make_session_factory, transaction
from callcenter.store.recorder import CallRecorder
from callcenter.telephony.browser_calls import BrowserCalls
from callcenter.tracing import TurnTracer, make_turn_tracer

if TYPE_CHECKING:
    from callcenter.dialogue.services import SessionServices
    from callcenter.telephony.rest import CallControl
    from callcenter.tts.base import Synthesizer
    from callcenter.turn_timing import TurnTiming

log = logging.getLogger(__name__)


class Runtime:
    """Owns long-lived resources; created once per process by the app factory."""

    def __init__(
        self, settings: Settings, engine: Engine | None = None, *, speech: bool = False
    ) -> None:
        self.settings = settings
        self.engine = engine or make_engine(settings.sqlalchemy_url)
        self.session_factory: sessionmaker[Session] = make_session_factory(self.engine)
        # Identifies this process in calls.server_id (crash recovery marks orphans).
        self.server_id = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.accepting_calls = True
        self.live_calls = 0
        # Set once every fixed line is synthesised and cached (benchmarks wait for it:
        # they measure a server that has been up, not one still warming up).
        self.fixed_lines_warmed = threading.Event()
        # call_id -> the live call's handler (graceful shutdown hands these to humans).
        self.live_handlers: dict[str, Any] = {}
        self._sweeper: asyncio.Task[None] | None = None
        self.metrics = Metrics()
        # Builds the per-call MediaStreamHandler when a Media Stream starts: the call
        # session once the engines are loaded (tests of the edge put their own here).
        self.handler_factory: HandlerFactory | None = None
        # What a stream's start and end mean for the store (status, post-call job).
        self.call_records = StoreCallRecords(self.session_factory, self.server_id)
        self._call_control: CallControl | None = None
        # Live test calls from the console's browser (call control closes their sockets).
        self.browser_calls = BrowserCalls()
        # Finished recordings: on disk, or uploaded to S3-compatible storage at call end.
        self.recordings: RecordingStorage = make_recording_storage(settings)
        # Load ASR/LLM/TTS and answer calls with the CallSession (the served app does;
        # tests of the edge alone keep the recording handler).
        self.speech = speech
        self.services: SessionServices | None = None
        # Per-turn OpenTelemetry traces when CALLCENTER_OTEL_TRACES is set (else None).
        self.turn_tracer: TurnTracer | None = make_turn_tracer(settings.otel_traces)
        self.recorder: CallRecorder | None = None

    @property
    def call_control(self) -> CallControl:
        """Twilio REST call control (hang up, transfer, place calls), made on first use."""
        if self._call_control is None:
            from callcenter.telephony.rest import CallControl  # twilio.rest is slow to import

            self._call_control = CallControl(self.settings)
        return self._call_control

    @call_control.setter
    def call_control(self, control: CallControl) -> None:
        self._call_control = control

    @property
    def call_control_if_created(self) -> CallControl | None:
        return self._call_control

    async def start(self) -> None:
        await asyncio.to_thread(self._prepare_store)
        if self.speech:
            await self._start_speech()
            self._start_outbox_sweeper()
        log.info("runtime started", extra={"server_id": self.server_id})

    def _prepare_store(self) -> None:
        from callcenter.scenarios.defaults import seed_default_suite
        from callcenter.store.calls import mark_orphaned_calls_interrupted
        from callcenter.store.prompts import seed_default_prompts

        try:
            with transaction(self.session_factory) as session:
                seed_default_prompts(session)
                if self.speech:
                    # Calls a crashed process left "live" were cut off: say so.
                    orphans = mark_orphaned_calls_interrupted(session, [self.server_id])
                    if orphans:
                        log.warning("marked %d orphaned call(s) interrupted", orphans)
        except Exception:
            log.exception("database not ready at start-up; continuing")
            return
        try:
            with transaction(self.session_factory) as session:
                # On a fresh install, the shipped scenario suite guards the first publish.
                seed_default_suite(session)
        except Exception:
            log.exception("could not create the default scenario suite (migrated to 0005?)")

    async def _start_speech(self) -> None:
        from callcenter.asr import make_transcriber
        from callcenter.dialogue.factory import (
            CallSessionFactory,
            build_services,
            warm_fixed_lines,
            warm_language_lines,
        )
        from callcenter.dialogue.prompts import default_prompt_set
        from callcenter.llm import make_chat_model
        from callcenter.tasks.handoff import HandoffOpener
        from callcenter.telephony.call_control import TwilioCallControl
        from callcenter.threads import configure_engine_priority, run_in_engine_thread
        from callcenter.tts import make_language_voices, make_synthesizer

        settings = self.settings
        configure_engine_priority(settings.engine_nice)

        async def make_voices() -> tuple[Synthesizer, dict[str, Synthesizer]]:
            # The further languages' voices may speak through the main one (es=xtts).
            main = await run_in_engine_thread(make_synthesizer, settings)
            return main, await run_in_engine_thread(make_language_voices, settings, main)

        transcriber, chat, (synthesizer, voices) = await asyncio.gather(
            run_in_engine_thread(make_transcriber, settings),
            run_in_engine_thread(make_chat_model, settings),
            make_voices(),
        )
        self.recorder = CallRecorder(self.session_factory)
        open_handoff = HandoffOpener(self.recorder, settings.human_destination)
        self.services = build_services(
            settings,
            session_factory=self.session_factory,
            recorder=self.recorder,
            call_control=TwilioCallControl(
                settings, self.call_control, open_handoff, self.browser_calls
            ),
            transcriber=transcriber,
            chat=chat,
            synthesizer=synthesizer,
            voices=voices,
        )
        self.services.observe_timing = self._observe_turn
        self.services.observe_barge_in = self.metrics.barge_in_reaction.observe
        warming = await warm_fixed_lines(self.services.phrases, default_prompt_set())
        warming.add_done_callback(lambda _task: self.fixed_lines_warmed.set())
        warm_language_lines(self.services, default_prompt_set())
        if self.services.warm_llm_prefix:
            await self._warm_llm_prefix()
        self.handler_factory = CallSessionFactory(self.services, self.session_factory)

    def _observe_turn(self, call_id: str, timing: TurnTiming) -> None:
        self.metrics.observe_turn(timing)
        if self.turn_tracer is not None:
            try:
                self.turn_tracer.record_turn(call_id, timing)
            except Exception:  # a tracing fault must never reach the call
                log.exception("could not record the turn trace", extra={"call_id": call_id})

    def _start_outbox_sweeper(self) -> None:
        # Jobs the broker could not take (Redis down) wait in the outbox table; the
        # served process re-sends them, so a handoff summary is never lost.
        if self.settings.job_sweep_interval_s > 0:
            from callcenter.tasks.outbox import run_sweeper

            self._sweeper = asyncio.create_task(
                run_sweeper(self.session_factory, self.settings.job_sweep_interval_s)
            )

    async def _warm_llm_prefix(self) -> None:
        """Evaluate the system prompt and tool schemas every call starts with (over a
        thousand tokens: seconds on a small CPU), so no caller waits for it."""
        from callcenter.dialogue.prompts import load_prompt_set
        from callcenter.dialogue.vocabulary import system_prompt as with_glossary

        assert self.services is not None
        services = self.services

        def system_prompt() -> str:
            with self.session_factory() as session:
                return with_glossary(load_prompt_set(session))

        try:
            await services.tools.refresh()
            system = await asyncio.to_thread(system_prompt)
            await services.chat.warm(
                [{"role": "system", "content": system}],
                services.tools.schemas(),
                session_key="startup-prefix",
            )
        except Exception:
            log.exception("could not warm the LLM prompt prefix; the first call will")

    async def stop(self) -> None:
        self.accepting_calls = False
        if self._sweeper is not None:
            self._sweeper.cancel()
        if self.services is not None:
            services = self.services
            for closer in (
                services.transcriber.close,
                services.chat.close,
                services.synthesizer.close,
                *(voice.close for voice in services.voices.values()),
            ):
                try:
                    await closer()
                except Exception:
                    log.exception("closing an engine failed")
        if self.recorder is not None:
            await asyncio.to_thread(self.recorder.close)
        if self.turn_tracer is not None:
            await asyncio.to_thread(self.turn_tracer.shutdown)  # flushes pending spans
        self.engine.dispose()
