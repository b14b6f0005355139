"""The llama-cpp-python engine: its own generation loop on the low-level API.

One `LlamaEngine` owns one model and one context. A lock serialises every step that
touches the context; generations that interleave (or one abandoned mid-way) stay correct,
because a generation resuming after another restores its own tokens in the KV cache first.
Servers queue requests in front of the engine so that one generation runs at a time. The
KV cache keeps the last sequence evaluated, so a prompt that extends it (turn 2 of a
conversation) evaluates only its new tokens. Under a grammar,
tokens that the grammar forces are evaluated in one batch without sampling (jump-forward).
"""

from __future__ import annotations

import codecs
import ctypes
import os
import threading
import time
from pathlib import Path
from typing import Callable, Iterator, Sequence

import llama_cpp
import numpy as np

from toolwire.constrain import Constraint, Vocabulary, lark_grammar
from toolwire.engine.base import Chunk, Generation
from toolwire.engine.sampling import Sampler, SamplingParams
from toolwire.errors import ModelError, RequestError, SchemaError

__all__ = ["LlamaEngine"]


class LlamaEngine:
    """A GGUF model loaded with llama-cpp-python."""

    def __init__(self, path: str | Path, *, n_ctx: int = 4096, n_threads: int | None = None, n_batch: int = 512) -> None:
        if not Path(path).is_file():
            raise ModelError(f"model file not found: {path}")
        threads = n_threads or max(1, os.cpu_count() or 1)
        try:
            self.llama = llama_cpp.Llama(
                model_path=str(path), n_ctx=n_ctx, n_batch=n_batch, n_threads=threads,
                n_threads_batch=threads, logits_all=False, verbose=False,
            )
        except (ValueError, RuntimeError) as exc:
            raise ModelError(f"cannot load model {path}: {exc}") from exc
        self.path = Path(path)
        self.n_threads = threads
        self.n_ctx = self.llama.n_ctx()
        self._ctx = self.llama._ctx.ctx
        self._vocab = llama_cpp.llama_model_get_vocab(self.llama.model)
        self.n_vocab = llama_cpp.llama_vocab_n_tokens(self._vocab)
        self._batch = llama_cpp.llama_batch_init(n_batch, 0, 1)
        self.n_batch = n_batch
        self._lock = threading.Lock()
        self._cached: list[int] = []
        self._owner: Generation | None = None
        self._pieces = [self._piece(token) for token in range(self.n_vocab)]
        self.end_token_ids = frozenset(t for t in range(self.n_vocab) if llama_cpp.llama_vocab_is_eog(self._vocab, t))
        self.vocabulary = Vocabulary(
            special_tokens=self._special_tokens(),
            end_tokens=frozenset(self._pieces[t].decode("utf-8", "replace") for t in self.end_token_ids))
        self._lltokenizer = None

    def close(self) -> None:
        """Free the model, the context and the batch now rather than at interpreter exit."""
        if self._batch is not None:
            llama_cpp.llama_batch_free(self._batch)
            self._batch = None
        self.llama.close()

    # -- vocabulary --------------------------------------------------------------------

    def _piece(self, token: int) -> bytes:
        buffer = ctypes.create_string_buffer(256)
        size = llama_cpp.llama_token_to_piece(self._vocab, token, buffer, 256, 0, True)
        if size < 0:
            buffer = ctypes.create_string_buffer(-size)
            size = llama_cpp.llama_token_to_piece(self._vocab, token, buffer, -size, 0, True)
        return bytes(buffer.raw[:size])

    def _special_tokens(self) -> dict[str, int]:
        """Texts of control and `<…>`-shaped user-defined tokens -> ids."""
        special: dict[str, int] = {}
        for token in range(self.n_vocab):
            attr = llama_cpp.llama_vocab_get_attr(self._vocab, token)
            piece = self._pieces[token]
            if attr & llama_cpp.LLAMA_TOKEN_ATTR_CONTROL or (
                attr & llama_cpp.LLAMA_TOKEN_ATTR_USER_DEFINED and piece.startswith(b"<") and piece.endswith(b">")
            ):
                if piece:
                    special.setdefault(piece.decode("utf-8", "replace"), token)
        return special

    @property
    def lltokenizer(self):  # type: ignore[no-untyped-def]
        """The llguidance tokenizer, built once per model (about a second)."""
        if self._lltokenizer is None:
            import llguidance.llamacpp

            self._lltokenizer = llguidance.llamacpp.lltokenizer_from_vocab(
                self._vocab, eos_token=sorted(self.end_token_ids))
        return self._lltokenizer

    def tokenize(self, text: str, *, add_special: bool = True) -> list[int]:
        """Tokens of `text`, special tokens parsed, BOS added when the model wants one
        (and `add_special`)."""
        add_bos = add_special and bool(llama_cpp.llama_vocab_get_add_bos(self._vocab))
        tokens = self.llama.tokenize(text.encode("utf-8"), add_bos=add_bos, special=True)
        bos = llama_cpp.llama_vocab_bos(self._vocab)
        if add_bos and len(tokens) > 1 and tokens[0] == bos and tokens[1] == bos:
            tokens = tokens[1:]
        return tokens

    def count_tokens(self, text: str) -> int:
        return len(self.tokenize(text))

    def detokenize(self, tokens: Sequence[int]) -> str:
        return b"".join(self._pieces[t] for t in tokens).decode("utf-8", "replace")

    def compile_grammar(self, grammar: str):  # type: ignore[no-untyped-def]
        """An `LLMatcher` for `grammar`; a grammar llguidance rejects raises SchemaError."""
        import llguidance

        matcher = llguidance.LLMatcher(self.lltokenizer, grammar, log_level=0)
        if matcher.is_error():
            raise SchemaError(f"grammar: {matcher.get_error()}", param="tools")
        return matcher

    # -- evaluation --------------------------------------------------------------------

    def _decode(self, tokens: Sequence[int], *, each: Callable[[int, np.ndarray], None] | None = None) -> None:
        """Evaluate `tokens` after the cached ones, in batches; logits for the last (and,
        with `each`, for every token: `each(index, logits)`)."""
        for start in range(0, len(tokens), self.n_batch):
            part = tokens[start:start + self.n_batch]
            batch = self._batch
            batch.n_tokens = len(part)
            base = len(self._cached)
            for i, token in enumerate(part):
                batch.token[i] = token
                batch.pos[i] = base + i
                batch.n_seq_id[i] = 1
                batch.seq_id[i][0] = 0
                batch.logits[i] = each is not None
            batch.logits[len(part) - 1] = True
            code = llama_cpp.llama_decode(self._ctx, batch)
            if code != 0:
                raise RuntimeError(f"llama_decode returned {code}")
            self._cached.extend(part)
            if each is not None:
                for i in range(len(part)):
                    each(start + i, self._logits(i))

    def _logits(self, index: int = -1) -> np.ndarray:
        pointer = llama_cpp.llama_get_logits_ith(self._ctx, index)
        return np.ctypeslib.as_array(pointer, shape=(self.n_vocab,)).copy()

    def _evaluate_prompt(self, tokens: list[int], steps: Sequence[Sequence[int]] = ()) -> int:
        """Reuse the cached prefix; evaluate the rest. Returns the number reused.

        The prompt's last token is always evaluated on its own, and each of `steps` (a
        generation's tokens after the prompt, resumed after another generation used the
        context) as the one batch it first was: on some CPUs a token's logits differ by
        tenths of a nat between a batch of one and a batch of many (the matrix kernels add
        in another order), enough to flip a greedy choice between near ties. So an answer
        is the same whether its prompt was cached or not."""
        whole = list(tokens) + [token for step in steps for token in step]
        bounds = [len(tokens) - 1, len(tokens)]
        for step in steps:
            bounds.append(bounds[-1] + len(step))
        common = min(common_prefix(self._cached, whole), len(whole) - 1)  # the last token gives the logits
        if common >= bounds[0]:  # keep whole units: the prompt's last token, then whole steps
            common = max(bound for bound in bounds if bound <= common)
        memory = llama_cpp.llama_get_memory(self._ctx)
        llama_cpp.llama_memory_seq_rm(memory, 0, common, -1)
        del self._cached[common:]
        if common < bounds[0]:
            self._decode(whole[common:bounds[0]])
        for start, end in zip(bounds, bounds[1:]):
            if end > common:
                self._decode(whole[max(start, common):end])
        return min(common, len(tokens))

    def next_token_logprobs(self, prompt: str, tokens: Sequence[str]) -> dict[str, float]:
        """Log-probabilities (temperature 1, no constraint) of the first token of each text
        in `tokens` as the token after `prompt`; reuses the cached prefix."""
        ids = self._first_tokens(tokens)
        prompt_tokens = self.tokenize(prompt)
        with self._lock:
            self._evaluate_prompt(prompt_tokens)
            self._owner = None
            logits = self._logits().astype(np.float64)
        top = logits.max()
        log_total = top + np.log(np.exp(logits - top).sum())
        return {text: float(logits[token] - log_total) for text, token in ids.items()}

    def _first_tokens(self, texts: Sequence[str]) -> dict[str, int]:
        """Each text's first token (special tokens parsed); a text with none is a RequestError."""
        ids = {}
        for text in texts:
            encoded = self.llama.tokenize(text.encode("utf-8"), add_bos=False, special=True)
            if not encoded:
                raise RequestError(f"tokens: {text!r} is no token", param="tokens")
            ids[text] = encoded[0]
        return ids

    def continuation_logprobs(self, prompt: str, text: str) -> list[tuple[str, float]]:
        """Each token of `text` (tokenized on its own, special tokens parsed) with its
        log-probability after `prompt` and the tokens before it (temperature 1, no
        constraint): the model's view of a continuation it may not have written itself."""
        tokens = self.llama.tokenize(text.encode("utf-8"), add_bos=False, special=True)
        if not tokens:
            return []
        scores: list[float] = [0.0] * len(tokens)

        def score(index: int, logits: np.ndarray) -> None:
            scores[index] = token_logprob(logits, tokens[index])

        with self._lock:
            self._evaluate_prompt(self.tokenize(prompt))
            self._owner = None
            score(0, self._logits())
            if len(tokens) > 1:
                self._decode(tokens[:-1], each=lambda index, logits: score(index + 1, logits))
        return [(self._pieces[token].decode("utf-8", "replace"), value) for token, value in zip(tokens, scores)]

    def forget(self) -> None:
        """Drop the cached prefix (for measuring prompts from scratch)."""
        with self._lock:
            memory = llama_cpp.llama_get_memory(self._ctx)
            llama_cpp.llama_memory_clear(memory, True)
            self._cached.clear()
            self._owner = None

    # -- generation --------------------------------------------------------------------

    def generate(
        self,
        prompt: str,
        *,
        sampling: SamplingParams = SamplingParams(),
        constraint: Constraint | None = None,
        jump_forward: bool = True,
    ) -> Generation:
        """Start generating after `prompt`, optionally under `constraint` (compiled to an
        llguidance grammar with this model's vocabulary).

        The prompt is checked and the grammar compiled now (errors raise here); tokens are
        produced as the returned `Generation` is iterated, holding the engine's lock."""
        tokens = self._checked_prompt(prompt)
        room = self.n_ctx - len(tokens)
        matcher = self.compile_grammar(lark_grammar(constraint, self.vocabulary)) if constraint else None
        limit = min(sampling.max_tokens or room, room)
        generation = Generation(iter(()))
        generation._chunks = self._run(generation, tokens, sampling, matcher, limit, jump_forward)
        return generation

    def _checked_prompt(self, prompt: str) -> list[int]:
        """The prompt's tokens; an empty prompt or one that leaves no room in the context is
        a RequestError."""
        tokens = self.tokenize(prompt)
        if not tokens:
            raise RequestError("prompt: must not be empty", param="prompt")
        if len(tokens) >= self.n_ctx:
            raise RequestError(
                f"messages: the prompt is {len(tokens)} tokens, {len(tokens) - self.n_ctx + 1} more than the "
                f"context of {self.n_ctx} tokens allows", param="messages", code="context_length_exceeded")
        return tokens

    def _run(self, generation: Generation, prompt: list[int], sampling: SamplingParams, matcher,  # type: ignore[no-untyped-def]
             limit: int, jump_forward: bool) -> Iterator[Chunk]:
        """The token loop. The lock is held for each step, not across `yield`: a generation
        that is abandoned or interleaved with another never blocks the engine. When another
        generation used the context in between, the KV cache is brought back to this one's
        tokens first (reusing the common prefix)."""
        usage = generation.usage
        usage.prompt_tokens = len(prompt)
        started = time.perf_counter()
        steps: list[list[int]] = []  # generated after the prompt, one batch each
        pending: list[int] = []  # generated, not evaluated yet
        with self._lock:
            usage.cached_tokens = self._evaluate_prompt(prompt)
            self._owner = generation
        usage.prompt_seconds = time.perf_counter() - started
        sampler = Sampler(sampling)
        text = _TextAssembler(sampling.stop)
        generation.finish_reason = "length"
        try:
            while usage.completion_tokens < limit:
                if generation.cancelled:
                    generation.finish_reason = "cancelled"
                    break
                with self._lock:
                    if pending and self._owner is generation:
                        self._decode(pending)
                    elif self._owner is not generation:
                        self._evaluate_prompt(prompt, steps)
                        self._owner = generation
                    pending = []
                    step, forced, logprob = self._step(sampler, matcher, jump_forward, limit - usage.completion_tokens)
                usage.completion_tokens += len(step)
                if step[0] in self.end_token_ids:
                    generation.finish_reason = "stop"
                    break
                for token in step:
                    sampler.accept(token)
                steps.append(step)
                pending = step
                stopped = False
                for part, is_forced in ((step[:1], False), (forced, True)):  # the sampled token, then the forced run
                    out, stopped = text.push(b"".join(self._pieces[t] for t in part if t not in self.end_token_ids))
                    if out:
                        yield Chunk(out, tuple(part), forced=is_forced, logprob=None if is_forced else logprob)
                    if stopped:
                        break
                if stopped or any(t in self.end_token_ids for t in forced) or (matcher is not None and matcher.is_stopped()):
                    generation.finish_reason = "stop"
                    break
            rest = text.flush()
            if rest:
                yield Chunk(rest, ())
        finally:
            usage.generation_seconds = time.perf_counter() - started - usage.prompt_seconds

    def _step(self, sampler: Sampler, matcher, jump_forward: bool,  # type: ignore[no-untyped-def]
              room: int, logits: np.ndarray | None = None,
              bitmask: np.ndarray | None = None) -> tuple[list[int], list[int], float | None]:
        """Sample one token from `logits` (default: the last evaluated token's) under the
        grammar's mask (`bitmask`: computed already, as bytes) and take the tokens it then
        forces. Also returns the sampled token's log-probability under the model
        (temperature 1, no mask), or None when the grammar allowed no other token."""
        allowed = None
        if matcher is not None:
            if bitmask is None:
                bitmask = np.frombuffer(matcher.compute_bitmask(), dtype=np.uint8)
            allowed = np.unpackbits(bitmask, bitorder="little").astype(bool)
        logits = self._logits() if logits is None else logits
        raw = logits.copy()
        token = sampler.sample(logits, allowed)
        logprob = None
        if allowed is None or np.count_nonzero(allowed[: self.n_vocab]) > 1:
            logprob = token_logprob(raw, token)
        if token in self.end_token_ids or matcher is None:
            return [token], [], logprob
        if not matcher.consume_token(token):
            raise RuntimeError(f"grammar rejected token {token}: {matcher.get_error()}")
        forced = list(matcher.compute_ff_tokens())[: max(0, room - 1)] if jump_forward else []
        if forced and not matcher.consume_tokens(forced):
            raise RuntimeError(f"grammar rejected forced tokens: {matcher.get_error()}")
        return [token] + forced, forced, logprob


def common_prefix(cached: Sequence[int], tokens: Sequence[int]) -> int:
    """How many leading tokens `cached` and `tokens` share."""
    count = 0
    for a, b in zip(cached, tokens):
        if a != b:
            break
        count += 1
    return count


def token_logprob(logits: np.ndarray, token: int) -> float:
    """The log-probability of `token` under `logits` (temperature 1, no mask)."""
    top = float(logits.max())
    return float(logits[token]) - (top + float(np.log(np.exp(logits - top).sum())))


class _TextAssembler:
    """Bytes -> text, holding back incomplete UTF-8 and possible stop-string prefixes."""

    def __init__(self, stops: Sequence[str]) -> None:
        self.stops = [stop for stop in stops if stop]
        self.decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self.pending = ""

    def push(self, data: bytes) -> tuple[str, bool]:
        """Add bytes; return (text safe to emit, whether a stop string was reached)."""
        self.pending += self.decoder.decode(data)
        for stop in self.stops:
            at = self.pending.find(stop)
            if at >= 0:
                out, self.pending = self.pending[:at], ""
                return out, True
        hold = 0
        for stop in self.stops:
            for size in range(min(len(stop) - 1, len(self.pending)), hold, -1):
                if self.pending.endswith(stop[:size]):
                    hold = size
                    break
        cut = len(self.pending) - hold
        out, self.pending = self.pending[:cut], self.pending[cut:]
        return out, False

    def flush(self) -> str:
        out = self.pending + self.decoder.decode(b"", final=True)
        self.pending = ""
        return out
