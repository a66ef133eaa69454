"""Start-up refuses built-in secrets where they would protect anything; keys are separate
and rotate. The CLI checks run the real `callcenter` commands (they stop before loading
any model, so they are quick)."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from callcenter.keys import (
    GENERATED_SECRET_FILE,
    load_or_create_secret,
    secure_settings,
    session_keys,
    stream_token_keys,
    tool_secrets_cipher,
)
from callcenter.settings import (
    DEFAULT_SECRET_KEY,
    DEFAULT_TWILIO_AUTH_TOKEN,
    SettingsError,
    load_settings,
)
from callcenter.telephony.signatures import create_stream_token, verify_stream_token
from tests.support.paths import REPO_ROOT
from tests.support.servers import callcenter_command

STRONG = "k" * 48
TWILIO = "t" * 32


def _clean_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALLCENTER_")}
    env |= {"CALLCENTER_STATE_DIR": str(tmp_path / "var"), "CALLCENTER_LOG_LEVEL": "WARNING"}
    return env | extra


@pytest.mark.parametrize(
    ("program", "args", "env"),
    [
        ("serve", ["--host", "0.0.0.0"], {}),
        ("serve", [], {"CALLCENTER_PUBLIC_URL": "https://agent.example.com"}),
        ("worker", [], {"CALLCENTER_HOST": "0.0.0.0"}),
    ],
)
def test_servers_refuse_to_start_on_built_in_secrets_when_reachable(
    tmp_path: Path, program: str, args: list[str], env: dict[str, str]
) -> None:
    result = subprocess.run(
        callcenter_command(program, *args),
        env=_clean_env(tmp_path, **env),
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert f"refusing to start `callcenter {program}`" in result.stderr, result.stderr
    assert "CALLCENTER_SECRET_KEY is the built-in default" in result.stderr
    assert "CALLCENTER_TWILIO_AUTH_TOKEN is the built-in default" in result.stderr
    assert not (tmp_path / "var" / GENERATED_SECRET_FILE).exists()


@pytest.mark.parametrize(
    ("program", "args", "env"),
    [
        ("asr-server", ["--host", "0.0.0.0"], {}),
        ("tts-server", [], {"CALLCENTER_HOST": "10.1.2.3"}),
        ("tts-server", [], {"CALLCENTER_PUBLIC_URL": "https://agent.example.com"}),
        ("asr-server", ["--host", "0.0.0.0"], {"CALLCENTER_SPEECH_SERVICE_TOKEN": "short"}),
    ],
)
def test_speech_services_refuse_to_start_reachable_without_a_service_token(
    tmp_path: Path, program: str, args: list[str], env: dict[str, str]
) -> None:
    result = subprocess.run(
        callcenter_command(program, *args),
        env=_clean_env(tmp_path, **env),
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert f"refusing to start `callcenter {program}`" in result.stderr, result.stderr
    assert "CALLCENTER_SPEECH_SERVICE_TOKEN" in result.stderr


def test_the_web_app_needs_the_service_token_for_remote_speech(tmp_path: Path) -> None:
    settings = load_settings(secret_key=STRONG, twilio_auth_token=TWILIO, asr_url="http://asr:8090")
    with pytest.raises(SettingsError, match="CALLCENTER_SPEECH_SERVICE_TOKEN is empty"):
        secure_settings(settings, "0.0.0.0", program="serve")
    assert secure_settings(settings, "127.0.0.1", program="serve") is settings


def test_only_the_default_variables_are_named(tmp_path: Path) -> None:
    settings = load_settings(secret_key=STRONG, state_dir=tmp_path)
    with pytest.raises(SettingsError) as refused:
        secure_settings(settings, "0.0.0.0", program="serve")
    message = str(refused.value)
    assert "CALLCENTER_TWILIO_AUTH_TOKEN" in message and "SECRET_KEY " not in message
    short = load_settings(secret_key="short", twilio_auth_token=TWILIO)
    with pytest.raises(SettingsError, match="CALLCENTER_SECRET_KEY is shorter than 32"):
        secure_settings(short, "0.0.0.0", program="serve")
    old_default = load_settings(
        secret_key=STRONG, secret_key_previous=DEFAULT_SECRET_KEY, twilio_auth_token=TWILIO
    )
    with pytest.raises(SettingsError, match="CALLCENTER_SECRET_KEY_PREVIOUS"):
        secure_settings(old_default, "0.0.0.0", program="serve")


def test_real_secrets_start_anywhere(tmp_path: Path) -> None:
    settings = load_settings(secret_key=STRONG, twilio_auth_token=TWILIO, state_dir=tmp_path)
    assert secure_settings(settings, "0.0.0.0", program="serve") is settings
    assert not (tmp_path / GENERATED_SECRET_FILE).exists()


def test_loopback_generates_a_secret_once_and_keeps_it_private(tmp_path: Path) -> None:
    settings = load_settings(state_dir=tmp_path / "var")
    assert settings.secret_key == DEFAULT_SECRET_KEY
    assert settings.twilio_auth_token == DEFAULT_TWILIO_AUTH_TOKEN  # fine on loopback
    first = secure_settings(settings, "127.0.0.1", program="serve")
    second = secure_settings(settings, "localhost", program="worker")
    key_file = tmp_path / "var" / GENERATED_SECRET_FILE
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert first.secret_key == second.secret_key == key_file.read_text().strip()
    assert first.secret_key != DEFAULT_SECRET_KEY and len(first.secret_key) >= 48
    # Loose permissions someone set by hand are tightened on the next start.
    key_file.chmod(0o644)
    assert load_or_create_secret(key_file) == first.secret_key
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_each_use_has_its_own_key_and_old_keys_still_read() -> None:
    old = load_settings(secret_key="o" * 40)
    new = load_settings(secret_key="n" * 40, secret_key_previous="o" * 40)
    session, stream = session_keys(new), stream_token_keys(new)
    assert len({session[-1], stream[0], new.secret_key}) == 3  # derived, distinct
    assert session[-1] not in session_keys(old) and session[0] == session_keys(old)[-1]
    # A stream token minted before the rotation still verifies after it.
    token = create_stream_token(stream_token_keys(old)[0], "call-1", "CA1", ttl_s=60)
    verify_stream_token(stream_token_keys(new), token, "call-1", "CA1")
    # A header secret encrypted under the old key decrypts under the new settings, and
    # new ciphertexts are made with the new key only.
    stored = tool_secrets_cipher(old).encrypt(b"Bearer abc")
    assert tool_secrets_cipher(new).decrypt(stored) == b"Bearer abc"
    fresh = tool_secrets_cipher(new).encrypt(b"x")
    assert tool_secrets_cipher(load_settings(secret_key="n" * 40)).decrypt(fresh) == b"x"
    # A dedicated Fernet key takes over encryption; secret_key ciphertexts stay readable.
    dedicated = load_settings(secret_key="o" * 40, tool_secrets_key=Fernet.generate_key().decode())
    assert tool_secrets_cipher(dedicated).decrypt(stored) == b"Bearer abc"
