"""`toolwire render` and `toolwire parse`, run as real subprocesses.

Most tests run `toolwire.cli.main` with only this command module registered (the other
subcommands are written elsewhere and may not exist yet); `test_full_cli` runs
`python -m toolwire.cli` itself once every command module exists."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.formats.harness import ADD_TODO, WEATHER
from toolwire import cli
from toolwire.formats.jinja import JinjaFormat
from toolwire.formats.base import RenderOptions
from toolwire.types import parse_messages

ROOT = Path(__file__).resolve().parents[2]
PROPOSAL = (ROOT / "tests" / "formats" / "fixtures" / "chatml_functions_todo.txt").read_text()
# toolwire closes the `tool` turn with <|im_end|>, where the proposal's text has none
# (see the chatml_functions module docstring and tests/formats/test_chatml_functions.py).
PROPOSAL_RENDERED = PROPOSAL.replace('{"status": "OK"}\n<|im_start|>', '{"status": "OK"}<|im_end|>\n<|im_start|>')
TODO_NAMESPACE = "Plugin for managing a TODO list, you can add, remove and view your TODOs."
TODO_TOOLS = {"tools": [ADD_TODO.model_dump(exclude_none=True)], "namespaces": {"todo": TODO_NAMESPACE}}
TODO_MESSAGES = [
    {"role": "system", "content": "You are a helpful assistant"},
    {"role": "user", "content": "Add X to my todo list"},
    {"role": "assistant", "tool_calls": [{"id": "c1", "function": {"name": "todo.addTodo", "arguments": {"todo": "X"}}}]},
    {"role": "tool", "tool_call_id": "c1", "content": '{"status": "OK"}'},
    {"role": "assistant", "content": "Okay, I've added!."},
]
HERMES_OUTPUT = 'Let me check.\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>'

# The real `cli.main`, with a parser built from this command module only.
ONLY_THIS_MODULE = (
    "import sys; from toolwire import cli; "
    "cli.COMMAND_MODULES = ('toolwire.commands.render_parse',); sys.exit(cli.main(sys.argv[1:]))"
)


def run(*args: str | Path, stdin: str | bytes = b"", cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    data = stdin.encode() if isinstance(stdin, str) else stdin
    process = subprocess.run([sys.executable, "-c", ONLY_THIS_MODULE, *map(str, args)], input=data,
                             capture_output=True, cwd=cwd, timeout=60)
    return subprocess.CompletedProcess(process.args, process.returncode,
                                       process.stdout.decode(), process.stderr.decode())


def write_json(path: Path, data: object) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


@pytest.fixture
def todo_files(tmp_path: Path) -> tuple[Path, Path]:
    return write_json(tmp_path / "tools.json", TODO_TOOLS), write_json(tmp_path / "conversation.json", TODO_MESSAGES)


# --- render -----------------------------------------------------------------------------


def test_render_proposal_todo_example_byte_for_byte(todo_files):
    tools, messages = todo_files
    done = run("render", "--format", "chatml-functions", "--tools", tools, "--messages", messages,
               "--no-generation-prompt")
    assert done.returncode == 0, done.stderr
    assert done.stdout == PROPOSAL_RENDERED
    assert done.stderr == ""


def test_render_ends_with_generation_prompt_by_default(todo_files):
    tools, messages = todo_files
    done = run("render", "--format", "chatml-functions", "--tools", tools, "--messages", messages)
    assert done.returncode == 0, done.stderr
    assert done.stdout == PROPOSAL_RENDERED + "<|im_start|>"


def test_render_tools_list_and_messages_object(tmp_path):
    tools = write_json(tmp_path / "tools.json", [WEATHER.model_dump(exclude_none=True)])
    messages = write_json(tmp_path / "conversation.json", {"messages": [{"role": "user", "content": "Weather?"}]})
    done = run("render", "--format", "hermes", "--tools", tools, "--messages", messages)
    assert done.returncode == 0, done.stderr
    assert '<tools>\n{"type": "function", "function": {"name": "get_weather"' in done.stdout
    assert done.stdout.endswith("<|im_start|>user\nWeather?<|im_end|>\n<|im_start|>assistant\n")


def test_render_jinja_model_template(tmp_path, todo_files):
    tools, messages = todo_files
    template = ROOT / "tests" / "templates" / "qwen2.5.jinja"
    done = run("render", "--format", "jinja", "--model-template", template, "--tools", tools, "--messages", messages)
    assert done.returncode == 0, done.stderr
    expected = JinjaFormat(template.read_text()).render(parse_messages(TODO_MESSAGES), [ADD_TODO], RenderOptions())
    assert done.stdout == expected


# --- parse ------------------------------------------------------------------------------


def test_parse_chatml_functions_positional_call_with_tools(todo_files):
    tools, _ = todo_files
    done = run("parse", "--format", "chatml-functions", "--tools", tools, stdin='function\ntodo.addTodo("X")')
    assert done.returncode == 0, done.stderr
    message = json.loads(done.stdout)
    assert message["role"] == "assistant" and message["content"] is None
    (call,) = message["tool_calls"]
    assert call["type"] == "function" and re.fullmatch(r"call_[A-Za-z0-9]{24}", call["id"])
    assert call["function"]["name"] == "todo.addTodo"
    assert json.loads(call["function"]["arguments"]) == {"todo": "X"}


def test_parse_positional_call_without_tools_stays_content():
    done = run("parse", "--format", "chatml-functions", stdin='function\ntodo.addTodo("X")')
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"role": "assistant", "content": 'todo.addTodo("X")'}


def test_parse_hermes_text_and_call():
    done = run("parse", "--format", "hermes", stdin=HERMES_OUTPUT)
    assert done.returncode == 0, done.stderr
    message = json.loads(done.stdout)
    assert message["content"] == "Let me check."
    assert [(c["function"]["name"], json.loads(c["function"]["arguments"])) for c in message["tool_calls"]] == [
        ("get_weather", {"city": "Paris"})]
    assert done.stdout.count("\n") == 1  # one line of JSON


def test_parse_gives_each_call_a_fresh_id_in_the_format_shape():
    output = '[TOOL_CALLS][{"name": "get_time", "arguments": {}}, {"name": "get_time", "arguments": {}}]'
    first, second = (json.loads(run("parse", "--format", "mistral", stdin=output).stdout) for _ in range(2))
    ids = [call["id"] for message in (first, second) for call in message["tool_calls"]]
    assert all(re.fullmatch(r"[A-Za-z0-9]{9}", call_id) for call_id in ids)  # mistral's 9 alphanumerics
    assert len(set(ids)) == 4


NEW_FORMAT_OUTPUTS = {
    "kimi-k2": '<|tool_calls_section_begin|><|tool_call_begin|>functions.get_weather:0<|tool_call_argument_begin|>'
               '{"city": "Paris"}<|tool_call_end|><|tool_calls_section_end|>',
    "mistral-v11": '[TOOL_CALLS]get_weather[CALL_ID]a1B2c3D4e[ARGS]{"city": "Paris"}',
    "magistral": '[THINK]Use the tool.[/THINK][TOOL_CALLS]get_weather[ARGS]{"city": "Paris"}',
    "llama4-pythonic": '[get_weather(city="Paris")]',
    "lfm2": '<|tool_call_start|>[get_weather(city="Paris")]<|tool_call_end|>',
    "functiongemma": "<start_function_call>call:get_weather{city:<escape>Paris<escape>}<end_function_call>",
    "gemma-4": '<|channel>thought\nUse the tool.<channel|><|tool_call>call:get_weather{city:<|"|>Paris<|"|>}<tool_call|>',
    "phi-4-mini": 'functools[{"name": "get_weather", "arguments": {"city": "Paris"}}]',
    "command-r7b": '<|START_THINKING|>Use the tool.<|END_THINKING|><|START_ACTION|>[{"tool_call_id": "0", '
                   '"tool_name": "get_weather", "parameters": {"city": "Paris"}}]<|END_ACTION|>',
    "apertus": '<|inner_prefix|>Use the tool.<|inner_suffix|><|tools_prefix|>[{"get_weather": {"city": "Paris"}}]<|tools_suffix|>',
    "functionary-v3.1": '<function=get_weather>{"city": "Paris"}</function>',
    "functionary-v3.2": 'get_weather\n{"city": "Paris"}',
}
MODEL_IDS = {"kimi-k2": "functions.get_weather:0", "mistral-v11": "a1B2c3D4e"}


@pytest.mark.parametrize("name,output", NEW_FORMAT_OUTPUTS.items(), ids=NEW_FORMAT_OUTPUTS.keys())
def test_render_and_parse_every_issue_14_format(tmp_path, name, output):
    tools = write_json(tmp_path / "tools.json", [WEATHER.model_dump(exclude_none=True)])
    messages = write_json(tmp_path / "messages.json", [{"role": "user", "content": "Weather in Paris?"}])
    rendered = run("render", "--format", name, "--tools", tools, "--messages", messages)
    assert rendered.returncode == 0 and "Weather in Paris?" in rendered.stdout and "get_weather" in rendered.stdout, rendered.stderr
    parsed = run("parse", "--format", name, "--tools", tools, stdin=output)
    assert parsed.returncode == 0, parsed.stderr
    message = json.loads(parsed.stdout)
    assert [(c["function"]["name"], json.loads(c["function"]["arguments"])) for c in message["tool_calls"]] == [
        ("get_weather", {"city": "Paris"})]
    assert message.get("reasoning_content") == ("Use the tool." if "Use the tool." in output else None)
    if name in MODEL_IDS:  # the id the model wrote is the call's id
        assert message["tool_calls"][0]["id"] == MODEL_IDS[name]


def test_parse_text_only_has_no_tool_calls():
    done = run("parse", "--format", "hermes", stdin="Hello there.")
    assert json.loads(done.stdout) == {"role": "assistant", "content": "Hello there."}


# --- bad input: one line on stderr, exit code 2 -------------------------------------------

BAD_TOOLS = {
    "missing": (None, "no such file"),
    "not_json": ('{"tools": [', "not JSON"),
    "wrong_shape": ('"get_weather"', "expected a list of tools"),
    "unknown_key": ('{"tools": [], "namespace": {}}', "unknown key 'namespace'"),
    "namespaces_not_strings": ('{"tools": [], "namespaces": {"todo": 1}}', "namespaces"),
    # types._field_path drops `.function` here (it takes "function" for the legacy role tag).
    "invalid_tool": ('[{"type": "function", "function": {"description": "no name"}}]', "tools[0]"),
    "invalid_schema": ('[{"type": "function", "function": {"name": "f", "parameters": {"type": "string"}}}]',
                       "tools[0].function.parameters"),
    "duplicate_name": ('[{"function": {"name": "f"}}, {"function": {"name": "f"}}]', "duplicate tool name 'f'"),
}
BAD_MESSAGES = {
    "missing": (None, "no such file"),
    "not_json": ("[{'role': 'user'}]", "not JSON"),
    "wrong_shape": ('{"role": "user", "content": "hi"}', "expected a list of messages"),
    "unknown_role": ('[{"role": "robot", "content": "hi"}]', "messages[0]"),
    "invalid_arguments": ('[{"role": "assistant", "tool_calls": [{"id": "c", "function": '
                          '{"name": "f", "arguments": "{bad"}}]}]', "messages[0].tool_calls[0].function.arguments"),
}


def assert_one_line_error(done: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert done.stdout == ""
    assert done.stderr.endswith("\n") and done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith("toolwire: error: "), done.stderr
    for fragment in fragments:
        assert fragment in done.stderr, done.stderr


@pytest.mark.parametrize("content,expected", BAD_TOOLS.values(), ids=BAD_TOOLS.keys())
def test_bad_tools_file(tmp_path, content, expected):
    tools = tmp_path / "tools.json"
    if content is not None:
        tools.write_text(content)
    messages = write_json(tmp_path / "conversation.json", TODO_MESSAGES)
    for command in (["render", "--messages", messages], ["parse"]):
        done = run(*command, "--format", "hermes", "--tools", tools)
        assert_one_line_error(done, f"{tools}: ", expected)


@pytest.mark.parametrize("content,expected", BAD_MESSAGES.values(), ids=BAD_MESSAGES.keys())
def test_bad_messages_file(tmp_path, content, expected):
    messages = tmp_path / "conversation.json"
    if content is not None:
        messages.write_text(content)
    done = run("render", "--format", "hermes", "--messages", messages)
    assert_one_line_error(done, f"{messages}: ", expected)


def test_not_json_names_line_and_column(tmp_path):
    messages = tmp_path / "conversation.json"
    messages.write_text('[\n  {"role": "user",}\n]')
    assert_one_line_error(run("render", "--format", "hermes", "--messages", messages), "line 2, column 19")


def test_directory_is_not_a_file(tmp_path):
    assert_one_line_error(run("render", "--format", "hermes", "--messages", tmp_path), f"{tmp_path}: ", "directory")


def test_stdin_not_utf8():
    assert_one_line_error(run("parse", "--format", "hermes", stdin=b"\xff\xfe"), "stdin: not UTF-8")


def test_model_template_only_with_jinja(tmp_path, todo_files):
    _, messages = todo_files
    template = ROOT / "tests" / "templates" / "qwen2.5.jinja"
    assert_one_line_error(run("render", "--format", "jinja", "--messages", messages), "--model-template")
    assert_one_line_error(run("render", "--format", "hermes", "--model-template", template, "--messages", messages),
                          "only used with --format jinja")
    missing = tmp_path / "model.gguf"
    assert_one_line_error(run("render", "--format", "jinja", "--model-template", missing, "--messages", messages),
                          f"{missing}: no such file")


# --- the whole command line -----------------------------------------------------------------

MISSING_MODULES = [module for module in cli.COMMAND_MODULES if importlib.util.find_spec(module) is None]


@pytest.mark.skipif(bool(MISSING_MODULES), reason=(
    f"`python -m toolwire.cli` imports every command module; not written yet: {', '.join(MISSING_MODULES)}"))
def test_full_cli(todo_files):
    tools, messages = todo_files
    render = subprocess.run([sys.executable, "-m", "toolwire.cli", "render", "--format", "chatml-functions",
                             "--tools", str(tools), "--messages", str(messages), "--no-generation-prompt"],
                            capture_output=True, text=True, timeout=60)
    assert render.returncode == 0, render.stderr
    assert render.stdout == PROPOSAL_RENDERED
    parse = subprocess.run([sys.executable, "-m", "toolwire.cli", "parse", "--format", "hermes"],
                           input=HERMES_OUTPUT, capture_output=True, text=True, timeout=60)
    assert parse.returncode == 0, parse.stderr
    assert json.loads(parse.stdout)["tool_calls"][0]["function"]["name"] == "get_weather"


# --- issue 14 (part 1): every new format renders and parses from the command line -------------

ISSUE_14_REPLIES = {
    "qwen3": '<think>\nCall it.\n</think>\n\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>',
    "qwen3-coder": "<tool_call>\n<function=get_weather>\n<parameter=city>\nParis\n</parameter>\n</function>\n</tool_call>",
    "glm-4.5": "\n<think>Call it.</think>\n<tool_call>get_weather<arg_key>city</arg_key>\n<arg_value>Paris</arg_value></tool_call>",
    "glm-4.7": "<think>Call it.</think><tool_call>get_weather<arg_key>city</arg_key><arg_value>Paris</arg_value></tool_call>",
    "minimax-m2": ('<think>\nCall it.\n</think>\n\n<minimax:tool_call>\n<invoke name="get_weather">\n'
                   '<parameter name="city">Paris</parameter>\n</invoke>\n</minimax:tool_call>'),
    "seed-oss": ("<seed:think>Call it.</seed:think>\n<seed:tool_call>\n<function=get_weather>\n"
                 "<parameter=city>Paris</parameter>\n</function>\n</seed:tool_call>"),
    "deepseek-v3.1": ('<think>Call it.</think><｜tool▁calls▁begin｜><｜tool▁call▁begin｜>get_weather<｜tool▁sep｜>'
                      '{"city": "Paris"}<｜tool▁call▁end｜><｜tool▁calls▁end｜>'),
    "deepseek-r1": ('<think>\nCall it.\n</think>\n\n<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather\n'
                    '```json\n{"city": "Paris"}\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜>'),
    "harmony": ('<|channel|>analysis<|message|>Call it.<|end|><|start|>assistant to=functions.get_weather'
                '<|channel|>commentary json<|message|>{"city": "Paris"}'),
    "nemotron": '<think>\nCall it.\n</think>\n\n<TOOLCALL>[{"name": "get_weather", "arguments": {"city": "Paris"}}]</TOOLCALL>',
    "granite-3": '<think>Call it.</think><|tool_call|>[{"name": "get_weather", "arguments": {"city": "Paris"}}]',
    "granite-4": '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>',
    "smollm3": '<think>\nCall it.\n</think>\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>',
}


@pytest.mark.parametrize("name", ISSUE_14_REPLIES, ids=str)
def test_render_and_parse_issue_14_formats(name, tmp_path, capsys, monkeypatch):
    tools = write_json(tmp_path / "tools.json", [WEATHER.model_dump(exclude_none=True)])
    messages = write_json(tmp_path / "conversation.json", [{"role": "user", "content": "Weather in Paris?"}])
    assert cli.main(["render", "--format", name, "--tools", str(tools), "--messages", str(messages)]) == 0
    prompt = capsys.readouterr().out
    assert "Weather in Paris?" in prompt and "get_weather" in prompt
    stdin = tmp_path / "output.txt"
    stdin.write_text(ISSUE_14_REPLIES[name], encoding="utf-8")
    with stdin.open("rb") as data:
        monkeypatch.setattr(sys, "stdin", type("Stdin", (), {"buffer": data})())
        assert cli.main(["parse", "--format", name, "--tools", str(tools)]) == 0
    message = json.loads(capsys.readouterr().out)
    assert [(c["function"]["name"], json.loads(c["function"]["arguments"])) for c in message["tool_calls"]] == [
        ("get_weather", {"city": "Paris"})]
    assert message["content"] is None
