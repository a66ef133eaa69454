"""Per-call KV-cache states for one llama.cpp context shared by several calls.

llama.cpp reuses the KV cache only for the longest common prefix with the LAST prompt
it evaluated. With two calls on one model every turn would re-evaluate the other
call's history. So the context has an *owner* (the session whose tokens it holds);
when another session takes it, the owner's KV cells are copied out (only when they
changed since the last copy) and the newcomer's saved cells, if any, are copied in.

We save sequence 0 with ``llama_state_seq_get_data`` instead of ``Llama.save_state``:
the latter also copies the logits buffer (n_batch × vocab floats, ~300 MB for Qwen's
152k vocabulary), which would cost far more than re-evaluating the prompt. KV cells
are ~12 KB per token for Qwen2.5-0.5B, so a 1,000-token call is ~12 MB.
"""

from __future__ import annotations

import ctypes
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np

_SEQ = 0  # llama-cpp-python's high-level API keeps everything in sequence 0


@dataclass(frozen=True)
class SavedState:
    tokens: np.ndarray  # the token ids whose KV cells are saved, in order
    kv: bytes

    @property
    def nbytes(self) -> int:
        return len(self.kv) + self.tokens.nbytes


def save_state(llama: Any) -> SavedState:
    import llama_cpp

    ctx = llama.ctx
    size = llama_cpp.llama_state_seq_get_size(ctx, _SEQ)
    buffer = (ctypes.c_uint8 * size)()
    written = llama_cpp.llama_state_seq_get_data(ctx, buffer, size, _SEQ)
    if written == 0 and llama.n_tokens > 0:
        raise RuntimeError("llama.cpp could not copy the KV cache state")
    return SavedState(tokens=llama.input_ids[: llama.n_tokens].copy(), kv=bytes(buffer)[:written])


def load_state(llama: Any, state: SavedState) -> None:
    import llama_cpp

    llama.reset()
    llama._ctx.kv_cache_seq_rm(_SEQ, 0, -1)
    if state.tokens.size:
        buffer = (ctypes.c_uint8 * len(state.kv)).from_buffer_copy(state.kv)
        if llama_cpp.llama_state_seq_set_data(llama.ctx, buffer, len(state.kv), _SEQ) == 0:
            raise RuntimeError("llama.cpp could not restore the KV cache state")
    count = int(state.tokens.size)
    llama.input_ids[:count] = state.tokens
    llama.n_tokens = count
    # The logits of the last token were not saved: make llama-cpp-python decode at least
    # one token before sampling (it always does when the prompt has a new suffix).
    llama._requires_eval = True


class SessionStates:
    """Which session owns the context, plus an LRU of the others' saved states.

    Not thread-safe: the engine calls it only from its single worker thread.
    """

    def __init__(self, llama: Any, max_saved: int = 8) -> None:
        self._llama = llama
        self._max_saved = max_saved
        self._saved: OrderedDict[str, SavedState] = OrderedDict()
        self.owner: str | None = None
        self._owner_dirty = False
        self.saves = self.restores = 0

    def __contains__(self, session_key: str) -> bool:
        return session_key in self._saved

    def mark_changed(self) -> None:
        """The owner's cells changed (a prompt was evaluated or tokens generated)."""
        self._owner_dirty = True

    def activate(self, session_key: str | None) -> dict[str, float]:
        """Give the context to ``session_key``; returns what it cost, for the timings."""
        if session_key is not None and session_key == self.owner:
            return {}
        timings: dict[str, float] = {}
        if self.owner is not None and self._owner_dirty and self._max_saved > 0:
            started = time.perf_counter()
            self._put(self.owner, save_state(self._llama))
            self.saves += 1
            timings["state_save_s"] = time.perf_counter() - started
        state = self._saved.get(session_key) if session_key is not None else None
        if state is not None:
            started = time.perf_counter()
            load_state(self._llama, state)
            self._saved.move_to_end(session_key)  # type: ignore[arg-type]
            self.restores += 1
            timings["state_load_s"] = time.perf_counter() - started
        # Without a saved state the newcomer still reuses whatever prefix it shares with
        # the cells in the context (the system prompt and tools, usually).
        self.owner = session_key
        self._owner_dirty = False
        return timings

    def forget(self, session_key: str) -> None:
        self._saved.pop(session_key, None)
        if self.owner == session_key:
            self.owner = None  # its cells stay as a prefix others may share

    def clear(self) -> None:
        self._saved.clear()
        self.owner = None
        self._owner_dirty = False

    def _put(self, session_key: str, state: SavedState) -> None:
        self._saved[session_key] = state
        self._saved.move_to_end(session_key)
        while len(self._saved) > self._max_saved:
            self._saved.popitem(last=False)
