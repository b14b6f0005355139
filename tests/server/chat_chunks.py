"""Chat answers as data for the API translation tests: a `chat.completion` dict and the
`chat.completion.chunk` dicts that stream it, with text split at every character (the
worst split) as `model.chat(stream=True)` may split it."""

from __future__ import annotations

from typing import Any

ID = "chatcmpl-0123456789abcdef01234567"
CREATED = 1_700_000_000
MODEL = "smollm2-135m"
USAGE = {"prompt_tokens": 40, "completion_tokens": 12, "total_tokens": 52, "prompt_tokens_details": {"cached_tokens": 30},
         "completion_tokens_details": {"rejected_prediction_tokens": 0}}
NOTES = {"notes": [{"kind": "schema_relaxed", "tool": "get_weather", "change": "dropped an empty enum"}]}


def call(index: int, name: str, arguments: str) -> dict[str, Any]:
    return {"id": f"call_{index}", "type": "function", "function": {"name": name, "arguments": arguments}}


def completion(*, content: str | None = None, reasoning: str = "", calls: list[dict[str, Any]] | None = None,
               finish_reason: str | None = None, notes: dict[str, Any] | None = None) -> dict[str, Any]:
    """What `model.chat(stream=False)` returns."""
    message: dict[str, Any] = {"role": "assistant", "content": content or None}
    if reasoning:
        message["reasoning_content"] = reasoning
    if calls:
        message["tool_calls"] = calls
    reason = finish_reason or ("tool_calls" if calls else "stop")
    answer = {"id": ID, "object": "chat.completion", "created": CREATED, "model": MODEL,
              "choices": [{"index": 0, "message": message, "finish_reason": reason, "logprobs": None}], "usage": USAGE}
    if notes:
        answer["toolwire"] = notes
    return answer


def chunks(answer: dict[str, Any]) -> list[dict[str, Any]]:
    """The chunks of `answer`, as `model.chat(stream=True, include_usage=True)` writes them."""
    head = {"id": ID, "object": "chat.completion.chunk", "created": CREATED, "model": MODEL}

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {**head, "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}]}

    choice = answer["choices"][0]
    message = choice["message"]
    out = [chunk({"role": "assistant", "content": ""})]
    out += [chunk({"reasoning_content": char}) for char in message.get("reasoning_content") or ""]
    out += [chunk({"content": char}) for char in message.get("content") or ""]
    for index, item in enumerate(message.get("tool_calls") or []):
        out.append(chunk({"tool_calls": [{"index": index, "id": item["id"], "type": "function",
                                          "function": {"name": item["function"]["name"], "arguments": ""}}]}))
        out += [chunk({"tool_calls": [{"index": index, "function": {"arguments": char}}]})
                for char in item["function"]["arguments"]]
    out.append(chunk({}, choice["finish_reason"]))
    if answer.get("toolwire"):
        out[-1]["toolwire"] = answer["toolwire"]
    out.append({**head, "choices": [], "usage": answer["usage"]})
    return out


ANSWERS = {
    "text": completion(content="Hello there."),
    "call": completion(calls=[call(0, "get_weather", '{"city": "Paris"}')]),
    "text_and_calls": completion(content="Let me check.", calls=[
        call(0, "get_weather", '{"city": "Paris"}'), call(1, "get_time", '{"zone": "Asia/Tokyo"}')]),
    "reasoning": completion(reasoning="The user wants weather.", content="Sunny.",
                            calls=[call(0, "get_weather", '{"city": "Oslo"}')]),
    "no_arguments": completion(calls=[call(0, "now", "{}")]),
    "notes": completion(calls=[call(0, "get_weather", '{"city": "Lima"}')], notes=NOTES),
    "cut_off": completion(content="A long story that", finish_reason="length"),
    "empty": completion(),
}
