"""Why a call is handed to a human (recorded on the handoff and in the call's events)."""

from __future__ import annotations

import enum


class EscalationReason(enum.StrEnum):
    caller_request = "caller_request"  # asked for a person
    dtmf_zero = "dtmf_zero"  # pressed 0
    frustration = "frustration"  # the caller's mood estimate rose past the setting
    misunderstanding = "misunderstanding"  # repeated low-confidence turns or re-prompts
    failed_verification = "failed_verification"  # same value the verify_identity tool signals
    model_transfer = "model_transfer"  # the model called transfer_to_human
    llm_unavailable = "llm_unavailable"
    shutdown = "shutdown"  # the server is stopping and the grace period ran out
    other = "other"
