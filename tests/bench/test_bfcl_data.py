"""BFCL data loading, sampling and the AST checker wiring, on real BFCL entries."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytest.importorskip("bfcl_eval", reason="install with `pip install --no-deps bfcl-eval`")

from toolwire.bench.bfcl_convert import checker_calls, to_tools  # noqa: E402
from toolwire.bench.bfcl_data import CATEGORIES, Entry, check, load_category, sample  # noqa: E402
from toolwire.errors import ToolwireError  # noqa: E402
from toolwire.schema.jsonschema import normalize_parameters  # noqa: E402


def _entry(category: str, entry_id: str) -> Entry:
    return next(e for e in load_category(category) if e.id == entry_id)


def _score(entry: Entry, calls: list[tuple[str, str]], sanitize: bool = False) -> tuple[bool, str | None]:
    return check(entry, checker_calls(calls, to_tools(entry.functions, sanitize=sanitize)))


@pytest.mark.parametrize("category", CATEGORIES)
def test_every_category_loads_with_answers_and_convertible_tools(category: str) -> None:
    entries = load_category(category)
    assert len(entries) >= 200
    for entry in entries:
        assert entry.category == category and entry.messages and entry.functions
        assert bool(entry.answers) == (category != "irrelevance")
        for tool in to_tools(entry.functions).tools:
            normalize_parameters(tool["function"]["parameters"], where=tool["function"]["name"])


def test_unknown_category_is_an_error() -> None:
    with pytest.raises(ToolwireError, match="unknown BFCL category"):
        load_category("live_simple")


def test_sample_is_evenly_spaced_and_deterministic() -> None:
    entries = load_category("simple_python")
    picked = sample(entries, 4)
    assert [e.id for e in picked] == ["simple_python_0", "simple_python_100", "simple_python_200", "simple_python_300"]
    assert sample(entries, 4) == picked
    assert sample(entries, None) == list(entries)
    assert sample(entries, 10_000) == list(entries)
    assert sample(entries, 0) == []


def test_checker_is_imported_without_bfcl_model_config() -> None:
    """In a fresh interpreter: other tests may import torch (xgrammar) themselves."""
    script = """
import sys
from toolwire.bench.bfcl_convert import checker_calls, to_tools
from toolwire.bench.bfcl_data import check, load_category
entry = next(e for e in load_category("simple_python") if e.id == "simple_python_1")
print(check(entry, checker_calls([("math.factorial", '{"number": 5}')], to_tools(entry.functions))))
print("toolwire stub" in (sys.modules["bfcl_eval.constants.model_config"].__doc__ or ""))
print("anthropic" in sys.modules, "torch" in sys.modules)
"""
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert run.stdout.split("\n")[:3] == ["(True, None)", "True", "False False"]


@pytest.mark.parametrize(
    ("calls", "passed", "error"),
    [
        ([("math.factorial", '{"number": 5}')], True, None),
        ([("math.factorial", '{"number": 6}')], False, "value_error:others"),
        ([("math.factorial", '{"number": "5"}')], False, "type_error:simple"),
        ([("math.fact", '{"number": 5}')], False, "simple_function_checker:wrong_func_name"),
        ([("math.factorial", '{"number": 5}')] * 2, False, "simple_function_checker:wrong_count"),
        ([("math.factorial", '{"number": 5')], False, "decode:arguments_not_json"),
        ([], False, "decode:no_call"),
    ],
)
def test_simple_entry(calls: list[tuple[str, str]], passed: bool, error: str | None) -> None:
    assert _score(_entry("simple_python", "simple_python_1"), calls) == (passed, error)


def test_sanitised_names_are_mapped_back_for_the_checker() -> None:
    entry = _entry("simple_python", "simple_python_1")
    assert _score(entry, [("math_factorial", '{"number": 5}')], sanitize=True) == (True, None)
    assert _score(entry, [("math_factorial", '{"number": 5}')], sanitize=False)[0] is False


def test_optional_parameter_values_and_string_normalisation() -> None:
    entry = _entry("simple_python", "simple_python_0")  # unit: ["units", ""]
    assert _score(entry, [("calculate_triangle_area", '{"base": 10, "height": 5}')])[0]
    assert _score(entry, [("calculate_triangle_area", '{"base": 10, "height": 5, "unit": "Units"}')])[0]
    assert not _score(entry, [("calculate_triangle_area", '{"base": 10, "height": 5, "unit": "cm"}')])[0]


def test_parallel_entry_needs_every_call_in_any_order() -> None:
    entry = _entry("parallel", "parallel_0")
    swift = ("spotify.play", '{"artist": "Taylor Swift", "duration": 20}')
    maroon = ("spotify.play", '{"artist": "Maroon 5", "duration": 15}')
    assert _score(entry, [maroon, swift]) == (True, None)
    assert _score(entry, [swift])[0] is False
    assert _score(entry, [swift, swift])[0] is False


def test_multiple_entry_needs_the_right_function() -> None:
    entry = _entry("multiple", "multiple_0")
    (answer,) = entry.answers
    name, params = next(iter(answer.items()))
    arguments = {param: values[0] for param, values in params.items() if values[0] != ""}
    import json

    assert _score(entry, [(name, json.dumps(arguments))]) == (True, None)
    other = next(f["name"] for f in entry.functions if f["name"] != name)
    assert _score(entry, [(other, json.dumps(arguments))])[0] is False


def test_irrelevance_passes_only_without_a_call() -> None:
    entry = load_category("irrelevance")[0]
    name = entry.functions[0]["name"]
    assert _score(entry, []) == (True, None)
    assert _score(entry, [(name, "{}")]) == (False, "irrelevance:called_a_function")
    assert _score(entry, [(name, "{not json")]) == (True, None)  # no decodable call, as in BFCL
