"""A family's real chat template as the oracle in its format's tests: what the template
writes for an assistant turn after its generation prompt, and its renderings of whole
conversations (the templates are copied in `tests/templates/families/`)."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from toolwire.formats.base import Format, RenderOptions
from toolwire.formats.jinja import JinjaFormat
from toolwire.types import AssistantMessage, Message, Tool, UserMessage, parse_messages

FAMILIES = Path(__file__).parent.parent / "templates" / "families"
USER = UserMessage(content="Plan my day, please.")

CONVERSATIONS = {
    "user": parse_messages([{"role": "user", "content": "Hi"}]),
    "system_user": parse_messages([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]),
    "call_and_result": parse_messages([
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "tool_calls": [{"id": "call00001", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}]},
        {"role": "tool", "tool_call_id": "call00001", "content": "sunny"},
    ]),
    "parallel_text_and_results": parse_messages([
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Weather in Paris and Tokyo?"},
        {"role": "assistant", "content": "Checking.", "tool_calls": [
            {"id": "call00001", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}},
            {"id": "call00002", "function": {"name": "get_weather", "arguments": {"city": "東京", "unit": "celsius"}}}]},
        {"role": "tool", "tool_call_id": "call00001", "content": "sunny"},
        {"role": "tool", "tool_call_id": "call00002", "content": "rainy <b>"},
        {"role": "assistant", "content": "Sunny, then rainy."},
        {"role": "user", "content": "Thanks"},
    ]),
}


def template(filename: str, *, parser: str, eos_token: str = "") -> JinjaFormat:
    """The family template `filename` as a format read by `parser`."""
    return JinjaFormat((FAMILIES / filename).read_text(encoding="utf-8"), parser=parser, eos_token=eos_token)


def template_reply(fmt: JinjaFormat, message: AssistantMessage, tools: Sequence[Tool],
                   options: RenderOptions = RenderOptions()) -> str:
    """What the template writes for `message` after its generation prompt (the rendering
    of [user, message] past that of [user] + generation prompt), up to its end of turn."""
    prompt = fmt.render([USER], tools, options)
    full = fmt.render([USER, message], tools, RenderOptions(add_generation_prompt=False, thinking=options.thinking))
    assert full.startswith(prompt), (prompt[-80:], full[len(prompt) - 80:len(prompt) + 80])
    reply = full[len(prompt):]
    ends = [reply.find(marker) for marker in {fmt.syntax.end, *fmt.syntax.stops} - {""}]
    ends = [end for end in ends if end >= 0]
    return reply[:min(ends)] if ends else reply  # some templates write a generation prompt after it anyway


def renders_like_template(fmt: Format, jinja: JinjaFormat, messages: Sequence[Message], tools: Sequence[Tool],
                          options: RenderOptions = RenderOptions()) -> bool:
    """Whether the format's own prompt equals the template's, with and without the
    generation prompt."""
    return all(
        fmt.render(messages, tools, RenderOptions(add_generation_prompt=generation, thinking=options.thinking))
        == jinja.render(messages, tools, RenderOptions(add_generation_prompt=generation, thinking=options.thinking))
        for generation in (True, False)
    )
