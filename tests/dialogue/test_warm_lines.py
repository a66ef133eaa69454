"""Start-up synthesises what the first seconds of a call say first, then every other fixed
flow sentence in the background, so no answer waits for the synthesis of a fixed line."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import numpy as np

from callcenter.dialogue.factory import warm_fixed_lines
from callcenter.dialogue.flows.knowledge import KnowledgeBase
from callcenter.dialogue.flows.templates import FlowLines
from callcenter.dialogue.prompts import default_prompt_set
from callcenter.dialogue.voice import PhraseCache
from callcenter.tts.base import AudioChunk
from callcenter.tts.speakable import speakable


class CountingSynth:
    sample_rate = 8000

    def __init__(self) -> None:
        self.texts: list[str] = []

    async def stream(self, text: str) -> AsyncIterator[AudioChunk]:
        self.texts.append(text)
        yield AudioChunk(samples=np.zeros(80, dtype=np.float32), sample_rate=8000)


def test_start_up_warms_the_opening_lines_first_then_every_flow_sentence() -> None:
    prompts = default_prompt_set()
    synth = CountingSynth()

    async def warm() -> None:
        warming = await warm_fixed_lines(PhraseCache(synth), prompts)
        assert not warming.done()  # the flow lines warm in the background
        await warming

    asyncio.run(warm())
    lines = FlowLines(prompts)

    def spoken(keys: list[str] | None = None) -> set[str]:
        return {speakable(text) for text in lines.fixed_sentences(keys)}

    said = synth.texts
    assert spoken() <= set(said)
    assert len(said) == len(set(said))  # each once
    # The first question of a flow before a later one (the city of a new address).
    first_city = min(said.index(text) for text in spoken(["ask_city"]))
    assert all(said.index(text) < first_city for text in spoken(["ask_account_number"]))
    # Every sentence an answer from the knowledge base can be made of, before the lines
    # deep inside the flows.
    answers = {speakable(text) for text in KnowledgeBase.from_prompts(prompts).sentences()}
    assert answers and answers <= set(said)
    assert max(said.index(text) for text in answers) < first_city
