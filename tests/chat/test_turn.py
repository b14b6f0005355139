"""chat.turn: the turn's generations and policies on a scripted engine (hermes format), one
case per breakage of the first version (issue 11): legitimate calls are returned, code and
markdown are never refused, dropped text never leaks, usage counts everything generated,
and the streamed answer is the non-streamed one."""

from __future__ import annotations

import json
import math

import pytest

from tests.chat.scripted import SURE, UNSURE, ScriptedEngine, chunks
from toolwire.chat import ChatModel
from toolwire.formats import get_format

TOOLS = [{"type": "function", "function": {"name": name, "parameters": {
    "type": "object", "properties": {key: {"type": "string"} for key in keys}, "required": list(keys)}}}
    for name, keys in [("get_weather", ["city"]), ("get_time", ["city"]), ("price", ["symbol"]),
                       ("flip_coin", []), ("convert", ["to"])]]


def hermes_call(name: str, **arguments: str | tuple[str, float]) -> list:
    """A call written under the hermes grammar: the name and each value chosen by the model
    (with the given log-probability; SURE by default), the rest forced."""
    parts: list = ['<tool_call>\n{"name": "', (name, SURE), '", "arguments": {']
    for index, (key, value) in enumerate(arguments.items()):
        text, logprob = value if isinstance(value, tuple) else (value, SURE)
        parts += [(", " if index else "") + f'"{key}": "', (text, logprob), '"']
    parts.append("}}\n</tool_call>")
    return chunks(*parts)


def model(*outputs: list, **engine_options) -> tuple[ChatModel, ScriptedEngine]:  # type: ignore[no-untyped-def]
    engine = ScriptedEngine(list(outputs), **engine_options)
    return ChatModel(engine, get_format("hermes"), "scripted"), engine


def ask(chat_model: ChatModel, question: str = "question", **options) -> dict:  # type: ignore[no-untyped-def]
    return chat_model.chat([{"role": "user", "content": question}], tools=TOOLS, **options)


def calls(result: dict) -> list[tuple[str, dict]]:
    message = result["choices"][0]["message"]
    return [(c["function"]["name"], json.loads(c["function"]["arguments"])) for c in message.get("tool_calls") or []]


# -- parallel_calls="supported": forced further calls, kept when certain and supported -----------------

@pytest.mark.parametrize(("first", "second", "evidence"), [
    (("get_weather", {"city": "Paris"}), ("get_time", {"city": "Paris"}), {"get_time": 3.0}),  # same arguments, other tool
    (("price", {"symbol": "AAPL"}), ("price", {"symbol": "MSFT"}), {"MSFT": 6.0}),  # normalised: not in the question
    (("get_weather", {"city": "New York, NY"}), ("get_weather", {"city": "Los Angeles, CA"}), {"Los": 4.0, "Angeles": 2.0}),
    (("convert", {"to": "celsius"}), ("convert", {"to": "kelvin"}), {"kelvin": 5.0}),  # computed from "K"
])
def test_supported_further_calls_are_kept_whatever_their_words(first, second, evidence) -> None:  # type: ignore[no-untyped-def]
    chat_model, engine = model(hermes_call(first[0], **first[1]), hermes_call(second[0], **second[1]),
                               hermes_call(first[0], **first[1]), evidence=evidence)  # the third repeats the first
    result = ask(chat_model)
    assert calls(result) == [first, second]
    assert result["choices"][0]["finish_reason"] == "tool_calls"
    assert [note["policy"] for note in result["toolwire"]["notes"]] == ["parallel_calls"]
    assert "repeats a call" in result["toolwire"]["notes"][0]["detail"]
    assert engine.prompts[1].endswith("</tool_call>\n") and engine.constraints[1].resume


def test_a_guessed_value_ends_the_turn_and_never_leaks_into_content() -> None:
    chat_model, _ = model(hermes_call("get_weather", city="Paris"),
                          hermes_call("get_weather", city=("the", UNSURE)), evidence={"the": 3.0})  # a common word
    result = ask(chat_model, "What is the weather in the capital of France?")
    assert calls(result) == [("get_weather", {"city": "Paris"})]
    assert result["choices"][0]["message"]["content"] is None
    assert "was guessed: a token had probability 0.05" in result["toolwire"]["notes"][0]["detail"]
    assert result["usage"]["completion_tokens_details"]["rejected_prediction_tokens"] > 0


def test_a_further_call_stops_at_its_first_guessed_token() -> None:
    first = hermes_call("get_weather", city="Paris")
    guessed = chunks('<tool_call>\n{"name": "', ("get_time", UNSURE), '", "arguments": {"city": "', ("Paris", SURE),
                     '"}}\n</tool_call>')
    chat_model, engine = model(first, guessed)
    result = ask(chat_model, "Weather in Paris?")
    assert calls(result) == [("get_weather", {"city": "Paris"})]
    assert result["choices"][0]["finish_reason"] == "tool_calls"  # ended by toolwire, not cut
    assert result["usage"]["completion_tokens"] == len(first) + 2  # the forced opening and the guessed name
    assert "'<tool_call>\\n{\"name\": \"get_time' was guessed" in result["toolwire"]["notes"][0]["detail"]
    assert engine.scored == []  # no support measured for a call already decided


def test_a_certain_variation_the_conversation_does_not_support_is_dropped() -> None:
    chat_model, _ = model(hermes_call("convert", to="miles"), hermes_call("convert", to="kilometers"),
                          evidence={"miles": 5.0})
    result = ask(chat_model, "How far is it from Phoenix to Los Angeles in miles?")
    assert calls(result) == [("convert", {"to": "miles"})]
    assert "not supported by the conversation (0.0 nats)" in result["toolwire"]["notes"][0]["detail"]


def test_supported_values_from_an_earlier_turn_or_a_tool_result_count() -> None:
    conversation = [{"role": "user", "content": "Which cities are in my list?"},
                    {"role": "assistant", "tool_calls": [{"id": "c1", "type": "function", "function": {
                        "name": "list_cities", "arguments": "{}"}}]},
                    {"role": "tool", "tool_call_id": "c1", "content": '["Oslo", "Lima"]'},
                    {"role": "user", "content": "Weather for each of them, please."}]
    chat_model, engine = model(hermes_call("get_weather", city="Oslo"), hermes_call("get_weather", city="Lima"),
                               hermes_call("get_weather", city="Oslo"), evidence={"Lima": 4.0})
    assert calls(chat_model.chat(conversation, tools=TOOLS)) == [("get_weather", {"city": "Oslo"}),
                                                                ("get_weather", {"city": "Lima"})]
    neutral = [prompt for prompt in engine.scored if "Call one of the functions." in prompt]
    assert neutral and all("Oslo" not in prompt.split("<|im_start|>assistant")[0] for prompt in neutral)
    assert any("Weather for each of them" in prompt for prompt in engine.scored)


def test_a_repeated_action_is_a_repeat_where_the_model_chose_to_end() -> None:
    chat_model, _ = model(hermes_call("flip_coin"), hermes_call("flip_coin"))
    assert calls(ask(chat_model, "Flip a coin three times")) == [("flip_coin", {})]


def test_the_model_policy_takes_only_calls_the_model_chooses() -> None:
    chat_model, engine = model(hermes_call("get_weather", city="Paris"), hermes_call("get_weather", city="Tokyo"),
                               logprobs=[{"<tool_call>": -0.1, "<|im_end|>": -4.0}, {"<tool_call>": -9.0, "<|im_end|>": -0.1}])
    assert len(calls(ask(chat_model, policies={"parallel_calls": "model"}))) == 2
    chat_model, engine = model(hermes_call("get_weather", city="Paris"), logprobs={"<tool_call>": -20.0, "<|im_end|>": -0.1})
    assert len(calls(ask(chat_model, policies={"parallel_calls": "model"}))) == 1
    assert len(engine.prompts) == 1


def test_no_further_calls_without_parallel_tool_calls() -> None:
    chat_model, engine = model(hermes_call("get_weather", city="Paris"))
    assert len(calls(ask(chat_model, parallel_tool_calls=False))) == 1
    assert len(engine.prompts) == 1


# -- call_syntax="repair" -----------------------------------------------------------------------

FENCED = chunks(("```", -0.4), ("json", SURE), ("\n", SURE), ('{"', SURE), ("name", SURE), ('": "', SURE),
                ("get_weather", SURE), ('", "arguments": {"city": "Paris"}}\n```', SURE))


def test_a_call_in_the_models_own_syntax_is_written_again_in_the_format() -> None:
    chat_model, engine = model(FENCED, hermes_call("get_weather", city="Paris"), hermes_call("get_weather", city="Paris"))
    result = ask(chat_model)
    assert calls(result) == [("get_weather", {"city": "Paris"})]
    assert result["choices"][0]["message"]["content"] is None
    assert result["toolwire"]["notes"][0]["policy"] == "call_syntax"
    assert engine.constraints[1].tool_choice == "required"


def test_a_guessed_unsupported_repair_leaves_the_models_own_text() -> None:
    chat_model, _ = model(FENCED, hermes_call("get_weather", city=("Atlantis", UNSURE)),
                          chunks(('", "arguments": {}}\n```', SURE)))
    result = ask(chat_model, "What is the capital of France?")
    assert calls(result) == []
    content = result["choices"][0]["message"]["content"]
    assert content.startswith('```json\n{"name": "get_weather"') and content.endswith("```")
    assert result["toolwire"]["notes"][0]["action"] == "kept as text"
    assert "was guessed" in result["toolwire"]["notes"][0]["detail"]


def test_a_repair_with_uncertain_but_supported_values_is_kept() -> None:
    chat_model, _ = model(FENCED, hermes_call("get_weather", city=("Paris", UNSURE)),
                          hermes_call("get_weather", city="Paris"), evidence={"Paris": 6.0})
    assert calls(ask(chat_model, "Weather in Paris or Lyon, whichever first")) == [("get_weather", {"city": "Paris"})]


@pytest.mark.parametrize("answer", [
    "```python\ndef add(a, b):\n    return a + b\n```",
    "# Title\n\n**bold** and\n- item\n| a | b |\n<b>html</b>",
    '{"answer": 42}',
    "[1, 2, 3] are numbers",
])
def test_code_markdown_and_json_answers_are_text_unchanged(answer: str) -> None:
    chat_model, engine = model(chunks(*[(line, SURE) for line in answer.splitlines(keepends=True)]))
    result = ask(chat_model, "write Python code to add two numbers")
    assert result["choices"][0]["message"]["content"] == answer
    assert "toolwire" not in result and len(engine.prompts) == 1


def test_the_request_sampling_reaches_every_generation() -> None:
    chat_model, engine = model(FENCED, hermes_call("get_weather", city="Paris"), hermes_call("get_weather", city="Paris"))
    ask(chat_model, temperature=0.7, seed=3, stop=["STOP"])
    assert len(engine.prompts) == 3


# -- repeat_calls ---------------------------------------------------------------------------------

ANSWERED = [
    {"role": "user", "content": "Weather in Paris?"},
    {"role": "assistant", "tool_calls": [{"id": "c1", "type": "function",
                                          "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}]},
    {"role": "tool", "tool_call_id": "c1", "content": '{"sky": "sunny"}'},
]


def test_a_repeat_of_an_answered_call_is_withheld_and_the_turn_is_text() -> None:
    chat_model, engine = model(hermes_call("get_weather", city="Paris"), chunks(("It is sunny.", SURE)))
    result = chat_model.chat(ANSWERED, tools=TOOLS)
    assert calls(result) == [] and result["choices"][0]["message"]["content"] == "It is sunny."
    assert result["toolwire"]["notes"][0]["policy"] == "repeat_calls"
    assert engine.constraints[1].tool_choice == "none"


@pytest.mark.parametrize("conversation", [
    ANSWERED[:2] + [{"role": "tool", "tool_call_id": "c1", "content": '{"error": "timeout"}'}],  # a retry
    ANSWERED + [{"role": "assistant", "content": "Sunny."}, {"role": "user", "content": "And now?"}],  # fresh data
])
def test_repeats_stay_when_legitimate_or_switched_off(conversation) -> None:  # type: ignore[no-untyped-def]
    chat_model, _ = model(hermes_call("get_weather", city="Paris"), hermes_call("get_weather", city="Paris"))
    assert calls(chat_model.chat(conversation, tools=TOOLS)) == [("get_weather", {"city": "Paris"})]
    chat_model, _ = model(hermes_call("get_weather", city="Paris"), hermes_call("get_weather", city="Paris"))
    assert calls(chat_model.chat(ANSWERED, tools=TOOLS, policies={"repeat_calls": "allow"})) == [
        ("get_weather", {"city": "Paris"})]


# -- one code path for streamed and non-streamed answers -------------------------------------------

SCENARIOS = {
    "further calls": [hermes_call("get_weather", city="Paris"), hermes_call("get_weather", city="Tokyo"),
                      hermes_call("get_weather", city=("x", UNSURE))],
    "repair": [FENCED, hermes_call("get_weather", city="Paris"), hermes_call("get_weather", city="Paris")],
    "unsupported repair": [FENCED, hermes_call("get_weather", city=("x", UNSURE)), chunks(('"}}\n```', SURE))],
    "text": [chunks(("Hello", SURE), (" there.", SURE))],
}


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_streamed_deltas_reassemble_to_the_non_streamed_message(scenario: str) -> None:
    whole = ask(model(*SCENARIOS[scenario])[0])
    stream = list(ask(model(*SCENARIOS[scenario])[0], stream=True, include_usage=True))
    content, tool_calls = "", []
    for chunk in stream[1:-2]:
        delta = chunk["choices"][0]["delta"]
        content += delta.get("content") or ""
        for part in delta.get("tool_calls") or []:
            if "id" in part:
                tool_calls.append({"id": part["id"], "name": part["function"]["name"], "arguments": ""})
            tool_calls[part["index"]]["arguments"] += part["function"]["arguments"]
    message = whole["choices"][0]["message"]
    assert (content or None) == message["content"]
    assert [(c["name"], c["arguments"]) for c in tool_calls] == [
        (c["function"]["name"], c["function"]["arguments"]) for c in message.get("tool_calls") or []]
    assert stream[-2]["choices"][0]["finish_reason"] == whole["choices"][0]["finish_reason"]
    assert stream[-2].get("toolwire") == whole.get("toolwire")
    assert stream[-1]["usage"] == whole["usage"]


def test_max_tokens_bounds_the_whole_turn() -> None:
    chat_model, engine = model(hermes_call("get_weather", city="Paris"), hermes_call("get_weather", city="Tokyo"))
    result = ask(chat_model, max_tokens=6)
    assert result["usage"]["completion_tokens"] <= 6
