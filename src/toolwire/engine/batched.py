"""The llama-cpp-python engine with N slots decoding in one batch (continuous batching).

One llama context holds `slots` sequences, each with its own part of the KV cache
(`kv_unified` off, as llama.cpp's server does with `-np N`), so that one sequence's
logits never depend on another's tokens. A scheduler thread runs the steps: each step
evaluates one batch holding the next tokens of every running generation (the sampled
token and the tokens the grammar then forces) and chunks of the prompts of newly admitted
requests (at most `n_batch` tokens in all, prompts after generations, so a long prompt
does not stall the others). Every generation keeps its own llguidance matcher and
sampler; the logits of its last token in the batch decide its next step.

A new request takes the free slot whose cached tokens share the longest prefix with its
prompt (llama.cpp's server does the same), so alternating conversations keep their
caches. Scoring a continuation (`continuation_logprobs`, `next_token_logprobs`) is a job
like any other. Consumers pull chunks from a queue; closing or cancelling a generation
frees its slot at the next step.
"""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import llama_cpp
import numpy as np

from toolwire.constrain import Constraint, lark_grammar
from toolwire.engine.base import Chunk, Generation
from toolwire.engine.llamacpp import LlamaEngine, _TextAssembler, common_prefix, token_logprob
from toolwire.engine.sampling import Sampler, SamplingParams

__all__ = ["BatchedLlamaEngine"]

_END = object()


@dataclass
class _Job:
    """Work for one slot: tokens to evaluate, and what to do with the logits of the last
    one (`on_logits(rows, bitmask)`, rows in sequence order, the grammar mask of `matcher`
    when it has one; returns the next tokens to evaluate, or None when the job is done)."""

    prompt: list[int]
    on_logits: Callable[[list[np.ndarray], np.ndarray | None], list[int] | None]
    logits_from: int
    """Index (in the slot's sequence) from which every evaluated token's logits are wanted;
    len(prompt) - 1 for a generation (only the last)."""
    cancelled: Callable[[], bool] = lambda: False
    on_end: Callable[[], None] = lambda: None
    to_eval: list[int] = field(default_factory=list)
    rows: list[np.ndarray] = field(default_factory=list)
    reused: int = 0
    error: Exception | None = None
    matcher: Any = None
    started: bool = False
    """Whether the token at `logits_from` was evaluated (the prompt before it comes first)."""


@dataclass
class _Slot:
    index: int
    cached: list[int] = field(default_factory=list)
    job: _Job | None = None
    last_use: int = 0


PREFIX_SHARE = 0.5
"""How much of a prompt a slot's cache must hold to be chosen for it (llama.cpp's
`--slot-prompt-similarity` default)."""


class BatchedLlamaEngine(LlamaEngine):
    """A GGUF model serving `slots` generations at once; `n_ctx` is each slot's context."""

    def __init__(self, path: str | Path, *, slots: int, n_ctx: int = 4096, n_threads: int | None = None,
                 n_batch: int = 512) -> None:
        if slots < 1:
            raise ValueError("slots must be 1 or more")
        super().__init__(path, n_ctx=256, n_threads=n_threads, n_batch=n_batch)  # its own context is unused
        # the single-sequence engine's settings (flash attention off, RoPE defaults, threads),
        # so that a slot computes what LlamaEngine computes
        params = type(self.llama.context_params).from_buffer_copy(self.llama.context_params)
        params.n_ctx = n_ctx * slots
        params.n_batch = params.n_ubatch = n_batch
        params.n_seq_max = slots
        params.kv_unified = False
        self._own_ctx = llama_cpp.llama_init_from_model(self.llama.model, params)
        if not self._own_ctx:
            raise RuntimeError("cannot create a llama context with these slots")
        self._ctx = self._own_ctx
        self.n_ctx = llama_cpp.llama_n_ctx_seq(self._ctx) if hasattr(llama_cpp, "llama_n_ctx_seq") else n_ctx
        self.slots = [_Slot(index) for index in range(slots)]
        llama_cpp.llama_batch_free(self._batch)
        self._batch = llama_cpp.llama_batch_init(n_batch, 0, slots)
        self._waiting: list[_Job] = []
        self._uses = 0
        self._executor: Any = None
        self._wake = threading.Condition(threading.RLock())
        self._closed = False
        self.steps = 0
        self._thread = threading.Thread(target=self._schedule, name="toolwire-batch", daemon=True)
        self._thread.start()

    def close(self) -> None:
        with self._wake:
            self._closed = True
            self._wake.notify_all()
        self._thread.join(timeout=10)
        if self._own_ctx is not None:
            llama_cpp.llama_free(self._own_ctx)
            self._own_ctx = None
        super().close()

    # -- public engine API -----------------------------------------------------------------

    @property
    def busy_slots(self) -> int:
        return sum(slot.job is not None for slot in self.slots)

    def generate(self, prompt: str, *, sampling: SamplingParams = SamplingParams(),
                 constraint: Constraint | None = None, jump_forward: bool = True) -> Generation:
        """As `LlamaEngine.generate`; the generation runs in a slot, batched with the
        others, and its chunks are handed over as they are made."""
        tokens = self._checked_prompt(prompt)
        matcher = self.compile_grammar(lark_grammar(constraint, self.vocabulary)) if constraint else None
        limit = min(sampling.max_tokens or self.n_ctx, self.n_ctx - len(tokens))
        generation = Generation(iter(()))
        chunks: queue.SimpleQueue[Any] = queue.SimpleQueue()
        state = _Decoding(self, generation, sampling, matcher, limit, jump_forward, chunks)
        job = _Job(tokens, state.step, len(tokens) - 1, cancelled=lambda: generation.cancelled, on_end=state.end,
                   matcher=matcher)
        state.job = job
        generation.usage.prompt_tokens = len(tokens)
        self._submit(job)
        generation._chunks = _drain(chunks, generation)
        return generation

    def continuation_logprobs(self, prompt: str, text: str) -> list[tuple[str, float]]:
        tokens = self.llama.tokenize(text.encode("utf-8"), add_bos=False, special=True)
        if not tokens:
            return []
        start = self._checked_prompt(prompt)
        rows = self._score(start + tokens[:-1], len(start) - 1)
        values = [token_logprob(row, token) for row, token in zip(rows, tokens)]
        return [(self._pieces[token].decode("utf-8", "replace"), value) for token, value in zip(tokens, values)]

    def next_token_logprobs(self, prompt: str, tokens: Sequence[str]) -> dict[str, float]:
        ids = self._first_tokens(tokens)
        prompt_tokens = self._checked_prompt(prompt)
        [row] = self._score(prompt_tokens, len(prompt_tokens) - 1)
        return {text: token_logprob(row, token) for text, token in ids.items()}

    def forget(self) -> None:
        """Drop every slot's cached prefix (waits for running jobs to end)."""
        with self._wake:
            while any(slot.job is not None for slot in self.slots) or self._waiting:
                self._wake.wait(0.05)
            memory = llama_cpp.llama_get_memory(self._ctx)
            llama_cpp.llama_memory_clear(memory, True)
            for slot in self.slots:
                slot.cached = []

    # -- jobs ------------------------------------------------------------------------------------

    def _score(self, tokens: list[int], logits_from: int) -> list[np.ndarray]:
        """The logits after each of `tokens` from `logits_from` on, evaluated in a slot."""
        done = threading.Event()
        result: list[np.ndarray] = []

        def keep(rows: list[np.ndarray], bitmask: np.ndarray | None) -> None:
            result.extend(rows)

        job = _Job(tokens, keep, logits_from, on_end=done.set)
        self._submit(job)
        done.wait()
        if len(result) != len(tokens) - logits_from:
            raise RuntimeError("scoring ended before its logits were computed")
        return result

    def _submit(self, job: _Job) -> None:
        with self._wake:
            if self._closed:
                raise RuntimeError("the engine is closed")
            self._waiting.append(job)
            self._wake.notify_all()

    # -- the scheduler ---------------------------------------------------------------------------

    def _schedule(self) -> None:
        while True:
            with self._wake:
                while not self._closed and not self._waiting and all(slot.job is None for slot in self.slots):
                    self._wake.wait()
                if self._closed:
                    for job in self._waiting:
                        job.error = RuntimeError("the engine was closed")
                        job.on_end()
                    for slot in self.slots:
                        self._finish(slot, error=RuntimeError("the engine was closed"))
                    return
                self._admit()
            try:
                self._run_batch()
            except Exception as exc:  # noqa: BLE001 - every running job learns of it, the engine goes on
                for slot in self.slots:
                    if slot.job is not None:
                        self._finish(slot, error=exc)

    def _admit(self) -> None:
        """Give waiting jobs the free slots, each the one sharing the longest prefix."""
        for job in list(self._waiting):
            free = [slot for slot in self.slots if slot.job is None]
            if not free:
                return
            if job.cancelled():
                self._waiting.remove(job)
                job.on_end()
                continue
            slot = self._slot_for(job.prompt, free)
            common = min(common_prefix(slot.cached, job.prompt), len(job.prompt) - 1, job.logits_from)
            memory = llama_cpp.llama_get_memory(self._ctx)
            llama_cpp.llama_memory_seq_rm(memory, slot.index, common, -1)
            del slot.cached[common:]
            job.reused = common
            job.to_eval = job.prompt[common:]
            slot.job = job
            self._uses += 1
            slot.last_use = self._uses
            self._waiting.remove(job)

    @staticmethod
    def _slot_for(prompt: list[int], free: list[_Slot]) -> _Slot:
        """The free slot sharing the longest prefix with `prompt` when it covers at least
        `PREFIX_SHARE` of it; else the least recently used one (its cache is the least
        likely to be wanted again), as llama.cpp's server chooses."""
        shared = {slot.index: common_prefix(slot.cached, prompt) for slot in free}
        best = max(free, key=lambda slot: shared[slot.index])
        if shared[best.index] >= PREFIX_SHARE * len(prompt):
            return best
        return min(free, key=lambda slot: slot.last_use)

    def _run_batch(self) -> None:
        """One batch: running generations' next tokens first, then prompt chunks."""
        running = [slot for slot in self.slots if slot.job is not None]
        for slot in running:
            if slot.job is not None and slot.job.cancelled():
                self._finish(slot)
        running = [slot for slot in self.slots if slot.job is not None and slot.job.to_eval]
        running.sort(key=lambda slot: len(slot.job.to_eval))  # type: ignore[union-attr]
        batch, room, entries = self._batch, self.n_batch, []
        for slot in running:
            job = slot.job
            assert job is not None
            count = room
            if not job.started:  # the first token whose logits are wanted goes on its own, as in LlamaEngine
                before = job.logits_from - len(slot.cached)
                count = min(room, before) if before > 0 else 1
                job.started = before <= 0
            take = job.to_eval[:count]
            if not take:
                break
            base = len(slot.cached)
            for offset, token in enumerate(take):
                position = base + offset
                i = len(entries)
                batch.token[i] = token
                batch.pos[i] = position
                batch.n_seq_id[i] = 1
                batch.seq_id[i][0] = slot.index
                wanted = position >= job.logits_from
                batch.logits[i] = wanted
                entries.append((slot, wanted))
            room -= len(take)
            slot.cached.extend(take)
            del job.to_eval[:len(take)]
        if not entries:
            return
        batch.n_tokens = len(entries)
        code = llama_cpp.llama_decode(self._ctx, batch)
        if code != 0:
            memory = llama_cpp.llama_get_memory(self._ctx)
            for slot, _ in entries:  # what this batch held is not in the cache: forget those slots
                llama_cpp.llama_memory_seq_rm(memory, slot.index, 0, -1)
                slot.cached = []
            raise RuntimeError(f"llama_decode returned {code}")
        self.steps += 1
        rows: dict[int, list[np.ndarray]] = {}
        for i, (slot, wanted) in enumerate(entries):
            if wanted:
                rows.setdefault(slot.index, []).append(self._logits(i))
        stepped = list({id(slot): slot for slot, _ in entries}.values())
        for slot in stepped:
            slot.job.rows += rows.get(slot.index, [])  # type: ignore[union-attr]
        ready = [slot for slot in stepped if slot.job is not None and not slot.job.to_eval]
        masks = self._masks([slot.job for slot in ready])  # type: ignore[misc]
        for slot in ready:
            job = slot.job
            assert job is not None
            more = job.on_logits(job.rows, masks.get(id(job)))
            job.rows = []
            if more is None:
                self._finish(slot)
            else:
                job.to_eval = list(more)
                job.logits_from = len(slot.cached) + len(more) - 1

    def _masks(self, jobs: list[_Job]) -> dict[int, np.ndarray]:
        """The grammar masks of the jobs that have a matcher, computed together (llguidance
        fills them in parallel), as bytes per job."""
        import llguidance.numpy

        constrained = [job for job in jobs if job.matcher is not None]
        if not constrained:
            return {}
        if self._executor is None:
            import llguidance

            self._executor = llguidance.LLExecutor()
        words = llguidance.numpy.allocate_token_bitmask(len(constrained), self.lltokenizer.vocab_size)
        llguidance.numpy.fill_next_token_bitmask_par(
            self._executor, [(job.matcher, index) for index, job in enumerate(constrained)], words)
        return {id(job): words[index].view(np.uint8) for index, job in enumerate(constrained)}

    def _finish(self, slot: _Slot, error: Exception | None = None) -> None:
        job = slot.job
        slot.job = None
        if job is None:
            return
        job.error = error
        job.on_end()
        with self._wake:
            self._wake.notify_all()


class _Decoding:
    """One generation's state in the scheduler: sampler, matcher, text, usage."""

    def __init__(self, engine: BatchedLlamaEngine, generation: Generation, sampling: SamplingParams, matcher: Any,
                 limit: int, jump_forward: bool, chunks: "queue.SimpleQueue[Any]") -> None:
        self.engine = engine
        self.generation = generation
        self.sampler = Sampler(sampling)
        self.matcher = matcher
        self.limit = limit
        self.jump_forward = jump_forward
        self.chunks = chunks
        self.text = _TextAssembler(sampling.stop)
        self.job: _Job | None = None
        self.started = time.perf_counter()
        self.first = True
        generation.finish_reason = "length"

    def step(self, rows: list[np.ndarray], bitmask: np.ndarray | None) -> list[int] | None:
        """The next tokens after the logits of the last evaluated one (None: done)."""
        engine, usage = self.engine, self.generation.usage
        if self.first:
            self.first = False
            usage.cached_tokens = self.job.reused if self.job is not None else 0
            usage.prompt_seconds = time.perf_counter() - self.started
        if usage.completion_tokens >= self.limit:
            return None
        step, forced, logprob = engine._step(self.sampler, self.matcher, self.jump_forward,
                                             self.limit - usage.completion_tokens, rows[-1], bitmask)
        usage.completion_tokens += len(step)
        if step[0] in engine.end_token_ids:
            self.generation.finish_reason = "stop"
            return None
        for token in step:
            self.sampler.accept(token)
        for part, is_forced in ((step[:1], False), (forced, True)):
            out, stopped = self.text.push(b"".join(engine._pieces[t] for t in part if t not in engine.end_token_ids))
            if out:
                self.chunks.put(Chunk(out, tuple(part), forced=is_forced, logprob=None if is_forced else logprob))
            if stopped:
                self.generation.finish_reason = "stop"
                return None
        if any(t in engine.end_token_ids for t in forced) or (self.matcher is not None and self.matcher.is_stopped()):
            self.generation.finish_reason = "stop"
            return None
        if usage.completion_tokens >= self.limit:
            return None
        return step

    def end(self) -> None:
        usage = self.generation.usage
        if self.generation.cancelled and self.generation.finish_reason == "length" and usage.completion_tokens < self.limit:
            self.generation.finish_reason = "cancelled"
        rest = self.text.flush()
        if rest:
            self.chunks.put(Chunk(rest, ()))
        usage.generation_seconds = time.perf_counter() - self.started - usage.prompt_seconds
        error = self.job.error if self.job is not None else None
        self.chunks.put(error if error is not None else _END)


def _drain(chunks: "queue.SimpleQueue[Any]", generation: Generation) -> Iterator[Chunk]:
    """The consumer's side: chunks until the end; closing it cancels the generation."""
    try:
        while True:
            item = chunks.get()
            if item is _END:
                return
            if isinstance(item, Exception):
                raise item
            yield item
    finally:
        generation.cancel()
