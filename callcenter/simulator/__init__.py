"""A call simulator that plays Twilio: signed webhook, signed Media Stream, paced μ-law
frames, Twilio's playout buffer (marks, clear), DTMF; records the agent and a timeline.

Library entry point: :func:`callcenter.simulator.caller.run_call`.
"""
