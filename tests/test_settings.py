"""Configuration: documented defaults, and bad values stop start-up naming the variable."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from callcenter.settings import Settings, SettingsError, load_settings

REPO = Path(__file__).resolve().parents[1]


def test_defaults_are_the_embedded_one_machine_setup(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CALLCENTER_DATABASE_URL", "CALLCENTER_LLM_BASE_URL", "CALLCENTER_TTS_ENGINE"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.database_url.startswith("sqlite:///")
    assert settings.llm_base_url == ""
    assert settings.llm_engine_name == "embedded llama.cpp"
    assert settings.tts_engine == "piper"
    assert settings.asr_model == "tiny.en"
    assert settings.port == 8080


def test_public_ws_url_follows_public_url() -> None:
    settings = load_settings(public_url="https://calls.example.com/")
    assert settings.public_ws_url == "wss://calls.example.com/twilio/media"


def test_postgres_url_gets_the_psycopg_driver() -> None:
    settings = load_settings(database_url="postgresql://u@h:5432/db")
    assert settings.sqlalchemy_url == "postgresql+psycopg://u@h:5432/db"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("CALLCENTER_PORT", "eighty"),
        ("CALLCENTER_DATABASE_URL", "mysql://nope"),
        ("CALLCENTER_TTS_ENGINE", "espeak"),
        ("CALLCENTER_HUMAN_DESTINATION", "pager:42"),
        ("CALLCENTER_PUBLIC_URL", "calls.example.com"),
    ],
)
def test_bad_value_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert variable in str(caught.value)


def test_cli_refuses_to_start_with_a_bad_value(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "callcenter.cli", "db", "upgrade"],
        env={"CALLCENTER_PORT": "-3", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode != 0
    assert "CALLCENTER_PORT" in result.stderr


def test_language_asr_models_are_parsed_per_language() -> None:
    settings = load_settings(
        languages="en,es,de", language_asr_models=" en = tiny.en , de=/models/whisper-de,"
    )
    assert settings.asr_models_by_language == {"en": "tiny.en", "de": "/models/whisper-de"}
    assert load_settings(languages="en,es").asr_models_by_language == {}


@pytest.mark.parametrize(
    ("languages", "value", "reason"),
    [
        ("en,es", "es", "'es' is not language=model"),
        ("en,es", "es=", "'es=' is not language=model"),
        ("en,es", "de=large-v3", "'de' is not in CALLCENTER_LANGUAGES (en,es)"),
        ("en,es", "es=large-v3,es=medium", "'es' is given a model twice"),
        ("en,es", "es=base.en", "'base.en' is an English-only model; it cannot hear 'es'"),
        ("en", "en=small.en", "with one, its model is CALLCENTER_ASR_MODEL"),
    ],
)
def test_bad_language_asr_models_say_what_is_wrong(languages: str, value: str, reason: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(languages=languages, language_asr_models=value)
    assert "CALLCENTER_LANGUAGE_ASR_MODELS" in str(caught.value)
    assert reason in str(caught.value)
