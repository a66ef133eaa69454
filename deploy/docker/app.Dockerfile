# syntax=docker/dockerfile:1
# The app image: `callcenter serve` (web), `callcenter worker`, celery beat, migrations.
#   docker build -f deploy/docker/app.Dockerfile -t callcenter:0.1.0 .
#   docker build -f deploy/docker/app.Dockerfile --build-arg EMBEDDED=true -t callcenter:0.1.0-embedded .
# EMBEDDED=true adds the offline CPU models (tiny.en, Piper joe, Qwen 0.5B GGUF ~0.5 GB) and
# compiles llama-cpp-python; production images leave it out and use the GPU services + vLLM.

ARG PYTHON_VERSION=3.11

FROM python:${PYTHON_VERSION}-slim AS build
ARG EMBEDDED=false
# llama-cpp-python has no binary wheel: it compiles, and only the embedded build needs it.
# Distribution packages track the base image's security updates: not pinned.
# hadolint ignore=DL3008
RUN if [ "$EMBEDDED" = "true" ]; then \
      apt-get update && apt-get install -y --no-install-recommends build-essential cmake \
      && rm -rf /var/lib/apt/lists/*; \
    fi
RUN python -m venv /opt/venv && /opt/venv/bin/pip install --no-cache-dir --upgrade pip wheel setuptools
WORKDIR /app
# Dependencies first (cached while only the code changes): install from pyproject alone.
COPY pyproject.toml README.md ./
RUN mkdir -p callcenter && touch callcenter/__init__.py \
    && extras="[tracing,s3,opus]"; if [ "$EMBEDDED" = "true" ]; then extras="[tracing,s3,opus,embedded]"; fi \
    && CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON" \
       /opt/venv/bin/pip install --no-cache-dir ".${extras}" \
    && /opt/venv/bin/pip uninstall -y callcenter
COPY alembic.ini ./
COPY callcenter ./callcenter
COPY migrations ./migrations
COPY prompts ./prompts
# Editable on purpose: migrations/ and prompts/ are found beside the package (store/migrate.py).
# Then the end-of-turn model (Smart Turn v3.2, BSD-2-Clause) and its licence, as `make
# install` fetches them: out of the pipecat-ai wheel (no dependencies), SHA-256 checked
# (callcenter/audio/smart_turn_files.py). Without it every turn waits TURN_MAX_SILENCE_MS.
RUN /opt/venv/bin/pip install --no-cache-dir --no-deps -e . \
    && XDG_CACHE_HOME=/opt/model-cache /opt/venv/bin/python -m callcenter.audio.smart_turn_files

FROM python:${PYTHON_VERSION}-slim
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    CALLCENTER_HOST=0.0.0.0 \
    CALLCENTER_PORT=8080 \
    HOME=/home/app
# The same uid/gid as the Helm chart's securityContext.
RUN groupadd --gid 10001 app && useradd --uid 10001 --gid app --create-home --home-dir /home/app app
COPY --from=build /opt/venv /opt/venv
COPY --from=build --chown=app:app /app /app
# Where the app looks by default: $HOME/.cache/callcenter (CACHE_DIR).
COPY --from=build --chown=app:app /opt/model-cache/callcenter /home/app/.cache/callcenter
WORKDIR /app
USER 10001:10001
EXPOSE 8080
# For `docker run`; Kubernetes uses the chart's probes instead. (Worker containers have no
# HTTP port: run them with --no-healthcheck or override it.)
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('CALLCENTER_PORT', '8080'), timeout=4)"]
ENTRYPOINT ["callcenter"]
CMD ["serve"]
