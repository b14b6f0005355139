"""Format names -> format classes, and detection of a format from a chat template.

Each format lives in its own module; this table is the only place that lists them.
"""

from __future__ import annotations

import importlib

from toolwire.errors import RequestError
from toolwire.formats.base import Format

__all__ = ["FORMAT_NAMES", "format_class", "get_format"]

_MODULES: dict[str, tuple[str, str]] = {
    "apertus": ("toolwire.formats.apertus", "ApertusFormat"),
    "chatml-functions": ("toolwire.formats.chatml_functions", "ChatMLFunctionsFormat"),
    "deepseek-r1": ("toolwire.formats.deepseek", "DeepSeekR1Format"),
    "deepseek-v3.1": ("toolwire.formats.deepseek", "DeepSeekV31Format"),
    "functionary-v2": ("toolwire.formats.functionary_v2", "FunctionaryV2Format"),
    "granite-3": ("toolwire.formats.granite", "Granite3Format"),
    "granite-4": ("toolwire.formats.granite", "Granite4Format"),
    "harmony": ("toolwire.formats.harmony", "HarmonyFormat"),
    "command-r7b": ("toolwire.formats.command_r7b", "CommandR7BFormat"),
    "functiongemma": ("toolwire.formats.functiongemma", "FunctionGemmaFormat"),
    "functionary-v2": ("toolwire.formats.functionary_v2", "FunctionaryV2Format"),
    "functionary-v3.1": ("toolwire.formats.functionary_v3_1", "FunctionaryV31Format"),
    "functionary-v3.2": ("toolwire.formats.functionary_v3_2", "FunctionaryV32Format"),
    "gemma-4": ("toolwire.formats.gemma4", "Gemma4Format"),
    "hermes": ("toolwire.formats.hermes", "HermesFormat"),
    "kimi-k2": ("toolwire.formats.kimi_k2", "KimiK2Format"),
    "lfm2": ("toolwire.formats.lfm2", "Lfm2Format"),
    "llama3-json": ("toolwire.formats.llama3_json", "Llama3JsonFormat"),
    "minimax-m2": ("toolwire.formats.minimax", "MiniMaxM2Format"),
    "mistral": ("toolwire.formats.mistral", "MistralFormat"),
    "nemotron": ("toolwire.formats.nemotron", "NemotronFormat"),
    "llama4-pythonic": ("toolwire.formats.llama4_pythonic", "Llama4PythonicFormat"),
    "magistral": ("toolwire.formats.magistral", "MagistralFormat"),
    "mistral": ("toolwire.formats.mistral", "MistralFormat"),
    "mistral-v11": ("toolwire.formats.mistral_v11", "MistralV11Format"),
    "phi-4-mini": ("toolwire.formats.phi4_mini", "Phi4MiniFormat"),
    "pythonic": ("toolwire.formats.pythonic", "PythonicFormat"),
    "qwen3": ("toolwire.formats.qwen3", "Qwen3Format"),
    "qwen3-coder": ("toolwire.formats.qwen3_coder", "Qwen3CoderFormat"),
    "glm-4.5": ("toolwire.formats.glm", "Glm45Format"),
    "glm-4.7": ("toolwire.formats.glm", "Glm47Format"),
    "seed-oss": ("toolwire.formats.seed_oss", "SeedOssFormat"),
    "smollm3": ("toolwire.formats.smollm3", "SmolLM3Format"),
    "generic": ("toolwire.formats.generic", "GenericFormat"),
}

FORMAT_NAMES: tuple[str, ...] = tuple(_MODULES)
"""Formats that need no chat template. `jinja` (a model's own template) is built with
`toolwire.formats.jinja.JinjaFormat`."""


def format_class(name: str) -> type[Format]:
    """The class of the format called `name`."""
    if name not in _MODULES:
        raise RequestError(
            f"format: unknown format {name!r}; choose one of {', '.join(FORMAT_NAMES)}", param="format"
        )
    module, attribute = _MODULES[name]
    return getattr(importlib.import_module(module), attribute)


def get_format(name: str) -> Format:
    """A new instance of the format called `name`."""
    return format_class(name)()
