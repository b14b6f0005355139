"""doctor: the engine check in a subprocess, its report, and what happens when the engine
crashes (a real child process killed by a real signal)."""

from __future__ import annotations

import os
import signal
import subprocess
import textwrap
from pathlib import Path

import pytest

from tests.server.serving import free_port, serve_command
from toolwire.doctor import CheckResult, check_engine
from toolwire.models import resolve_model


def crashing_llama_cpp(folder: Path, signame: str) -> str:
    """A `llama_cpp` package whose import kills the process with `signame`, as a broken
    native build does; returns a PYTHONPATH that puts it first."""
    package = folder / "llama_cpp"
    package.mkdir()
    (package / "__init__.py").write_text(textwrap.dedent(f"""
        import os, signal
        os.kill(os.getpid(), signal.{signame})
    """))
    return os.pathsep.join([str(folder), *filter(None, [os.environ.get("PYTHONPATH")])])


@pytest.mark.model
def test_check_decodes_and_reports_versions_and_speed() -> None:
    result = check_engine(resolve_model("smollm2-135m"), tokens=8)
    assert result.ok, result.diagnosis()
    facts = result.facts()
    assert facts["llama_cpp_python"] and facts["llguidance"] and facts["toolwire"]
    assert "AVX" in facts["system_info"] or "NEON" in facts["system_info"]
    assert facts["tokens"] == 8 and facts["tokens_per_second"] > 0
    report = result.report()
    assert "tokens/s" in report and "llama-cpp-python" in report and report.rstrip().splitlines()[-1].startswith("ok:")


@pytest.mark.parametrize("signame", ["SIGSEGV", "SIGILL"])
def test_a_crashing_engine_is_reported_with_cause_and_fix(tmp_path, monkeypatch, signame) -> None:
    monkeypatch.setenv("PYTHONPATH", crashing_llama_cpp(tmp_path, signame))
    result = check_engine(resolve_model("smollm2-135m"), tokens=4, timeout=120)
    assert not result.ok
    assert result.signal_name == signame
    diagnosis = result.diagnosis()
    assert f"killed by {signame}" in diagnosis
    assert "during importing llama-cpp-python" in diagnosis
    assert "pip install --force-reinstall" in diagnosis
    assert "FAILED" in result.report()


def test_amx_in_the_build_is_named_as_the_cause() -> None:
    result = CheckResult(
        stages={"started": {}, "versions": {"build": {"source": "package index", "toolwire_build": False}},
                "library": {"system_info": "CPU : AVX2 = 1 | AVX512 = 1 | AMX_INT8 = 1 |"}, "model": {}},
        returncode=-signal.SIGSEGV)
    text = result.diagnosis()
    assert "during the first decode" in text and "AMX" in text and "GGML_NATIVE off" in text


def test_serve_refuses_to_start_on_a_crashing_engine(tmp_path) -> None:
    env = dict(os.environ, PYTHONPATH=crashing_llama_cpp(tmp_path, "SIGSEGV"))
    port = free_port()
    done = subprocess.run([*serve_command(), "--model", "smollm2-135m", "--port", str(port)],
                          env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 1
    assert "cannot serve" in done.stderr and "SIGSEGV" in done.stderr
    assert "serving" not in done.stdout
