"""Test doubles that are real servers speaking the real protocol (see DESIGN §6).

They ship in the package (not under tests/) so ``callcenter simulate`` and benchmarks
can run a whole call without a GPU or a model server.
"""

from callcenter.testing.llm_script import Rule, Script, ScriptedToolCall, load_script
from callcenter.testing.scripted_llm import RecordedRequest, ScriptedLLMServer

__all__ = [
    "RecordedRequest",
    "Rule",
    "Script",
    "ScriptedLLMServer",
    "ScriptedToolCall",
    "load_script",
]
