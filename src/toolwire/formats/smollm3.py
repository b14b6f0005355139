"""SmolLM3: Hermes-style `<tool_call>` JSON after a `<think>` block, rendered as SmolLM3's
chat template does (its metadata system turn and `/think` / `/no_think` reasoning modes).

Wire text of an assistant turn (after `<|im_start|>assistant\\n`, thinking on)::

    <think>
    The user wants the weather.
    </think>
    <tool_call>
    {"name": "get_weather", "arguments": {"city": "Paris"}}
    </tool_call><|im_end|>

With thinking off (`enable_thinking` false, or `/no_think` in the system prompt) the
generation prompt ends with an empty block, `<think>\\n\\n</think>\\n`. The copied template
(Unsloth's edit) has no tool section and drops calls from past turns; SmolLM3's own
template lists tools as `<tools>` JSON lines under `### Tools` and the model answers in
`<tool_call>` tags. Deliberate differences: `render` writes that tool section (as JSON
lines) and the calls of past turns.
"""

from __future__ import annotations

from typing import Sequence

from toolwire.formats._json_tags import parse_tagged_calls, tagged_reply, tagged_syntax, tool_lines
from toolwire.formats._reasoning import parse_with_reasoning
from toolwire.formats.base import Format, ReasoningSyntax, RenderOptions
from toolwire.types import AssistantMessage, Message, ParsedMessage, Tool, message_text

__all__ = ["SmolLM3Format"]

THINKING_INSTRUCTIONS = (
    "You are a helpful AI assistant named SmolLM, trained by Hugging Face. Your role as an assistant involves "
    "thoroughly exploring questions through a systematic thinking process before providing the final precise and "
    "accurate solutions. This requires engaging in a comprehensive cycle of analysis, summarizing, exploration, "
    "reassessment, reflection, backtracking, and iteration to develop well-considered thinking process. Please "
    "structure your response into two main sections: Thought and Solution using the specified format: <think> "
    "Thought section </think> Solution section. In the Thought section, detail your reasoning process in steps. "
    "Each step should include detailed considerations such as analysing questions, summarizing relevant findings, "
    "brainstorming new ideas, verifying the accuracy of the current steps, refining any errors, and revisiting "
    "previous steps. In the Solution section, based on various attempts, explorations, and reflections from the "
    "Thought section, systematically present the final solution that you deem correct. The Solution section should "
    "be logical, accurate, and concise and detail necessary steps needed to reach the conclusion."
)
PLAIN_INSTRUCTIONS = "You are a helpful AI assistant named SmolLM, trained by Hugging Face."
TOOLS_INTRO = (
    "### Tools\n\nYou may call one or more functions to assist with the user query.\n"
    "You are provided with function signatures within <tools></tools> XML tags:\n\n<tools>"
)
TOOLS_OUTRO = (
    "\n</tools>\n\nFor each function call, return a json object with function name and arguments within "
    "<tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": <function-name>, \"arguments\": "
    "<args-json-object>}\n</tool_call>\n\n"
)
EMPTY_THINKING = "<think>\n\n</think>\n"


class SmolLM3Format(Format):
    name = "smollm3"
    syntax = tagged_syntax(end="<|im_end|>", stops=("<|im_end|>", "<|endoftext|>"),
                           reasoning=ReasoningSyntax("<think>", "</think>", separator="\n"))

    def render(
        self,
        messages: Sequence[Message],
        tools: Sequence[Tool] = (),
        options: RenderOptions = RenderOptions(),
    ) -> str:
        thinking = options.thinking is not False
        system = options.system_prompt
        if messages and messages[0].role in ("system", "developer"):
            system = message_text(messages[0].content)
        instructions = ""
        if system is not None:
            if "/no_think" in system:
                thinking = False
            elif "/think" in system:
                thinking = True
            instructions = system.replace("/no_think", "").replace("/think", "").rstrip()
        mode = "/think" if thinking else "/no_think"
        instructions = instructions or (THINKING_INSTRUCTIONS if thinking else PLAIN_INSTRUCTIONS)
        parts = [f"<|im_start|>system\n## Metadata\n\nKnowledge Cutoff Date: June 2025\nReasoning Mode: {mode}\n\n"
                 f"## Custom Instructions\n\n{instructions}\n\n"]
        if tools and options.describe_tools:
            parts.append(TOOLS_INTRO + tool_lines(tools) + TOOLS_OUTRO)
        parts.append("<|im_end|>\n")
        opening = "" if thinking else EMPTY_THINKING
        for message in messages:
            if isinstance(message, AssistantMessage):
                content = message_text(message.content).lstrip("\n")
                body = tagged_reply(message.model_copy(update={"content": content}))
                parts.append(f"<|im_start|>assistant\n{opening}{body}<|im_end|>\n")
            elif message.role in ("user", "tool", "function"):
                parts.append(f"<|im_start|>user\n{message_text(message.content)}<|im_end|>\n")
        if options.add_generation_prompt:
            parts.append("<|im_start|>assistant\n" + opening)
        return "".join(parts)

    def render_reply(self, message: AssistantMessage, tools: Sequence[Tool] = ()) -> str:
        answer = tagged_reply(message)
        reasoning = message.reasoning_content
        return f"<think>\n{reasoning.strip()}\n</think>\n{answer}" if reasoning else answer

    def parse(self, text: str, *, partial: bool = False, tools: Sequence[Tool] = ()) -> ParsedMessage:
        return parse_with_reasoning(
            text, self.syntax.reasoning, partial=partial,
            parse_answer=lambda answer: parse_tagged_calls(answer, partial=partial))
