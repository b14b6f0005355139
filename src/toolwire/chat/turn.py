"""One assistant turn: the prompt is rendered, the engine generates under the format's
constraint, the policies (`chat/policies.py`) act at their decision points, and the
format's parser turns the output into stream events.

A turn is a sequence of generations that all continue one output text (each one's prompt
is the turn's prompt plus the output so far, so the engine reuses its cached prefix):

1. the opening: text, a call, or text then a call, under the grammar of `tool_choice`.
   With `call_syntax="repair"` the text after any thinking block is watched; a call the
   model writes in a syntax of its own ends this generation and is generated again under
   the calls grammar. With a thinking budget, the thinking block is closed for the model
   when the budget is spent, and the answer generated after it;
2. further calls (`parallel_calls`), one generation each, in formats whose call block has
   no closing marker; in the others the grammar lets the model write them itself.

Events are the differences between successive parses of the output (`streaming.py`). A
generation whose result a policy still has to judge is held: its text reaches the output
and the parser only once kept. Streamed and non-streamed answers come from the same events.
"""

from __future__ import annotations

import dataclasses
import json
import math
import threading
from typing import Any, Callable, Generator, Iterator

from toolwire.chat.policies import (
    NEUTRAL_REQUEST,
    answered_calls,
    classify_opening,
    confidence,
    confident,
    continue_calls,
    grounded,
    is_repeat,
    named_tool,
    names_a_tool,
    repeat_exempt,
    repeats_a_call,
    support,
)
from toolwire.chat.request import ChatRequest
from toolwire.chat.response import TurnUsage
from toolwire.constrain import Constraint, ToolCallConstraint, lark_grammar, response_format_constraint
from toolwire.engine.base import Chunk, Engine, Generation
from toolwire.engine.sampling import SamplingParams
from toolwire.errors import Cancelled, RequestError, SchemaError, TemplateError
from toolwire.formats.base import Format, ReasoningSyntax, RenderOptions
from toolwire.streaming import Event, StreamParser
from toolwire.types import ParsedCall, ParsedMessage, UserMessage, message_text

__all__ = ["Turn"]

PROBE_TOKENS = 24
_STRUCTURED_OPENINGS = ("{", "[", "`", "<")


class Turn:
    """One assistant turn for a validated request. Iterate `events()` once; afterwards
    `result`, `finish_reason`, `usage` and `notes` describe the answer."""

    def __init__(self, engine: Engine, format: Format, request: ChatRequest,
                 cancel: threading.Event | None = None) -> None:
        self.engine = engine
        self.cancel = cancel or threading.Event()
        self.request = request
        self.policies = request.policies
        describe = request.tool_choice != "none" or self.policies.describe_tools_when_none
        options = RenderOptions(describe_tools=describe, namespaces=request.namespaces,
                                thinking=request.thinking, reasoning_effort=request.reasoning_effort)
        try:
            self.prompt = format.render(request.messages, request.tools, options)
        except TemplateError:
            _refuse_if_over_context(engine, request)
            raise
        # A generation prompt that opened the thinking block (`<think>`) is continued inside it.
        self.format = format = format.for_prompt(self.prompt)
        self.syntax = format.syntax
        self.output = ""
        self.pending = ""
        self.parser = StreamParser(format, request.tools)
        self.usage = TurnUsage()
        self.notes: list[dict[str, Any]] = list(request.notes)
        self.result = ParsedMessage()
        self.finish_reason = "stop"
        self._generation: Generation | None = None
        self._ended_by = "stop"
        self._thinking_cut = False
        self._neutral: str | None = None

    # -- the turn -----------------------------------------------------------------------------

    def events(self) -> Iterator[Event]:
        """The stream events of the answer, as they are decided."""
        try:
            yield from self._turn()
        finally:
            self.close()
        cut = self._ended_by == "length"
        yield from self.parser.finish(cut=cut)
        self.result = self.parser.result or ParsedMessage()
        self.finish_reason = "length" if cut else ("tool_calls" if self.result.calls else "stop")

    def close(self) -> None:
        """Stop the generation under way (safe to call twice)."""
        if self._generation is not None:
            self._generation.close()
            self._generation = None

    def _turn(self) -> Iterator[Event]:
        request, policies = self.request, self.policies
        constraint = self._opening_constraint()
        watch = (constraint is not None and request.calls_allowed and request.tool_choice == "auto"
                 and policies.call_syntax == "repair")
        check_repeat = (request.calls_allowed and request.tool_choice == "auto" and policies.repeat_calls == "withhold"
                        and not repeat_exempt(request.messages))
        answered = answered_calls(request.messages) if check_repeat else set()
        held = bool(answered)
        yield from self._opening(constraint, watch=watch, held=held)
        if held:
            first = self._parse_pending().calls[:1]
            if first and first[0].complete and is_repeat(first[0], answered):
                self._reject("repeat_calls", "withheld", f"{first[0].name}({first[0].arguments}) was already answered")
                yield from self._generate(self._text_constraint(), held=False)
            else:
                yield from self._keep_pending()
        if self._segmented_parallel():
            yield from self._further_calls()

    def _opening(self, constraint: Constraint | None, *, watch: bool, held: bool) -> Iterator[Event]:
        """The first generation; with a thinking budget, the thinking block is closed when
        the budget is spent and the answer generated after it."""
        reasoning, budget = self.syntax.reasoning, self.policies.thinking_budget
        if reasoning is None or budget is None:
            yield from self._generate(constraint, held=held, watch=watch)
            return
        # One generation, cut only while it thinks: a model that answers at once (or closes
        # its block in time) is never cut, as a fresh generation could not go on with a
        # constrained answer half written.
        yield from self._generate(constraint, held=held, watch=watch, thinking_budget=budget)
        if not self._thinking_cut or self._remaining() <= 0:
            return
        self.notes.append({"policy": "thinking_budget", "action": "closed", "detail": f"after {budget} tokens"})
        yield from self._take(reasoning.end + reasoning.separator, held=held)
        yield from self._generate(_without_reasoning(constraint), held=held, watch=watch)

    def _further_calls(self) -> Iterator[Event]:
        """`parallel_calls`: after each call, a further one while the policy keeps them."""
        policies, separator = self.policies, self.syntax.separator
        while self._ended_by == "stop" and self._remaining() > 0:
            calls = self.format.parse(self.output, tools=self.request.tools).calls
            if not calls or not calls[-1].complete:
                return
            boundary = "" if self.output.endswith(separator) else separator
            if policies.parallel_calls == "model":
                if not self._model_offers_call(self.prompt + self.output + boundary):
                    return
                yield from self._take(boundary, held=False)
                yield from self._generate(self._resume_constraint(), held=False)
                continue
            mark = len(self.pending)
            yield from self._take(boundary, held=True)
            before = self.output + self.pending
            # a further call with a guessed token is dropped whatever follows: stop there
            guessed = None if policies.parallel_calls == "grounded" else _guessed_token(policies.call_confidence)
            chunks = yield from self._generate(self._resume_constraint(), held=True, give_up=guessed)
            further = self._parse_pending().calls[len(calls):]
            verdict = self._judge_further(further[0] if further else None, calls, chunks, before)
            if verdict is not None:
                self._reject("parallel_calls", "dropped", verdict, mark)
                return
            yield from self._keep_pending()

    def _judge_further(self, call: ParsedCall | None, earlier: list[ParsedCall], chunks: list[Chunk],
                       before: str) -> str | None:
        """Why a further call toolwire asked for is dropped (None: kept)."""
        grounding = self.policies.parallel_calls == "grounded"
        if not grounding and not confident(chunks, self.policies.call_confidence):
            written = f"{call.name}({call.arguments})" if call is not None else repr(_text_of(chunks))
            return f"{written} was guessed: a token had probability {math.exp(confidence(chunks)):.2g}"
        if call is None or not call.complete:
            return "the further call was not finished"
        if grounding:
            return None if grounded(call, earlier, self.request.messages) else f"{call.name} is not grounded"
        if repeats_a_call(call, earlier):
            return f"{call.name}({call.arguments}) repeats a call of this turn"
        evidence = self._support(before, (self.output + self.pending)[len(before):])
        if evidence is None or evidence < self.policies.call_support:
            shown = "cannot be measured on this engine" if evidence is None else f"{evidence:.1f} nats"
            return f"{call.name}({call.arguments}) is not supported by the conversation ({shown})"
        return None

    def _support(self, before: str, call_text: str) -> float | None:
        """Nats by which the conversation raises the call's content tokens (see
        policies.support); None when the engine cannot score continuations."""
        self._check_cancelled()
        score = getattr(self.engine, "continuation_logprobs", None)
        if score is None:
            return None
        try:
            real = score(self.prompt + before, call_text)
            neutral = score(self._neutral_prompt() + before, call_text)
        except NotImplementedError:
            return None
        return support(real, neutral, self.engine.vocabulary.special_tokens)

    def _neutral_prompt(self) -> str:
        """The prompt of a request that says nothing: the system turn and the tools, and
        the user asking for a call."""
        if self._neutral is None:
            request = self.request
            system = [message for message in request.messages if message.role in ("system", "developer")][:1]
            messages = system + [UserMessage(content=NEUTRAL_REQUEST)]
            options = RenderOptions(describe_tools=True, namespaces=request.namespaces, thinking=request.thinking,
                                    reasoning_effort=request.reasoning_effort)
            self._neutral = self.format.render(messages, request.tools, options)
        return self._neutral

    def _model_offers_call(self, prompt: str) -> bool:
        """`model`: whether the model's own odds of starting a further call beat ending."""
        starts, ends = self._continue_texts(), sorted(self.engine.vocabulary.end_tokens)
        try:
            logprobs = self.engine.next_token_logprobs(prompt, starts + ends)
        except NotImplementedError:
            return False
        return continue_calls(logprobs, starts, ends, 1.0)

    # -- generations ------------------------------------------------------------------------------

    def _generate(self, constraint: Constraint | None, *, held: bool, watch: bool = False,
                  max_tokens: int | None = None, thinking_budget: int | None = None,
                  give_up: Callable[[Chunk], bool] | None = None) -> Generator[Event, None, list[Chunk]]:
        """One generation after prompt + output (+ held text). Its text goes to the output
        and the parser (events yielded as they come), or, `held`, to `pending` for a policy
        to judge. `watch`: through the `call_syntax` watch, which may end it early and
        generate the call again under the calls grammar. `thinking_budget`: it ends once it
        has taken that many steps (tokens) and is still inside the thinking block
        (`_thinking_cut`). `give_up`: it ends after the first chunk for which this is true
        (a held generation whose verdict that chunk already decides). Returns the engine's
        chunks."""
        self._thinking_cut = False
        room = self._remaining() if max_tokens is None else min(max_tokens, self._remaining())
        if room <= 0:
            self._ended_by = "length"
            return []
        watcher = _SyntaxWatch([tool.name for tool in self.request.tools], anywhere=self.syntax.text_before_calls,
                               reasoning=self.syntax.reasoning, before=self.output + self.pending,
                               is_call=self._reads_as_call) if watch else None
        generation = self._start(constraint, room)
        detected: str | None = None
        gave_up = False
        chunks: list[Chunk] = []
        try:
            for chunk in generation:
                self._check_cancelled()
                chunks.append(chunk)
                if watcher is None:
                    yield from self._take(chunk.text, held)
                else:
                    passed, detected = watcher.push(chunk.text)
                    yield from self._take(passed, held)
                    if detected is not None:
                        break
                if give_up is not None and give_up(chunk):
                    gave_up = True
                    break
                if thinking_budget is not None and len(chunks) >= thinking_budget and self._still_thinking(watcher):
                    if watcher is not None:
                        passed, _ = watcher.flush()
                        yield from self._take(passed, held)
                    self._thinking_cut = True
                    break
            else:
                if watcher is not None:
                    passed, detected = watcher.flush()
                    yield from self._take(passed, held)
        finally:
            self.close()
            self.usage.add(generation.usage)
        # a generation given up was ended by toolwire, not cut by the token limit
        self._ended_by = "stop" if gave_up else (generation.finish_reason or "stop")
        if detected is not None and watcher is not None:
            yield from self._repair(detected, watcher.held, held)
        return chunks

    def _still_thinking(self, watcher: "_SyntaxWatch | None") -> bool:
        reasoning = self.syntax.reasoning
        text = self.output + self.pending + (watcher.held if watcher is not None else "")
        return reasoning is not None and _inside_reasoning(text, reasoning)

    def _repair(self, name: str, written: str, held: bool) -> Iterator[Event]:
        """`call_syntax="repair"`: the model called `name` in a syntax of its own
        (`written`). It writes the call again under the calls grammar; kept when written
        confidently, else the model's own text stays and it goes on writing text."""
        mark = len(self.pending)
        text = self.output + self.pending
        lead = self.syntax.text_to_calls
        if text.strip() and lead and not text.endswith(lead):
            yield from self._take(lead, held=True)
        before = self.output + self.pending
        chunks = yield from self._generate(self._tool_calls(tool_choice="required", parallel_tool_calls=False),
                                           held=True)
        calls = self._parse_pending().calls
        verdict = self._judge_repaired(calls[-1] if calls else None, chunks, before)
        if verdict is None:
            self.usage.rejected_tokens += self.engine.count_tokens(written)
            self.notes.append({"policy": "call_syntax", "action": "repaired",
                               "detail": f"{name} was called as {written.strip()[:120]!r}"})
            if not held:
                yield from self._keep_pending()
            return
        self._reject("call_syntax", "kept as text", f"{verdict}; the model's own text stays", mark)
        yield from self._take(written, held)
        yield from self._generate(self._text_constraint(), held=held)

    def _judge_repaired(self, call: ParsedCall | None, chunks: list[Chunk], before: str) -> str | None:
        """Why a repaired call is not kept (None: kept): the model chose to call, so only
        values that are both guessed and unsupported make it text."""
        if call is None or not call.complete:
            return "the call could not be written"
        if confident(chunks, self.policies.call_confidence):
            return None
        evidence = self._support(before, (self.output + self.pending)[len(before):])
        if evidence is None or evidence >= self.policies.call_support:
            return None
        return (f"{call.name}({call.arguments}) was guessed (a token had probability "
                f"{math.exp(confidence(chunks)):.2g}) and is not supported by the conversation ({evidence:.1f} nats)")

    def _reads_as_call(self, text: str) -> bool:
        """Whether the format's own parser reads a call in `text` (then it is no syntax of
        the model's own)."""
        return bool(self.format.parse(text, partial=True, tools=self.request.tools).calls)

    def _check_cancelled(self) -> None:
        if self.cancel.is_set():
            raise Cancelled("the request was cancelled before it was answered")

    def _start(self, constraint: Constraint | None, room: int) -> Generation:
        self._check_cancelled()
        sampling = self.request.sampling
        options = sampling.model_copy(update={"max_tokens": room, "stop": tuple(sampling.stop) + tuple(self.syntax.stops)})
        try:
            self._generation = self.engine.generate(self.prompt + self.output + self.pending, sampling=options,
                                                    constraint=constraint)
        except SchemaError as error:
            raise self._uncompilable_tool(error) from None
        return self._generation

    def _take(self, text: str, held: bool) -> Iterator[Event]:
        """Text for the answer: into the output (and events), or into `pending` when held."""
        if not text:
            return
        if held:
            self.pending += text
        else:
            self.output += text
            yield from self.parser.feed(text)

    def _parse_pending(self) -> ParsedMessage:
        return self.format.parse(self.output + self.pending, tools=self.request.tools)

    def _keep_pending(self) -> Iterator[Event]:
        text, self.pending = self.pending, ""
        yield from self._take(text, held=False)

    def _reject(self, policy: str, action: str, detail: str, mark: int = 0) -> None:
        """Set the held text from `mark` on aside (counted as rejected tokens, reported in
        the notes)."""
        dropped = self.pending[mark:]
        self.usage.rejected_tokens += self.engine.count_tokens(dropped) if dropped else 0
        self.notes.append({"policy": policy, "action": action, "detail": detail})
        self.pending = self.pending[:mark]

    def _remaining(self) -> int:
        limit = self.request.sampling.max_tokens
        return (limit - self.usage.completion_tokens) if limit is not None else 1 << 30

    # -- constraints -------------------------------------------------------------------------------

    def _segmented_parallel(self) -> bool:
        """Whether further calls are separate generations: calls allowed in parallel, and a
        call block without a closing marker (there the model's end of turn and a further
        call begin alike, so toolwire decides with the model's odds)."""
        request = self.request
        return (request.calls_allowed and request.parallel_tool_calls and self.policies.constrained
                and request.tool_choice in ("auto", "required") and not self.syntax.calls_end)

    def _tool_calls(self, **changes: Any) -> ToolCallConstraint:
        request = self.request
        base = ToolCallConstraint(syntax=self.syntax, tools=request.tools, schemas=request.schemas,
                                  tool_choice=request.tool_choice,
                                  parallel_tool_calls=request.parallel_tool_calls and not self._segmented_parallel())
        return dataclasses.replace(base, **changes)

    def _opening_constraint(self) -> Constraint | None:
        request, policies = self.request, self.policies
        if not policies.constrained:
            return None
        if not request.calls_allowed:
            return response_format_constraint(request.response_format) if request.response_format else None
        if request.tool_choice == "auto" and policies.call_syntax == "probe":
            route = self._probe()
            if route == "call":
                return self._tool_calls(tool_choice="required")
            if route == "text":
                return self._tool_calls(tool_choice="none", plain_text_only=True)
        return self._tool_calls()

    def _resume_constraint(self) -> ToolCallConstraint:
        """One further call of this turn's call block."""
        return self._tool_calls(tool_choice="required", parallel_tool_calls=False, resume=True)

    def _text_constraint(self) -> Constraint | None:
        return self._tool_calls(tool_choice="none") if self.policies.constrained else None

    def _continue_texts(self) -> list[str]:
        """How a further call begins: the call template's first literal, or a tool's name."""
        first = self.syntax.call[0]
        if isinstance(first, str) and first:
            return [first]
        return [tool.name for tool in self.request.tools]

    def _uncompilable_tool(self, error: SchemaError) -> SchemaError:
        """Name the tool whose schema the grammar engine could not compile."""
        compile_grammar = getattr(self.engine, "compile_grammar", None)
        if compile_grammar is None:
            return error
        for index, tool in enumerate(self.request.tools):
            try:
                compile_grammar(lark_grammar(self._tool_calls(tools=[tool], tool_choice="required"),
                                             self.engine.vocabulary))
            except SchemaError as specific:
                where = f"{self.request.tools_field}[{index}].function.parameters"
                reason = str(specific).removeprefix("grammar: ").split("\n")[0]
                return SchemaError(f"{where}: the schema of tool {tool.name!r} cannot be compiled into a grammar: "
                                   f"{reason}", param=where)
        return error

    def _probe(self) -> str:
        """`call_syntax="probe"` (the first version): the model's greedy, unconstrained
        opening decides 'call', 'text' or 'auto'."""
        probe = self.engine.generate(self.prompt, sampling=SamplingParams(max_tokens=PROBE_TOKENS))
        text, structured = "", False
        names = [tool.name for tool in self.request.tools]
        try:
            for chunk in probe:
                text += chunk.text
                opening = text.lstrip()
                structured = opening.startswith(_STRUCTURED_OPENINGS) or self.syntax.trigger_text() in text
                if opening and not structured:
                    break
                if names_a_tool(text, names):
                    return "call"
        finally:
            probe.close()
            self.usage.rejected_tokens += probe.usage.completion_tokens
            self.usage.completion_tokens += probe.usage.completion_tokens
        return "text" if structured else "auto"


def _guessed_token(threshold: float) -> Callable[[Chunk], bool]:
    """Whether a chunk is a content token the model chose with probability below
    `threshold` (what makes a further call *guessed*, see `policies.confidence`)."""
    return lambda chunk: confidence([chunk]) < math.log(threshold)


def _text_of(chunks: list[Chunk]) -> str:
    return "".join(chunk.text for chunk in chunks)


def _refuse_if_over_context(engine: Engine, request: ChatRequest) -> None:
    """Raise a RequestError when the request's own text is longer than the context (the
    template sandbox stops such a prompt before the engine could count it)."""
    text = "".join(message_text(getattr(message, "content", None)) for message in request.messages)
    text += "".join(json.dumps(schema) for schema in request.schemas.values())
    tokens = engine.count_tokens(text)
    if tokens >= engine.n_ctx:
        raise RequestError(
            f"messages: the prompt is at least {tokens} tokens, {tokens - engine.n_ctx + 1} or more over what the "
            f"context of {engine.n_ctx} tokens allows", param="messages", code="context_length_exceeded")


def _inside_reasoning(text: str, reasoning: ReasoningSyntax) -> bool:
    """Whether `text` (output from the turn's start) stops inside the thinking block."""
    opened = reasoning.opened_by_prompt or text.lstrip().startswith(reasoning.begin.strip())
    return opened and reasoning.end not in text


def _without_reasoning(constraint: Constraint | None) -> Constraint | None:
    """The same constraint for output after the thinking block."""
    if isinstance(constraint, ToolCallConstraint) and constraint.syntax.reasoning is not None:
        return dataclasses.replace(constraint, syntax=dataclasses.replace(constraint.syntax, reasoning=None))
    return constraint


class _SyntaxWatch:
    """`call_syntax="repair"`: passes text on, holding back a line that could open a call
    in the model's own syntax (see `policies.classify_opening`) until it is decided. Text
    inside the thinking block passes unwatched. `anywhere`: the format lets text precede
    calls, so every line start is watched; otherwise only the answer's start."""

    def __init__(self, names: list[str], *, anywhere: bool, reasoning: ReasoningSyntax | None, before: str,
                 is_call: Callable[[str], bool]) -> None:
        self.names = names
        self.anywhere = anywhere
        self.reasoning = reasoning
        self.is_call = is_call
        self.seen = before
        self.held = ""
        self.done = bool(before.strip()) and not anywhere and not self._thinking()

    def push(self, text: str) -> tuple[str, str | None]:
        """(text to pass on, the tool's name when a call was detected)."""
        if self.done:
            return text, None
        self.held += text
        passed = ""
        while self.held and not self.done:
            if self._thinking():
                passed += self._pass(len(self.held))  # re-checked below: the block may end in this text
                continue
            if self._at_line_start():
                head = self.held.lstrip(" \t")
                if not head:
                    break
                if head[0] in "`{[":
                    if self.is_call(self.seen + self.held):  # the format's own call syntax
                        self.done = True
                        return passed + self._pass(len(self.held)), None
                    outcome = classify_opening(self.held, self.names)
                    if outcome == "undecided":
                        break
                    if outcome == "call":
                        return passed, named_tool(self.held, self.names)
            line_end = self.held.find("\n")
            passed += self._pass(len(self.held) if line_end < 0 else line_end + 1)
        return passed, None

    def flush(self) -> tuple[str, str | None]:
        """At the end of the generation: a held call-shaped object is still a call."""
        if self.held and not self.done and classify_opening(self.held, self.names) == "call":
            return "", named_tool(self.held, self.names)
        rest, self.held = self.held, ""
        return rest, None

    def _pass(self, size: int) -> str:
        taken, self.held = self.held[:size], self.held[size:]
        if self._thinking() and self.reasoning is not None and self.reasoning.end in self.seen + taken:
            end = (self.seen + taken).index(self.reasoning.end) + len(self.reasoning.end) - len(self.seen)
            if end < len(taken):  # the block ended inside `taken`: watch what follows it
                self.held, taken = taken[end:] + self.held, taken[:end]
        self.seen += taken
        if not self.anywhere and taken.strip() and not self._thinking() and not self._only_reasoning():
            self.done = True
            taken, self.held = taken + self.held, ""
        return taken

    def _thinking(self) -> bool:
        return self.reasoning is not None and _inside_reasoning(self.seen, self.reasoning)

    def _only_reasoning(self) -> bool:
        """Whether all that was seen is the thinking block (and spaces after it)."""
        if self.reasoning is None or self.reasoning.end not in self.seen:
            return False
        return not self.seen.split(self.reasoning.end, 1)[1].strip()

    def _at_line_start(self) -> bool:
        if self.reasoning is not None and self.seen.rstrip(" \t").endswith(self.reasoning.end):
            return True
        return not self.seen or self.seen.endswith("\n")
