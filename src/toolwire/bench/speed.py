"""`toolwire bench speed`: what constraints cost, measured side by side in one run.

Each figure is the median of `--repeats` interleaved runs on the same loaded model, so a
busy machine slows both sides of a ratio alike. Prints a markdown table with each target.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import time
from typing import Any, Callable

from toolwire.chat import ChatModel, load
from toolwire.constrain import Constraint, ToolCallConstraint, lark_grammar
from toolwire.engine.sampling import SamplingParams
from toolwire.formats.base import RenderOptions
from toolwire.models import DEFAULT_MODEL
from toolwire.schema.jsonschema import clear_schema_cache, normalize_parameters
from toolwire.types import Tool, parse_messages, parse_tools

__all__ = ["add_arguments", "main", "measure"]

STORY = [{"role": "user", "content": "Write a long story about a lighthouse keeper and a storm."}]
STORY_TOOL = {"type": "function", "function": {
    "name": "save_story", "description": "Save a story",
    "parameters": {"type": "object", "properties": {"title": {"type": "string"}, "text": {"type": "string"}},
                   "required": ["title", "text"]}}}
FORM_TOOL = {"type": "function", "function": {
    "name": "file_weather_report", "description": "File a structured weather report",
    "parameters": {"type": "object", "properties": {
        "station_identifier": {"type": "string", "enum": ["north_harbour_lighthouse"]},
        "reporting_period": {"type": "string", "enum": ["morning", "evening"]},
        "temperature_unit": {"type": "string", "enum": ["celsius"]},
        "visibility_category": {"type": "string", "enum": ["good", "moderate", "poor"]},
        "precipitation_observed": {"type": "boolean"},
        "wind_direction_cardinal": {"type": "string", "enum": ["north", "south", "east", "west"]},
        "observer_confirmation": {"type": "string", "enum": ["confirmed_by_keeper"]}},
        "required": ["station_identifier", "reporting_period", "temperature_unit", "visibility_category",
                     "precipitation_observed", "wind_direction_cardinal", "observer_confirmation"]}}}
FORM_QUESTION = [{"role": "user", "content": "File this morning's weather report for the north harbour lighthouse: poor visibility, rain, wind from the west."}]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", default=DEFAULT_MODEL, help="model name or .gguf path")
    parser.add_argument("--tokens", type=int, default=96, help="tokens per decode measurement")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved repeats per figure (median)")
    parser.add_argument("--json", dest="json_path", help="also write the figures as JSON here")


def _median(run: Callable[[], float], repeats: int) -> float:
    return statistics.median(run() for _ in range(repeats))


def _tools(count: int) -> list[Tool]:
    tools = [FORM_TOOL, STORY_TOOL] + [
        {"type": "function", "function": {"name": f"tool_{i}", "description": f"Tool number {i}",
                                          "parameters": {"type": "object", "properties": {
                                              "query": {"type": "string"}, "limit": {"type": "integer"},
                                              "mode": {"enum": ["fast", "exact"]}}, "required": ["query"]}}}
        for i in range(count)]
    return parse_tools(tools[:count])


def measure(model: ChatModel, *, tokens: int = 96, repeats: int = 3) -> dict[str, Any]:
    """All the speed figures, as a dict."""
    engine, fmt = model.engine, model.format
    figures: dict[str, Any] = {}
    started = time.perf_counter()
    assert engine.lltokenizer is engine.lltokenizer
    figures["tokenizer_build_s"] = time.perf_counter() - started
    sampling = SamplingParams(max_tokens=tokens)

    def grammar_for(tools: list[Tool], choice: str) -> Constraint:
        schemas = {tool.name: normalize_parameters(tool.function.parameters, where=tool.name) for tool in tools}
        return ToolCallConstraint(fmt.syntax, tools, schemas, choice, True)

    story_prompt = fmt.render(parse_messages(STORY), _tools(2), RenderOptions())
    text_grammar = grammar_for(_tools(2), "auto")
    story_call_grammar = grammar_for(parse_tools([STORY_TOOL]), "required")

    def rate(grammar: Constraint | None) -> Callable[[], float]:
        def run() -> float:
            generation = engine.generate(story_prompt, sampling=sampling, constraint=grammar)
            generation.text()
            return generation.usage.completion_tokens / generation.usage.generation_seconds
        return run

    rates: dict[str, list[float]] = {"unconstrained": [], "constrained_text": [], "constrained_call": []}
    for _ in range(repeats):  # interleaved, so load changes hit all three alike
        rates["unconstrained"].append(rate(None)())
        rates["constrained_text"].append(rate(text_grammar)())
        rates["constrained_call"].append(rate(story_call_grammar)())
    for key, values in rates.items():
        figures[f"tps_{key}"] = statistics.median(values)

    form_prompt = fmt.render(parse_messages(FORM_QUESTION), parse_tools([FORM_TOOL]), RenderOptions())
    form_grammar = grammar_for(parse_tools([FORM_TOOL]), "required")

    def call_time(jump_forward: bool) -> float:
        generation = engine.generate(form_prompt, sampling=SamplingParams(max_tokens=200), constraint=form_grammar,
                                     jump_forward=jump_forward)
        started = time.perf_counter()
        generation.text()
        return time.perf_counter() - started - generation.usage.prompt_seconds

    forced_on, forced_off = [], []
    for _ in range(repeats):
        forced_on.append(call_time(True))
        forced_off.append(call_time(False))
    figures["forced_call_s_jump_forward"] = statistics.median(forced_on)
    figures["forced_call_s_without"] = statistics.median(forced_off)

    turn_one = STORY + [{"role": "assistant", "content": "Once upon a time, a keeper named Ada watched the sea."},
                        {"role": "user", "content": "Continue the story with the storm arriving."}]
    turn_two_prompt = fmt.render(parse_messages(turn_one), _tools(2), RenderOptions())
    turn_one_prompt = fmt.render(parse_messages(turn_one[:2]), _tools(2), RenderOptions())

    def first_token(reuse: bool) -> float:
        if reuse:
            engine.generate(turn_one_prompt, sampling=SamplingParams(max_tokens=1)).text()
        else:
            engine.forget()
        generation = engine.generate(turn_two_prompt, sampling=SamplingParams(max_tokens=1))
        started = time.perf_counter()
        next(iter(generation), None)
        elapsed = time.perf_counter() - started
        generation.close()
        return elapsed

    reuse, scratch = [], []
    for _ in range(repeats):
        reuse.append(first_token(True))
        scratch.append(first_token(False))
    figures["ttft_turn2_s_reuse"] = statistics.median(reuse)
    figures["ttft_turn2_s_scratch"] = statistics.median(scratch)

    for count in (1, 20):
        tools = _tools(count)
        schemas = {tool.name: normalize_parameters(tool.function.parameters, where=tool.name) for tool in tools}

        def build() -> float:
            started = time.perf_counter()
            engine.compile_grammar(lark_grammar(ToolCallConstraint(fmt.syntax, tools, schemas, "auto", True),
                                                engine.vocabulary))
            return time.perf_counter() - started
        figures[f"grammar_build_ms_{count}_tools"] = _median(build, max(repeats, 5)) * 1000
    clear_schema_cache()
    started = time.perf_counter()
    for tool in _tools(20):
        normalize_parameters(tool.function.parameters, where=tool.name)
    figures["schema_check_ms_20_tools_uncached"] = (time.perf_counter() - started) * 1000

    figures["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return figures


def table(figures: dict[str, Any], model_name: str) -> str:
    """The markdown report: figures, ratios and targets."""
    f = figures
    text_ratio = f["tps_constrained_text"] / f["tps_unconstrained"]
    call_ratio = f["tps_constrained_call"] / f["tps_unconstrained"]
    ff_ratio = f["forced_call_s_jump_forward"] / f["forced_call_s_without"]
    ttft_ratio = f["ttft_turn2_s_reuse"] / f["ttft_turn2_s_scratch"]

    def verdict(ok: bool) -> str:
        return "met" if ok else "NOT met"

    rows = [
        ("decode tokens/s, unconstrained", f"{f['tps_unconstrained']:.1f}", "", ""),
        ("decode tokens/s, constrained text (auto grammar)", f"{f['tps_constrained_text']:.1f}", f"{text_ratio:.2f}x", f">= 0.95x: {verdict(text_ratio >= 0.95)}"),
        ("decode tokens/s, constrained tool call", f"{f['tps_constrained_call']:.1f}", f"{call_ratio:.2f}x", f">= 0.95x: {verdict(call_ratio >= 0.95)}"),
        ("forced-key tool call, jump-forward on (s)", f"{f['forced_call_s_jump_forward']:.3f}", f"{ff_ratio:.2f}x", f"<= 0.7x: {verdict(ff_ratio <= 0.7)}"),
        ("forced-key tool call, jump-forward off (s)", f"{f['forced_call_s_without']:.3f}", "", ""),
        ("turn-2 time to first token, prefix reuse (s)", f"{f['ttft_turn2_s_reuse']:.3f}", f"{ttft_ratio:.2f}x", f"<= 0.3x: {verdict(ttft_ratio <= 0.3)}"),
        ("turn-2 time to first token, from scratch (s)", f"{f['ttft_turn2_s_scratch']:.3f}", "", ""),
        ("grammar build + compile, 1 tool (ms)", f"{f['grammar_build_ms_1_tools']:.1f}", "", ""),
        ("grammar build + compile, 20 tools (ms)", f"{f['grammar_build_ms_20_tools']:.1f}", "", f"< 20 ms: {verdict(f['grammar_build_ms_20_tools'] < 20)}"),
        ("schema check of 20 new tools, before caching (ms)", f"{f['schema_check_ms_20_tools_uncached']:.1f}", "", ""),
        ("llguidance tokenizer, built once per process (s)", f"{f['tokenizer_build_s']:.2f}", "", ""),
        ("peak RSS (MiB)", f"{f['peak_rss_mib']:.0f}", "", ""),
    ]
    lines = [f"Speed on {model_name} (medians of interleaved runs)", "",
             "| measure | value | ratio | target |", "|---|---:|---:|---|"]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    return "\n".join(lines)


def main(args: argparse.Namespace) -> int:
    model = load(args.model)
    figures = measure(model, tokens=args.tokens, repeats=args.repeats)
    print(table(figures, model.name))
    if args.json_path:
        with open(args.json_path, "w") as out:
            json.dump(figures, out, indent=2)
    return 0
