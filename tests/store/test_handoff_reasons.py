"""Handoff reasons are stored as codes; the people who take the call read labels."""

from __future__ import annotations

from callcenter.dialogue.escalation import EscalationReason
from callcenter.shutdown import SHUTDOWN_REASON
from callcenter.store.handoffs import REASON_LABELS, reason_label
from callcenter.tools.call_control import MODEL_TRANSFER
from callcenter.tools.identity import FAILED_VERIFICATION


def test_every_escalation_reason_has_a_readable_label() -> None:
    codes = {reason.value for reason in EscalationReason}
    codes |= {SHUTDOWN_REASON, MODEL_TRANSFER, FAILED_VERIFICATION}  # set outside the enum
    assert codes <= set(REASON_LABELS), sorted(codes - set(REASON_LABELS))
    assert reason_label("frustration") == "Caller sounded frustrated"
    assert all(label and label[0].isupper() for label in REASON_LABELS.values())
