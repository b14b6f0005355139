"""Is the engine healthy on this machine? Load it in a subprocess, decode a few tokens, and
report what a bug report needs, or, when the subprocess dies, why and how to fix it.

A llama.cpp built with instructions the machine cannot run dies with a signal (SIGILL,
or SIGSEGV on AMX tiles in some VMs: FINDINGS.md #6) inside native code, taking the
Python process with it. The check therefore runs in a child (`python -m toolwire.doctor
MODEL`), which prints one JSON line per stage as it gets there (versions, the build's
CPU features, model loaded, decode done); the parent reads them, so it knows how far the
child got when it died. `toolwire doctor` prints the report; `toolwire serve` runs the
same check before it binds its port.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = ["CheckResult", "check_engine", "installed_build", "main"]

PROMPT = "<|im_start|>user\nCount from one to ten.<|im_end|>\n<|im_start|>assistant\n"
DEFAULT_TOKENS = 32

_STAGES = {
    "started": "starting Python",
    "versions": "importing llama-cpp-python (loading libllama and ggml)",
    "library": "loading the model",
    "model": "the first decode",
    "decoded": "shutting down",
}
"""Last stage the child reported -> what it was doing next (where it died)."""


@dataclass
class CheckResult:
    """What the child reported, stage by stage, and how it ended."""

    stages: dict[str, dict[str, Any]] = field(default_factory=dict)
    returncode: int | None = None
    stderr: str = ""
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and "decoded" in self.stages

    @property
    def signal_name(self) -> str | None:
        if self.returncode is not None and self.returncode < 0:
            try:
                return signal.Signals(-self.returncode).name
            except ValueError:
                return f"signal {-self.returncode}"
        return None

    def facts(self) -> dict[str, Any]:
        """Everything the stages reported, merged."""
        merged: dict[str, Any] = {}
        for stage in self.stages.values():
            merged.update(stage)
        return merged

    def diagnosis(self) -> str:
        """One paragraph: what went wrong, the cause visible from here, and the fix."""
        if self.ok:
            return "The engine loads and decodes on this machine."
        facts = self.facts()
        last = list(self.stages)[-1] if self.stages else "started"
        doing = _STAGES.get(last, last)
        how = (f"was killed by {self.signal_name}" if self.signal_name
               else f"exited with status {self.returncode}" if self.returncode is not None else "did not finish")
        text = f"The llama.cpp engine {how} during {doing}."
        if self.signal_name in ("SIGILL", "SIGSEGV", "SIGBUS"):
            features = facts.get("system_info", "")
            build = facts.get("build") or {}
            cause = (" Its build uses AMX tile instructions, which fault in some virtual machines although the"
                     " CPU reports them" if "AMX" in features else
                     " The build uses CPU instructions this machine (or its hypervisor) cannot run")
            text += (f"{cause} (build features: {features.strip() or 'unknown'}; installed from:"
                     f" {build.get('source', 'unknown')}).")
            if build.get("toolwire_build"):
                text += (" Rebuild it for an older instruction set: TOOLWIRE_CPU_FEATURES=sse4_2,avx,avx2,fma,f16c,bmi2"
                         " pip install --force-reinstall --no-deps -e .")
            else:
                text += (" Reinstall toolwire so that it builds llama.cpp for this CPU (GGML_NATIVE off, AMX off):"
                         " pip install --force-reinstall --no-deps -e .  (from the toolwire checkout)")
        elif self.stderr.strip():
            text += " Its last error output: " + self.stderr.strip().splitlines()[-1][:400]
        return text

    def report(self) -> str:
        """The facts a bug report needs, one per line, then the diagnosis."""
        facts = self.facts()
        lines = [
            f"toolwire          {facts.get('toolwire', '?')}",
            f"llama-cpp-python  {facts.get('llama_cpp_python', '?')}",
            f"llguidance        {facts.get('llguidance', '?')}",
            f"python            {facts.get('python', '?')}",
            f"cpu               {facts.get('cpu', '?')}",
        ]
        build = facts.get("build") or {}
        lines.append(f"engine build      {build.get('source', '?')}")
        if build.get("cmake_args"):
            lines.append(f"build flags       {' '.join(build['cmake_args'])}")
        lines.append(f"system info       {facts.get('system_info', '?').strip()}")
        lines.append(f"model cache       {facts.get('model_cache', '?')}")
        if "model" in facts:
            lines.append(f"model             {facts['model']} (load {facts.get('load_seconds', 0):.2f} s)")
        if "tokens_per_second" in facts:
            lines.append(f"decode            {facts['tokens']} tokens, {facts['tokens_per_second']:.1f} tokens/s")
        lines.append("")
        lines.append(("ok: " if self.ok else "FAILED: ") + self.diagnosis())
        return "\n".join(lines)


def check_engine(model_path: str | Path, *, tokens: int = DEFAULT_TOKENS, timeout: float = 300,
                 python: str = sys.executable) -> CheckResult:
    """Run the check child on `model_path` and collect what it reports."""
    started = time.perf_counter()
    command = [python, "-m", "toolwire.doctor", str(model_path), "--tokens", str(tokens)]
    result = CheckResult()
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as expired:
        result.stderr = f"no answer after {timeout:.0f} s"
        output = expired.stdout.decode() if isinstance(expired.stdout, bytes) else (expired.stdout or "")
    else:
        result.returncode, result.stderr, output = done.returncode, done.stderr, done.stdout
    for line in output.splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(record, dict) and "stage" in record:
            result.stages[record.pop("stage")] = record
    result.seconds = time.perf_counter() - started
    return result


def installed_build() -> dict[str, Any]:
    """Where the installed llama-cpp-python came from: toolwire's own cached build (with
    its CMake arguments) or something else, read from the installed distribution's
    `direct_url.json` (PEP 610), without importing it."""
    try:
        dist = metadata.distribution("llama-cpp-python")
    except metadata.PackageNotFoundError:
        return {"source": "not installed"}
    url = json.loads(dist.read_text("direct_url.json") or "{}").get("url", "")
    if not url.startswith("file://"):
        return {"source": "package index (built by pip with its default flags)", "toolwire_build": False}
    wheel = Path(url.removeprefix("file://"))
    args_file = wheel.parent / "cmake-args.txt"
    if args_file.is_file():
        return {"source": str(wheel), "toolwire_build": True, "cmake_args": args_file.read_text().split()}
    return {"source": str(wheel), "toolwire_build": False}


def _emit(stage: str, **facts: Any) -> None:
    print(json.dumps({"stage": stage, **facts}), flush=True)


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def _cpu() -> str:
    from toolwire.engine.build import cpu_flags

    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    flags = cpu_flags()
    shown = sorted(flag for flag in flags if flag.startswith(("avx", "amx")) or flag in ("fma", "f16c", "bmi2"))
    return f"{model or 'unknown'} ({os.cpu_count()} cores; {' '.join(shown)})"


def child(model_path: str, tokens: int) -> None:
    """The check itself (run in the child process)."""
    from toolwire.models import cache_dir

    _emit("started")
    _emit("versions", toolwire=_version("toolwire"), llama_cpp_python=_version("llama-cpp-python"),
          llguidance=_version("llguidance"), python=sys.version.split()[0], cpu=_cpu(),
          build=installed_build(), model_cache=str(cache_dir()))
    import llama_cpp

    _emit("library", system_info=llama_cpp.llama_print_system_info().decode("utf-8", "replace"))
    from toolwire.engine.llamacpp import LlamaEngine
    from toolwire.engine.sampling import SamplingParams

    started = time.perf_counter()
    engine = LlamaEngine(model_path, n_ctx=512)
    _emit("model", model=Path(model_path).name, load_seconds=time.perf_counter() - started)
    generation = engine.generate(PROMPT, sampling=SamplingParams(max_tokens=tokens))
    generation.text()
    usage = generation.usage
    _emit("decoded", tokens=usage.completion_tokens,
          tokens_per_second=usage.completion_tokens / max(usage.generation_seconds, 1e-9))
    engine.close()


def main(argv: list[str] | None = None) -> int:
    """`python -m toolwire.doctor MODEL [--tokens N]`: the child side of the check."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m toolwire.doctor")
    parser.add_argument("model")
    parser.add_argument("--tokens", type=int, default=DEFAULT_TOKENS)
    args = parser.parse_args(argv)
    child(args.model, args.tokens)
    return 0


if __name__ == "__main__":
    sys.exit(main())
