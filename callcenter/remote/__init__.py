"""Speech engines as network services, so many web pods share one GPU.

``callcenter asr-server`` runs the cross-call ASR batcher behind HTTP and ``callcenter
tts-server`` streams synthesis over a WebSocket. Their clients live beside the engines
(:mod:`callcenter.asr.remote`, :mod:`callcenter.tts.remote`) and implement the same
protocols; ``make_transcriber`` / ``make_synthesizer`` pick them when
``CALLCENTER_ASR_URL`` / ``CALLCENTER_TTS_URL`` are set. The wire format is in :mod:`.wire`.
"""

from __future__ import annotations

from callcenter.service_errors import RemoteServiceError

__all__ = ["RemoteServiceError"]
