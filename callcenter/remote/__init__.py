"""Speech engines as network services, so many web pods share one GPU.

``callcenter asr-server`` runs the cross-call ASR batcher behind HTTP and ``callcenter
tts-server`` streams synthesis over a WebSocket. :class:`~.asr_client.RemoteTranscriber`
and :class:`~.tts_client.RemoteSynthesizer` implement the same protocols as the in-process
engines; ``make_transcriber`` / ``make_synthesizer`` pick them when ``CALLCENTER_ASR_URL``
/ ``CALLCENTER_TTS_URL`` are set. The wire format is in :mod:`.wire`.
"""

from __future__ import annotations


class RemoteServiceError(RuntimeError):
    """A speech service could not be reached or refused a request; says which and why."""
