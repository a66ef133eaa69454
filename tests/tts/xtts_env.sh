#!/usr/bin/env bash
# Build (idempotently) the separate environment the Coqui XTTS tests run in: .venv-xtts.
#
# Why a separate environment: coqui-tts 0.28 refuses to import without torchaudio (and
# torchcodec for torch >= 2.9). Their PyPI wheels are CUDA builds (~5.5 GB with the
# nvidia-* packages) and the main environment must never get torch or nvidia-*.
# These CUDA builds run fine on CPU. See DESIGN.md §4.
#
# Usage (from anywhere):  bash tests/tts/xtts_env.sh          (build or refresh)
#                         bash tests/tts/xtts_env.sh test     (build, then run the XTTS tests)
#
# The environment lives in the user's cache (XTTS_VENV overrides), not in the checkout,
# so fresh clones and CI runs reuse it. A marker holds a hash of the heavy pins; when it
# matches, only the project itself is re-installed (seconds). PYTHON picks the interpreter.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="${XTTS_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/callcenter/venv-xtts}"
MODE="${1:-build}"
PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3

# Installed first and on their own: anything that asks for plain `torch` before these
# pins are in place would pull a different build.
TORCH_PINS=("torch==2.11.0" "torchaudio==2.11.0" "torchcodec==0.11.0")
# transformers 5.x breaks XTTS streaming (past_key_values is None); six is an
# undeclared dependency of coqui-tts.
XTTS_PINS=("coqui-tts==0.28.0" "transformers>=4.57,<4.58" "six")
TEST_PINS=("pytest>=8" "pytest-asyncio>=0.23" "pytest-timeout>=2.3")

PINS_HASH="$(printf '%s\n' "${TORCH_PINS[@]}" "${XTTS_PINS[@]}" "${TEST_PINS[@]}" |
  sha256sum | cut -d' ' -f1)"
MARKER="$VENV/.xtts-env-complete"

have_ffmpeg_libs() {
  # torchcodec loads libavcodec/libavformat/libavutil at import time.
  ldconfig -p 2>/dev/null | grep -q 'libavformat\.so' &&
    ldconfig -p 2>/dev/null | grep -q 'libavcodec\.so'
}

if ! have_ffmpeg_libs; then
  echo "xtts-env: installing Debian's ffmpeg libraries"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq ffmpeg >/dev/null
fi

PIP=("$VENV/bin/python" -m pip install --disable-pip-version-check --progress-bar off)

if [ -f "$MARKER" ] && [ "$(cat "$MARKER")" = "$PINS_HASH" ] &&
  "$VENV/bin/python" -c "import torch, torchaudio, TTS.tts.models.xtts" 2>/dev/null; then
  echo "xtts-env: $VENV has the XTTS stack (pins unchanged)"
else
  echo "xtts-env: building $VENV (downloads about 5.5 GB the first time)"
  mkdir -p "$(dirname "$VENV")"
  [ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
  "${PIP[@]}" --upgrade pip wheel setuptools >/dev/null
  "${PIP[@]}" "${TORCH_PINS[@]}"
  "${PIP[@]}" "${TORCH_PINS[@]}" "${XTTS_PINS[@]}" "${TEST_PINS[@]}"
  rm -f "$MARKER"
fi

# This checkout (and its main dependencies), so the tests import callcenter.* unchanged.
"${PIP[@]}" --quiet "${TORCH_PINS[@]}" -e "$ROOT"

# Fail here, not in the tests, if the stack does not import together.
"$VENV/bin/python" - <<'PY'
import torch, torchaudio, transformers
from TTS.tts.models.xtts import Xtts  # noqa: F401
import callcenter.tts.xtts  # noqa: F401
assert transformers.__version__.startswith("4.57"), transformers.__version__
print("xtts-env: torch", torch.__version__, "transformers", transformers.__version__)
PY
echo "$PINS_HASH" >"$MARKER"
echo "xtts-env: ready"

if [ "$MODE" = "test" ]; then
  cd "$ROOT"
  "$VENV/bin/python" -m pytest -q -p no:cacheprovider tests/tts/xtts
fi
