"""Secrets at start-up, and the separate keys derived from the one secret key.

Every server calls a check before it starts: ``serve`` and ``worker`` call
:func:`secure_settings`, ``asr-server`` and ``tts-server`` :func:`secure_speech_service`.
A built-in default secret is refused when the process is reachable from elsewhere
(bound to a non-loopback address, or published behind an https URL); on loopback the
one-machine run gets a random secret key, generated once into ``state_dir`` (mode
0600), so ``make run`` needs no set-up.

One secret key, three uses, three keys (HKDF-SHA256 with a label each): a leaked
session-signing key cannot mint stream tokens or decrypt tool header secrets. Keys in
``secret_key_previous`` are still accepted for reading (old cookies, tokens in flight,
stored ciphertexts), never for signing: that is key rotation (SECURITY.md).
"""

from __future__ import annotations

import base64
import contextlib
import ipaddress
import logging
import os
import secrets
from pathlib import Path

from cryptography.fernet import Fernet, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from callcenter.settings import (
    DEFAULT_SECRET_KEY,
    DEFAULT_TWILIO_AUTH_TOKEN,
    Settings,
    SettingsError,
    split_list,
)

log = logging.getLogger(__name__)

GENERATED_SECRET_FILE = "secret_key"
MIN_SECRET_LENGTH = 32
LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


# --- start-up checks ----------------------------------------------------------------------


def is_loopback(host: str) -> bool:
    host = host.strip().strip("[]").lower()
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def exposure(settings: Settings, bind_host: str) -> str | None:
    """Why this process is reachable from outside the machine, or None (loopback only)."""
    if not is_loopback(bind_host):
        return f"it listens on {bind_host} (not loopback)"
    if settings.public_url.startswith("https://"):
        return f"CALLCENTER_PUBLIC_URL is {settings.public_url}"
    return None


def weak_secrets(settings: Settings) -> list[str]:
    """Each variable whose value is a built-in default (or too short to be a key)."""
    problems = []
    if settings.secret_key in ("", DEFAULT_SECRET_KEY):
        problems.append("CALLCENTER_SECRET_KEY is the built-in default")
    elif len(settings.secret_key) < MIN_SECRET_LENGTH:
        problems.append(f"CALLCENTER_SECRET_KEY is shorter than {MIN_SECRET_LENGTH} characters")
    if DEFAULT_SECRET_KEY in split_list(settings.secret_key_previous):
        problems.append("CALLCENTER_SECRET_KEY_PREVIOUS holds the built-in default")
    if settings.twilio_auth_token in ("", DEFAULT_TWILIO_AUTH_TOKEN):
        problems.append("CALLCENTER_TWILIO_AUTH_TOKEN is the built-in default")
    if (settings.asr_url or settings.tts_url) and not settings.speech_service_token:
        problems.append(
            "CALLCENTER_SPEECH_SERVICE_TOKEN is empty while CALLCENTER_ASR_URL or "
            "CALLCENTER_TTS_URL is set"
        )
    if settings.tool_secrets_key and len(settings.tool_secrets_key) < MIN_SECRET_LENGTH:
        problems.append(
            f"CALLCENTER_TOOL_SECRETS_KEY is shorter than {MIN_SECRET_LENGTH} characters"
        )
    return problems


def secure_settings(settings: Settings, bind_host: str, *, program: str) -> Settings:
    """The settings a server may start with, or :class:`SettingsError` naming what is wrong.

    Reachable + a default secret = refuse. Loopback + the default secret key = a random
    one from ``state_dir`` (made on first start). A default Twilio token on loopback is
    allowed: the simulator signs with it, and nothing outside can reach the server."""
    reason = exposure(settings, bind_host)
    problems = weak_secrets(settings)
    if reason is not None and problems:
        lines = [f"refusing to start `callcenter {program}`: {reason}, and"]
        lines += [f"  {problem}" for problem in problems]
        lines.append(
            "Set each to a long random value, e.g. "
            "python -c 'import secrets; print(secrets.token_urlsafe(48))' (see SECURITY.md)."
        )
        raise SettingsError("\n".join(lines))
    if settings.secret_key in ("", DEFAULT_SECRET_KEY):
        path = Path(settings.state_dir) / GENERATED_SECRET_FILE
        key = load_or_create_secret(path)
        log.warning(
            "CALLCENTER_SECRET_KEY is not set: using the generated key in %s "
            "(fine on loopback; set the variable for anything reachable)",
            path,
        )
        settings = settings.model_copy(update={"secret_key": key})
    return settings


def secure_speech_service(settings: Settings, bind_host: str, *, program: str) -> None:
    """``asr-server`` / ``tts-server`` hold no session, Twilio or tool secret (least
    privilege: they are never given one); what protects them is the service token the
    web pods send. Reachable without it = anyone on the network gets free GPU time."""
    reason = exposure(settings, bind_host)
    token = settings.speech_service_token
    if reason is None or len(token) >= MIN_SECRET_LENGTH:
        return
    problem = (
        "CALLCENTER_SPEECH_SERVICE_TOKEN is empty"
        if not token
        else f"CALLCENTER_SPEECH_SERVICE_TOKEN is shorter than {MIN_SECRET_LENGTH} characters"
    )
    raise SettingsError(
        f"refusing to start `callcenter {program}`: {reason}, and\n  {problem}\n"
        "Set it (the same value on the web pods) to a long random value (see SECURITY.md)."
    )


def load_or_create_secret(path: Path) -> str:
    """The key in ``path``, written once (0600) if absent. Safe when two processes start
    together (the server and its worker): the file appears whole or not at all."""
    try:
        return _read_secret(path)
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_urlsafe(48) + "\n")
        # Fails if another process won the race: then we read theirs.
        with contextlib.suppress(FileExistsError):
            os.link(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return _read_secret(path)


def _read_secret(path: Path) -> str:
    if path.stat().st_mode & 0o077:
        path.chmod(0o600)
    value = path.read_text().strip()
    if len(value) < MIN_SECRET_LENGTH:
        raise SettingsError(f"{path}: the generated secret key is damaged; delete the file")
    return value


# --- derived keys -------------------------------------------------------------------------


def derive_key(secret: str, purpose: str) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"callcenter/" + purpose.encode()
    ).derive(secret.encode())


def _root_keys(settings: Settings) -> list[str]:
    """The current secret key first, then the previous ones."""
    return [settings.secret_key, *split_list(settings.secret_key_previous)]


def session_keys(settings: Settings) -> list[str]:
    """Session-cookie signing keys, oldest first, the signing key last (itsdangerous)."""
    keys = [derive_key(secret, "session").hex() for secret in _root_keys(settings)]
    return list(reversed(keys))


def stream_token_keys(settings: Settings) -> list[str]:
    """Stream-token keys: the first signs, all verify."""
    return [derive_key(secret, "stream-token").hex() for secret in _root_keys(settings)]


def caller_id_keys(settings: Settings) -> list[bytes]:
    """Keys that hash a caller ID for the returning-caller store: the first stores, all
    find (a rotated secret still recognises callers until they call again)."""
    return [derive_key(secret, "caller-id") for secret in _root_keys(settings)]


def _tool_fernet(material: str) -> Fernet:
    try:
        return Fernet(material.encode())  # already a Fernet key
    except ValueError:
        pass
    # The label predates this module: ciphertexts stored before it stay readable.
    key = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"callcenter tool header secrets"
    ).derive(material.encode())
    return Fernet(base64.urlsafe_b64encode(key))


def tool_secrets_cipher(settings: Settings) -> MultiFernet:
    """Encrypts with the current key; decrypts with the current and every previous one."""
    materials = [settings.tool_secrets_key] if settings.tool_secrets_key else [settings.secret_key]
    materials += split_list(settings.tool_secrets_key_previous)
    if settings.tool_secrets_key:
        # Ciphertexts made before a dedicated key was configured were derived from
        # secret_key: keep them readable.
        materials.append(settings.secret_key)
    materials += split_list(settings.secret_key_previous)
    unique = list(dict.fromkeys(materials))
    return MultiFernet([_tool_fernet(material) for material in unique])
