"""`toolwire.connect`: a model whose generation runs on another server.

    model = toolwire.connect("http://127.0.0.1:8080", kind="llama.cpp")
    model.chat(messages, tools=tools)       # the same answers as toolwire.load()'s model

toolwire renders the prompt, builds the grammar in the upstream's dialect, parses the
output and shapes the OpenAI response; the upstream (llama.cpp's llama-server, vLLM,
SGLang or another toolwire) only generates. The format comes from `format`, else from
`chat_template` (the text of a Jinja template), else from the template the upstream
reports (llama-server's `/props`); vLLM and SGLang do not report theirs, so they need one
of the first two.
"""

from __future__ import annotations

import re
from typing import Any, Iterable, Mapping

from toolwire.chat import ChatModel, Policies
from toolwire.chat.policies import parse_policies
from toolwire.engine.remote import KINDS, RemoteEngine, remote_engine
from toolwire.errors import TemplateError
from toolwire.formats.base import CallSyntax, Format
from toolwire.formats.choice import format_for_template
from toolwire.formats.registry import get_format

__all__ = ["KINDS", "connect", "marker_texts"]

_MARKER = re.compile(r"<\|?/?[\w.:\"-]{1,40}\|?>|\[/?[A-Z_]{2,40}\]")
"""Texts that look like special tokens: `<tool_call>`, `</tool_call>`, `<|python_tag|>`,
`[TOOL_CALLS]`."""


def connect(url: str, *, kind: str = "llama.cpp", format: str | None = None, chat_template: str | None = None,
            model: str | None = None, api_key: str | None = None, grammar: str | None = None,
            timeout: float = 600.0, policies: Policies | Mapping[str, Any] | None = None) -> ChatModel:
    """A `ChatModel` generating on the upstream at `url`.

    `kind`: `llama.cpp`, `vllm`, `sglang` or `toolwire`. `format`: a wire format name (or
    `jinja` with `chat_template`). `chat_template`: the model's Jinja chat template text.
    `model`: the served model's name (default: the first the upstream lists). `api_key`:
    the upstream's key. `grammar`: how a vLLM or SGLang server was started
    (`structural-tag`, `ebnf` or `lark`; see docs/deployment.md). `policies`: the model's
    default policy settings, as for `load()`."""
    engine = remote_engine(url, kind, model=model, api_key=api_key, grammar=grammar, timeout=timeout)
    try:
        chosen = _format(engine, kind, format, chat_template)
        eos = _reported_eos(engine)
        engine.learn_special_tokens(marker_texts(chosen.syntax), end_tokens=[eos] if eos else [])
    except BaseException:
        engine.close()
        raise
    return ChatModel(engine, chosen, name=engine.model or url, policies=parse_policies(policies))


def marker_texts(syntax: CallSyntax) -> list[str]:
    """The texts in a format's call syntax that may be special tokens of the model's
    vocabulary (the upstream says which are)."""
    literals: Iterable[str] = (
        *(item for item in syntax.call if isinstance(item, str)), syntax.separator, syntax.calls_begin,
        syntax.calls_end, syntax.text_prefix, syntax.text_suffix, syntax.text_to_calls, syntax.trigger,
        syntax.string_delimiter, *((syntax.reasoning.begin, syntax.reasoning.end) if syntax.reasoning else ()))
    return list(dict.fromkeys(match.group() for text in literals for match in _MARKER.finditer(text)))


def _format(engine: RemoteEngine, kind: str, name: str | None, template: str | None) -> Format:
    if name is not None and name != "jinja":
        if template is not None:
            raise ValueError("format: give a format name or a chat template, not both")
        return get_format(name)
    if template is not None:
        return format_for_template(template, name, source="--chat-template")
    reported = getattr(engine, "chat_template", None)
    if reported is not None:
        text, bos, eos = reported()
        return format_for_template(text, name, bos=bos, eos=eos, source=engine.url)
    raise TemplateError(f"format: a {kind} upstream does not tell its chat template; "
                        "give a format (--format) or the model's chat template (--chat-template FILE)")


def _reported_eos(engine: RemoteEngine) -> str:
    reported = getattr(engine, "chat_template", None)
    return reported()[2] if reported is not None else ""
