"""`callcenter bench languages`: per language, how well the multilingual profile hears,
speaks and serves a caller.

For each language (en, es, de), with callers whose voices are not the agent's (espeak-ng)
and everything through a μ-law round trip, as on the phone:

- ``language_id``: Whisper base's audio language ID (restricted to the configured
  languages), and the text language ID on its transcript, against the truth;
- ``wer``: word error rate of Whisper base on call-center sentences;
- ``tts_wer``: intelligibility of the agent's own voice (Piper for English, Kokoro for the
  others): its flow lines synthesised, μ-law, transcribed, WER against the line;
- ``tasks``: caller goals (balance, lost card) played turn by turn through ASR and the
  task flows in that language against a throwaway SQLite store; success = the tool ran ok;
- ``first_audio_ms``: from asking the voice for a line to its first audio (median).
"""

from __future__ import annotations

import asyncio
import io
import statistics
import subprocess
import tempfile
import time
import uuid
import wave
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np

from callcenter.asr.base import Transcript
from callcenter.asr.faster_whisper import EMBEDDED_MULTILINGUAL, Request, WhisperEngine
from callcenter.audio.g711 import float_to_ulaw, ulaw_to_float
from callcenter.audio.resample import resample
from callcenter.languages.text_id import text_language
from callcenter.text.languages import fold
from callcenter.tts.base import Synthesizer
from callcenter.tts.render import render_ulaw

LANGUAGES = ("en", "es", "de")
ESPEAK = {"en": "en-us", "es": "es", "de": "de"}
SENTENCES = {
    "en": [
        "I would like to know my balance please.",
        "I lost my credit card yesterday.",
        "Can you block my card right now?",
        "I want to speak to a person.",
        "What are your opening hours?",
        "My account number is one zero zero one.",
    ],
    "es": [
        "Quiero saber el saldo de mi cuenta, por favor.",
        "Perdí mi tarjeta de crédito ayer.",
        "¿Puede bloquear mi tarjeta ahora mismo?",
        "Quiero hablar con una persona.",
        "¿Cuál es su horario de atención?",
        "Mi número de cuenta es uno cero cero uno.",
    ],
    "de": [
        "Ich möchte bitte meinen Kontostand wissen.",
        "Ich habe gestern meine Kreditkarte verloren.",
        "Können Sie meine Karte sofort sperren?",
        "Ich möchte mit einem Mitarbeiter sprechen.",
        "Wann haben Sie geöffnet?",
        "Meine Kontonummer ist eins null null eins.",
    ],
}
# (goal, caller turns, the tool that completes it)
TASKS: dict[str, list[tuple[str, list[str], str]]] = {
    "en": [
        ("balance", ["What is my balance?", "one zero zero one", "four three two one"],
         "get_balance"),
        ("lost_card", ["I lost my card.", "one zero zero one", "four three two one", "Yes."],
         "block_card"),
    ],
    "es": [
        ("balance", ["Quiero saber mi saldo.", "uno cero cero uno", "cuatro tres dos uno"],
         "get_balance"),
        ("lost_card", ["Perdí mi tarjeta.", "uno cero cero uno", "cuatro tres dos uno",
                       "Sí, es correcto."], "block_card"),
    ],
    "de": [
        ("balance", ["Wie ist mein Kontostand?", "eins null null eins", "vier drei zwei eins"],
         "get_balance"),
        ("lost_card", ["Ich habe meine Karte verloren.", "eins null null eins",
                       "vier drei zwei eins", "Ja, das ist richtig."], "block_card"),
    ],
}  # fmt: skip
# The agent's lines whose intelligibility is measured (flow-line keys).
AGENT_LINES = ("ask_account_number", "ask_secret_again", "anything_else", "goodbye")


def espeak_ulaw(text: str, language: str) -> bytes:
    """A caller line in espeak-ng's voice for the language, as 8 kHz μ-law."""
    wav = subprocess.run(
        ["espeak-ng", "-v", ESPEAK[language], "-s", "150", "--stdout", text],
        check=True,
        capture_output=True,
    ).stdout
    with wave.open(io.BytesIO(wav)) as reader:
        rate = reader.getframerate()
        pcm = np.frombuffer(reader.readframes(reader.getnframes()), dtype=np.int16)
    return float_to_ulaw(resample(pcm.astype(np.float32) / 32768.0, rate, 8000))


def phone_to_asr(ulaw: bytes) -> np.ndarray:
    return resample(ulaw_to_float(ulaw), 8000, 16000).astype(np.float32)


def wer(reference: str, hypothesis: str) -> float:
    import jiwer

    def norm(text: str) -> str:
        return " ".join("".join(c if c.isalnum() else " " for c in fold(text)).split())

    return float(jiwer.wer(norm(reference), norm(hypothesis) or "-"))


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 1) if values else None


def hearing(engine: WhisperEngine, language: str, limit: int = 0) -> dict[str, Any]:
    """Language ID and WER on espeak-ng sentences through μ-law."""
    sentences = SENTENCES[language][: limit or None]
    heard: list[Transcript] = [
        engine.transcribe(phone_to_asr(espeak_ulaw(s, language))) for s in sentences
    ]
    by_text = [text_language(t.text, LANGUAGES) for t in heard]
    errors = [wer(s, t.text) for s, t in zip(sentences, heard, strict=True)]
    return {
        "clips": len(sentences),
        "language_id_audio": sum(t.language == language for t in heard) / len(heard),
        "language_id_text": sum(x is not None and x[0] == language for x in by_text) / len(heard),
        "wer": round(float(np.mean(errors)), 3),
        "asr_decode_ms": _median([t.decode_s * 1000 for t in heard]),
        "examples": [{"said": s, "heard": t.text, "language": t.language}
                     for s, t in zip(sentences[:2], heard[:2], strict=True)],
    }  # fmt: skip


async def speaking(
    voice: Synthesizer, forced: WhisperEngine, language: str, limit: int = 0
) -> dict[str, Any]:
    """The agent's own voice: intelligibility (ASR round trip) and first-audio latency."""
    from callcenter.dialogue.flows.languages import LocalizedFlowLines
    from callcenter.dialogue.flows.templates import FlowLines
    from callcenter.dialogue.prompts import default_prompt_set
    from callcenter.text.spoken_forms import say_amount_in

    prompts = default_prompt_set()
    lines = FlowLines(prompts) if language == "en" else LocalizedFlowLines(prompts, language)
    texts = [lines.render(key) for key in AGENT_LINES]
    if language == "en":
        texts.append(f"Your current balance is {say_amount_in(Decimal('2417.35'), 'en')}.")
    else:
        texts.append(lines.render("result_get_balance", balance="2417.35"))
    errors, first_audio = [], []
    texts = texts[-limit:] if limit else texts
    for text in texts:
        started = time.perf_counter()
        async for _chunk in voice.stream(text):
            first_audio.append((time.perf_counter() - started) * 1000)
            break
        heard = forced.transcribe(phone_to_asr(await render_ulaw(voice, text)))
        errors.append(wer(text, heard.text))
    return {
        "lines": len(texts),
        "tts_wer": round(float(np.mean(errors)), 3),
        "first_audio_ms": _median(first_audio),
    }


async def serving(
    engine: WhisperEngine, language: str, database_url: str, limit: int = 0
) -> dict[str, Any]:
    """Caller goals through ASR and the flows in ``language``; success = the tool ran ok."""
    from callcenter.dialogue.flows import make_flow_replier
    from callcenter.dialogue.language import CallLanguage
    from callcenter.dialogue.prompts import default_prompt_set
    from callcenter.dialogue.reply import ReplyResult, Speak
    from callcenter.settings import load_settings
    from callcenter.store.db import make_engine, make_session_factory, transaction
    from callcenter.store.models import Call
    from callcenter.tools import CallContext, ToolExecutor, load_toolset
    from callcenter.tools.base import ToolCall, ToolOutcome

    settings = load_settings(
        database_url=database_url, languages=",".join(LANGUAGES), flow_intent_model=False
    )
    factory = make_session_factory(make_engine(database_url))
    with factory() as session:
        toolset = load_toolset(session)
    executor = ToolExecutor(factory, toolset, settings)
    results = []
    for goal, turns, tool in TASKS[language][: limit or None]:
        with transaction(factory) as session:
            row = Call(call_sid="CA" + uuid.uuid4().hex, from_number="+15550100")
            session.add(row)
            session.flush()
            ctx = CallContext(call_id=row.id, caller_number="+15550100")
        call_language = CallLanguage(LANGUAGES, "en")
        ran: list[ToolOutcome] = []

        async def execute(
            request: ToolCall, ctx: CallContext = ctx, ran: list[ToolOutcome] = ran
        ) -> ToolOutcome:
            outcome = await executor.aexecute(ctx, request)
            ran.append(outcome)
            return outcome

        replier = make_flow_replier(
            settings=settings, prompts=default_prompt_set(), chat=None,  # type: ignore[arg-type]
            ctx=ctx, execute_tool=execute, record_event=lambda _k, _p: None,
            language=call_language,
        )  # fmt: skip
        history: list[dict[str, Any]] = []
        heard_turns: list[str] = []
        for said in turns:
            audio = phone_to_asr(espeak_ulaw(said, language))
            # As the session does: the call's language is the ASR's prior once heard.
            prior = call_language.current if call_language.heard else None
            heard = engine.transcribe_batch([Request(audio, replier.asr_hint(), prior)])[0]
            heard_turns.append(heard.text)
            call_language.observe(heard.text, heard.language, heard.language_probability)
            ctx.record_caller_utterance(heard.text)
            history.append({"role": "user", "content": heard.text})
            lines: list[Speak] = []

            async def speak(item: Speak, lines: list[Speak] = lines) -> None:
                lines.append(item)

            async def go() -> None:
                return None

            await replier.run(
                history, speak, session_key="bench", result=ReplyResult(), before_effects=go
            )
            history.append({"role": "assistant", "content": " ".join(i.text for i in lines)})
        done = any(o.name == tool and o.status.value == "ok" for o in ran)
        results.append(
            {"goal": goal, "ok": done, "language": call_language.current, "heard": heard_turns}
        )
    return {
        "success": sum(bool(r["ok"]) for r in results) / len(results),
        "goals": results,
    }


def run_languages_bench(
    languages: tuple[str, ...] = LANGUAGES, *, quick: bool = False
) -> dict[str, Any]:
    """``quick``: 3 sentences, 2 agent lines and 1 goal per language (a smoke run)."""
    few = 3 if quick else 0
    from callcenter.settings import load_settings
    from callcenter.store import migrate
    from callcenter.store.db import make_engine, make_session_factory, transaction
    from callcenter.store.seed import seed_demo
    from callcenter.tts import make_language_voices, make_local_synthesizer

    settings = load_settings(languages=",".join(LANGUAGES))
    engine = WhisperEngine(EMBEDDED_MULTILINGUAL, languages=LANGUAGES, intra_threads=2)
    forced = {lang: WhisperEngine(EMBEDDED_MULTILINGUAL, languages=(lang,)) for lang in languages}
    voices: dict[str, Synthesizer] = {"en": make_local_synthesizer(settings)}
    voices |= make_language_voices(settings, voices["en"])
    report: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        migrate.upgrade(url)
        with transaction(make_session_factory(make_engine(url))) as session:
            seed_demo(session)
        for language in languages:
            item = hearing(engine, language, few)
            item |= asyncio.run(speaking(voices[language], forced[language], language, few and 2))
            item["tasks"] = asyncio.run(serving(engine, language, url, few and 1))
            report[language] = item
    return report


def table(report: dict[str, Any]) -> str:
    """The README table."""
    rows = [
        "| language | language ID (audio / text) | WER (espeak-ng, μ-law) | agent voice WER "
        "| tasks ok | first audio (ms) |",
        "|---|---|---|---|---|---|",
    ]
    for language, item in report.items():
        rows.append(
            f"| {language} | {item['language_id_audio']:.0%} / {item['language_id_text']:.0%} "
            f"| {item['wer']:.1%} | {item['tts_wer']:.1%} | {item['tasks']['success']:.0%} "
            f"| {item['first_audio_ms']} |"
        )
    return "\n".join(rows)
