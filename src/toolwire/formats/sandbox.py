"""Jinja chat templates rendered as Hugging Face's `apply_chat_template` does, inside
Jinja2's `ImmutableSandboxedEnvironment`. Templates come from model files and are
untrusted: one that reaches for Python internals (`''.__class__`,
`cycler.__init__.__globals__`) or builds huge strings fails with `TemplateError`."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Callable, Mapping, Sequence

import jinja2
from jinja2 import nodes
from jinja2.ext import Extension, loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment

from toolwire.errors import TemplateError
from toolwire.types import (
    AssistantMessage,
    FunctionMessage,
    Message,
    Tool,
    ToolMessage,
    message_text,
)

__all__ = ["ChatTemplate", "MAX_SEQUENCE", "TemplateAdapter"]

MAX_SEQUENCE = 1_000_000
"""The longest string or list a template may build with `*` or `+`."""

TemplateAdapter = Callable[[list[dict[str, Any]], list[dict[str, Any]]], tuple[list[dict[str, Any]], list[dict[str, Any]]]]
"""(message dicts, tool dicts) -> (message dicts, tool dicts), as a template reads them."""


class _JsonArguments(dict):  # type: ignore[type-arg]
    """A call's arguments: a dict, as Hugging Face templates expect (`arguments | tojson`,
    `arguments.items()`), that prints and concatenates as its JSON text, for templates
    written for OpenAI's string arguments (`'<|content|>' + arguments`)."""

    def __str__(self) -> str:
        return json.dumps(self, ensure_ascii=False)

    def __add__(self, other: Any) -> Any:
        return str(self) + other if isinstance(other, str) else NotImplemented

    def __radd__(self, other: Any) -> Any:
        return other + str(self) if isinstance(other, str) else NotImplemented


class _GenerationTag(Extension):
    """`{% generation %}...{% endgeneration %}` (HF marks assistant text with it): renders
    its body unchanged."""

    tags = {"generation"}

    def parse(self, parser: Any) -> nodes.Node:
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(("name:endgeneration",), drop_needle=True)
        return nodes.CallBlock(self.call_method("_render"), [], [], body).set_lineno(lineno)

    def _render(self, caller: Callable[[], str]) -> str:
        return caller()


_LIST_GROWTH = frozenset({"append", "pop"})
"""The list methods a template may call: Kimi-K2's template queues call ids with
`ids.append(id)` and `ids.pop(0)`. Every list a template sees is its own (the messages are
fresh copies), so this mutates nothing of the caller's."""


class _Sandbox(ImmutableSandboxedEnvironment):
    """HF's chat-template environment, stricter: reaching for an unsafe attribute fails at
    once (HF returns an undefined that fails only when used, so `{{ ''.__class__ }}`
    printed nothing), and `*` / `+` may not build sequences beyond `MAX_SEQUENCE`. Lists
    may `append` (up to `MAX_SEQUENCE` items) and `pop`, as llama.cpp's template engine
    allows: Kimi-K2's template needs both."""

    intercepted_binops = frozenset({"*", "+", "**"})

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        if isinstance(obj, list) and attr in _LIST_GROWTH:
            return True
        return super().is_safe_attribute(obj, attr, value)

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805 (jinja's signature)
        owner = getattr(__obj, "__self__", None)
        if isinstance(owner, list) and getattr(__obj, "__name__", "") == "append" and len(owner) >= MAX_SEQUENCE:
            raise jinja2.exceptions.SecurityError("list too long")
        return super().call(__context, __obj, *args, **kwargs)

    def unsafe_undefined(self, obj: Any, attribute: str) -> Any:
        raise jinja2.exceptions.SecurityError(
            f"access to attribute {attribute!r} of {type(obj).__name__!r} object is unsafe"
        )

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**":
            if isinstance(right, int) and abs(right) > 1000:
                raise jinja2.exceptions.SecurityError("exponent too large")
            return left**right
        if operator == "*":
            for sequence, count in ((left, right), (right, left)):
                if isinstance(sequence, (str, list, tuple)) and isinstance(count, int):
                    if len(sequence) * count > MAX_SEQUENCE:
                        raise jinja2.exceptions.SecurityError("sequence too long")
            return left * right
        result = left + right
        if isinstance(result, (str, list, tuple)) and len(result) > MAX_SEQUENCE:
            raise jinja2.exceptions.SecurityError("sequence too long")
        return result


def _raise_exception(message: str) -> None:
    raise TemplateError(f"chat template raised an error: {message}")


def _tojson(
    value: Any, ensure_ascii: bool = False, indent: int | None = None,
    separators: tuple[str, str] | None = None, sort_keys: bool = False,
) -> str:
    """HF's `tojson`: no HTML escaping; the `json.dumps` options as keyword arguments."""
    return json.dumps(value, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


def _strftime_now(format: str) -> str:
    return datetime.now().strftime(format)


_RENDER_ERRORS = (
    jinja2.exceptions.TemplateError, TypeError, ValueError, ArithmeticError, LookupError,
    AttributeError, RecursionError,
)


def _explain(error: Exception) -> TemplateError:
    if isinstance(error, jinja2.exceptions.SecurityError):
        return TemplateError(f"chat template tried to reach outside its sandbox: {error}")
    if isinstance(error, jinja2.exceptions.TemplateSyntaxError):
        return TemplateError(f"chat template has a syntax error on line {error.lineno}: {error.message}")
    return TemplateError(f"chat template failed to render: {type(error).__name__}: {error}")


def _message_dicts(messages: Sequence[Message]) -> list[dict[str, Any]]:
    """Messages as HF templates expect them: plain dicts without unset fields, text
    content, call arguments as dicts, `developer` as `system`, the legacy `function` role
    as `tool`, each tool result named after the call it answers, and an assistant turn's
    reasoning as `reasoning_content` and `thinking`."""
    names: dict[str, str] = {}
    result: list[dict[str, Any]] = []
    for message in messages:
        text = message_text(message.content)
        if isinstance(message, AssistantMessage):
            item: dict[str, Any] = {"role": "assistant", "content": text}
            calls = message.tool_calls or []
            if message.function_call and not calls:
                item["tool_calls"] = [{"id": "call_0", "type": "function", "function": {
                    "name": message.function_call.name,
                    "arguments": _JsonArguments(message.function_call.parsed_arguments())}}]
            elif calls:
                item["tool_calls"] = [{"id": call.id, "type": "function", "function": {
                    "name": call.function.name,
                    "arguments": _JsonArguments(call.function.parsed_arguments())}} for call in calls]
                names.update((call.id, call.function.name) for call in calls)
            if "tool_calls" in item and not text:
                item["content"] = None
            if message.reasoning_content:
                # `reasoning_content` (Qwen3, GLM, MiniMax, Seed-OSS); `thinking` (gpt-oss)
                item["reasoning_content"] = item["thinking"] = message.reasoning_content
        elif isinstance(message, ToolMessage):
            item = {"role": "tool", "content": text}
            if message.tool_call_id is not None:
                item["tool_call_id"] = message.tool_call_id
            name = message.name or names.get(message.tool_call_id or "")
            if name:
                item["name"] = name
        elif isinstance(message, FunctionMessage):
            item = {"role": "tool", "name": message.name, "content": text}
        else:
            item = {"role": "system" if message.role == "developer" else message.role, "content": text}
            if message.name:
                item["name"] = message.name
        result.append(item)
    return result


class ChatTemplate:
    """A compiled, sandboxed chat template that renders as HF's `apply_chat_template`:
    `trim_blocks` and `lstrip_blocks`, `loopcontrols`, HF's `tojson`, `raise_exception`,
    `strftime_now`, and the variables `messages`, `tools`, `add_generation_prompt`,
    `bos_token`, `eos_token` (plus any `variables`, e.g. `date_string`)."""

    def __init__(
        self, source: str, *, bos_token: str = "", eos_token: str = "",
        variables: Mapping[str, Any] | None = None,
    ) -> None:
        self.source = source
        self.bos_token = bos_token
        self.eos_token = eos_token
        self.variables = dict(variables or {})
        self._empty_for_null: bool | None = None
        environment = _Sandbox(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols, _GenerationTag])
        environment.filters["tojson"] = _tojson
        environment.globals["raise_exception"] = _raise_exception
        environment.globals["strftime_now"] = _strftime_now
        try:
            self._template = environment.from_string(source)
        except jinja2.exceptions.TemplateSyntaxError as exc:
            raise _explain(exc) from None

    def render(
        self, messages: Sequence[Message], tools: Sequence[Tool] = (), *, add_generation_prompt: bool = True,
        variables: Mapping[str, Any] | None = None, adapt: TemplateAdapter | None = None,
    ) -> str:
        """The template's text for `messages`; `tools` is None for the template when empty
        (an empty list for a template that fails on None).
        `variables` are passed to the template besides the constructor's (`enable_thinking`);
        `adapt` rewrites the message and tool dicts first, for a family's templates that read
        them differently (see `Format.template_input`).

        A call-only assistant turn has `content` None, as OpenAI sends it. Templates that
        fail on that (Qwen3's `'</think>' in message.content`) or print it (`None`, GLM's)
        get `""` instead, as llama.cpp gives them; which a template needs is found on its
        first such turn."""
        message_dicts = _message_dicts(messages)
        tool_dicts = [tool.model_dump(exclude_none=True) for tool in tools]
        if adapt is not None:
            message_dicts, tool_dicts = adapt(message_dicts, tool_dicts)
        context = {
            **self.variables,
            **(variables or {}),
            "messages": message_dicts,
            "tools": tool_dicts or None,
            "add_generation_prompt": add_generation_prompt,
            "bos_token": self.bos_token,
            "eos_token": self.eos_token,
        }
        nulls = [item for item in message_dicts if item.get("content", "") is None]
        if nulls and self._empty_for_null is None:
            self._empty_for_null = self._prints_or_fails_on_null(context, nulls)
        if nulls and self._empty_for_null:
            for item in nulls:
                item["content"] = ""
        try:
            return self._template.render(context)
        except _RENDER_ERRORS as exc:
            if context["tools"] is None:
                # A template that takes `tools | length` when it is defined (FunctionGemma's)
                # fails on None: it gets an empty list.
                try:
                    return self._template.render({**context, "tools": []})
                except _RENDER_ERRORS:
                    pass
            raise _explain(exc) from None

    def _prints_or_fails_on_null(self, context: dict[str, Any], nulls: list[dict[str, Any]]) -> bool:
        try:
            with_null = self._template.render(context)
        except _RENDER_ERRORS:
            return True
        for item in nulls:
            item["content"] = ""
        try:
            with_empty = self._template.render(context)
        except _RENDER_ERRORS:
            return False
        finally:
            for item in nulls:
                item["content"] = None
        return with_null.count("None") > with_empty.count("None")
