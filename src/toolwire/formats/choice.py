"""Which format a model speaks, from its GGUF chat template (or the caller's choice)."""

from __future__ import annotations

from pathlib import Path

from toolwire.formats.base import Format
from toolwire.formats.jinja import JinjaFormat, detect_format
from toolwire.formats.registry import get_format
from toolwire.gguf import chat_template, special_tokens

__all__ = ["choose_format", "format_for_template"]


def choose_format(model_path: str | Path, name: str | None = None) -> Format:
    """The format for a GGUF model: `name` when given (`jinja` renders the model's own
    template), else the template's own tool syntax, else `chatml-functions` for a ChatML
    template without tool support (SmolLM2's), else `generic`."""
    template = chat_template(model_path)
    if name is not None and name != "jinja":
        return get_format(name)
    tokens = special_tokens(model_path) if template is not None else {}
    return format_for_template(template, name, bos=tokens.get("bos_token", ""), eos=tokens.get("eos_token", ""),
                               source=str(model_path))


def format_for_template(template: str | None, name: str | None = None, *, bos: str = "", eos: str = "",
                        source: str = "the model") -> Format:
    """The format for a model whose chat template is `template` (None: it has none), by the
    rules of `choose_format`; `source` names the model in errors."""
    if name is not None and name != "jinja":
        return get_format(name)
    if template is None:
        if name == "jinja":
            from toolwire.errors import TemplateError

            raise TemplateError(f"format: {source} has no chat template to render")
        return get_format("generic")
    if detect_format(template) is not None:
        return JinjaFormat(template, bos_token=bos, eos_token=eos)
    if name == "jinja":
        return JinjaFormat(template, parser="generic", bos_token=bos, eos_token=eos)
    return get_format("chatml-functions" if "<|im_start|>" in template else "generic")
