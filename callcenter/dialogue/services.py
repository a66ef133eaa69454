"""What a call session needs from the process: engines, store, tools, call control.

Built once by the runtime and shared by every call; the session never imports the web
app, the telephony endpoint or the process runtime.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from callcenter.asr.base import Transcriber
from callcenter.dialogue.ports import CallControlPort
from callcenter.dialogue.replying import ReplierFactory, llm_replier
from callcenter.dialogue.returning import CallerMemory
from callcenter.dialogue.voice import PhraseCache
from callcenter.llm.base import ChatModel
from callcenter.settings import Settings
from callcenter.store.recorder import CallRecorder
from callcenter.tools.service import ToolService
from callcenter.tts.base import Synthesizer
from callcenter.turn_timing import TurnTiming


@dataclass
class SessionServices:
    settings: Settings
    transcriber: Transcriber
    chat: ChatModel
    synthesizer: Synthesizer
    phrases: PhraseCache
    recorder: CallRecorder
    tools: ToolService
    # Hand the live call to a human (handoff row, summary job, redirect), or hang up.
    call_control: CallControlPort
    # A turn's timing, once complete (metrics, traces).
    observe_timing: Callable[[str, TurnTiming], None] = lambda _call_id, _timing: None
    observe_barge_in: Callable[[float], None] = lambda _seconds: None
    # One replier per call (the LLM with tools unless task flows are plugged in).
    make_replier: ReplierFactory = llm_replier
    # Whether calls start by warming the model on the system prompt and tool schemas
    # (the free LLM replier sends them; task flows do not).
    warm_llm_prefix: bool = True
    # Returning callers' preferences by caller ID (None: calls start fresh).
    caller_memory: CallerMemory | None = None
    # Multilingual deployments: the voice and phrase cache of each language other than
    # the default one (``synthesizer`` / ``phrases``), and where a call's language goes.
    voices: dict[str, Synthesizer] = field(default_factory=dict)
    voice_phrases: dict[str, PhraseCache] = field(default_factory=dict)
    record_language: Callable[[str, str], None] = lambda _call_id, _language: None
