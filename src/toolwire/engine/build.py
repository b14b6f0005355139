"""How toolwire builds llama.cpp: which version, with which CPU flags, cached where.

llama-cpp-python ships no binary wheel on PyPI; pip compiles it, by default with
`GGML_NATIVE=ON` (`-march=native`). On Intel Xeons with AMX inside some VMs (Firecracker)
that build dies at the first decode with a general protection fault on `ldtilecfg`,
although CPUID, XCR0 and `arch_prctl(ARCH_REQ_XCOMP_PERM)` all report AMX as usable
(FINDINGS.md #6). So toolwire builds it itself, with `GGML_NATIVE=OFF` and each x86
feature switched on explicitly when this CPU has it (AVX2, FMA, F16C, AVX-512 and its
VNNI/VBMI/BF16 extensions, AVX-VNNI): every fast kernel that works stays, and AMX stays off.

The wheel is cached under a key made of the llama-cpp-python version, the platform and
the exact CMake arguments, and pip installs it as a direct `file://` requirement
(`_build/toolwire_backend.py`): a wheel built with other flags has another name and is never
reused by mistake, as pip's own wheel cache would.

Knobs (environment, read at install time):
- `TOOLWIRE_CPU_FEATURES`: comma-separated /proc/cpuinfo flags to build for instead of
  this CPU's (e.g. `avx,avx2,fma,f16c,bmi2,sse4_2` for a wheel any x86-64-v3 CPU runs);
- `CMAKE_ARGS`: appended after toolwire's arguments (so `-DGGML_CUDA=on` works) and part
  of the cache key;
- `TOOLWIRE_ENGINE_BUILD=pip`: leave llama-cpp-python to pip (a build you manage yourself);
- `TOOLWIRE_ENGINE_CACHE`: where wheels and binaries are kept (default
  `$XDG_CACHE_HOME/toolwire/engine`).

`llama-server` (for toolwire's gateway tests and for serving behind `toolwire serve
--upstream`) is built from the same sdist with the same CPU arguments, statically linked,
without its web UI and without network features (`toolwire build llama-server`).

Standard library only: the build backend loads this file by path, before any dependency
is installed.
"""

from __future__ import annotations

import hashlib
import os
import platform
import shlex
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping

__all__ = [
    "LLAMA_CPP_PYTHON_VERSION",
    "BuildPlan",
    "build_plan",
    "cache_root",
    "cpu_flags",
    "ensure_llama_server",
    "ensure_wheel",
    "llama_server_path",
    "requirement",
    "server_plan",
]

LLAMA_CPP_PYTHON_VERSION = "0.3.36"
"""The llama-cpp-python release toolwire builds (and whose vendored llama.cpp it uses)."""

_X86_FEATURES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("GGML_SSE42", ("sse4_2",)),
    ("GGML_AVX", ("avx",)),
    ("GGML_AVX2", ("avx2",)),
    ("GGML_FMA", ("fma",)),
    ("GGML_F16C", ("f16c",)),
    ("GGML_BMI2", ("bmi2",)),
    ("GGML_AVX_VNNI", ("avx_vnni",)),
    # ggml's AVX512 switch compiles with -mavx512f -mavx512cd -mavx512vl -mavx512dq -mavx512bw
    ("GGML_AVX512", ("avx512f", "avx512cd", "avx512vl", "avx512dq", "avx512bw")),
    ("GGML_AVX512_VBMI", ("avx512f", "avx512vbmi")),
    ("GGML_AVX512_VNNI", ("avx512f", "avx512_vnni")),
    ("GGML_AVX512_BF16", ("avx512f", "avx512_bf16")),
)
"""ggml CMake switch -> the /proc/cpuinfo flags it needs."""

_ALWAYS_OFF = ("GGML_AMX_TILE", "GGML_AMX_INT8", "GGML_AMX_BF16")
"""AMX kernels fault in some VMs that advertise AMX; the AVX-512 kernels are used instead."""


@dataclass(frozen=True)
class BuildPlan:
    """What toolwire builds: llama-cpp-python `version` with `cmake_args`; `key` names
    the cached result."""

    version: str
    cmake_args: tuple[str, ...]

    @property
    def key(self) -> str:
        text = "\n".join([self.version, sys.platform, platform.machine(), *self.cmake_args])
        return f"{self.version}-{hashlib.sha256(text.encode()).hexdigest()[:16]}"

    def directory(self) -> Path:
        return cache_root() / self.key


def cache_root(env: Mapping[str, str] = os.environ) -> Path:
    """Where built wheels and binaries are kept."""
    if env.get("TOOLWIRE_ENGINE_CACHE"):
        return Path(env["TOOLWIRE_ENGINE_CACHE"]).expanduser()
    base = env.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "toolwire" / "engine"


def cpu_flags(cpuinfo: str | None = None) -> frozenset[str]:
    """The CPU feature flags of this machine (Linux: the `flags` line of /proc/cpuinfo)."""
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text()
        except OSError:
            return frozenset()
    for line in cpuinfo.splitlines():
        if line.startswith("flags"):
            return frozenset(line.split(":", 1)[1].split())
    return frozenset()


def x86_cmake_args(flags: frozenset[str]) -> list[str]:
    """`-DGGML_NATIVE=OFF` and each x86 feature switch set from `flags`; AMX off."""
    args = ["-DGGML_NATIVE=OFF"]
    for switch, needs in _X86_FEATURES:
        args.append(f"-D{switch}={'ON' if all(flag in flags for flag in needs) else 'OFF'}")
    args += [f"-D{switch}=OFF" for switch in _ALWAYS_OFF]
    return args


def build_plan(env: Mapping[str, str] = os.environ) -> BuildPlan | None:
    """The build for this machine, or None where pip's own build is right: outside Linux
    x86-64 (ARM and macOS builds are unaffected) or when `TOOLWIRE_ENGINE_BUILD=pip`."""
    if env.get("TOOLWIRE_ENGINE_BUILD", "").lower() == "pip":
        return None
    if not sys.platform.startswith("linux") or platform.machine().lower() not in ("x86_64", "amd64"):
        return None
    chosen = env.get("TOOLWIRE_CPU_FEATURES")
    flags = frozenset(f.strip() for f in chosen.split(",") if f.strip()) if chosen else cpu_flags()
    args = x86_cmake_args(flags) + shlex.split(env.get("CMAKE_ARGS", ""))
    return BuildPlan(LLAMA_CPP_PYTHON_VERSION, tuple(args))


def requirement(wheel: Path | None) -> str:
    """The llama-cpp-python requirement toolwire installs with: the built wheel, or the
    pinned release for pip to build."""
    if wheel is None:
        return f"llama-cpp-python=={LLAMA_CPP_PYTHON_VERSION}"
    return f"llama-cpp-python @ {wheel.resolve().as_uri()}"


_HOOK_VARIABLES = ("_PYPROJECT_HOOKS_", "PEP517_")
"""Prefixes of the variables a build frontend sets for the backend process it calls (pip
26.3 passes `_PYPROJECT_HOOKS_BACKEND_PATH`): a nested `pip wheel` that inherits them
looks for llama-cpp-python's backend in toolwire's `_build` folder and fails."""


def _outside_build_hooks(env: Mapping[str, str]) -> dict[str, str]:
    """`env` without the build frontend's hook variables, for a nested pip."""
    return {key: value for key, value in env.items() if not key.startswith(_HOOK_VARIABLES)}


def ensure_wheel(plan: BuildPlan, log: Callable[[str], None] = print) -> Path:
    """The wheel for `plan`: from the cache, or built now (4-6 minutes on 2 cores) with
    `pip wheel` from the llama-cpp-python sdist, and cached."""
    folder = plan.directory()
    found = sorted(folder.glob("llama_cpp_python-*.whl"))
    if found:
        return found[0]
    folder.mkdir(parents=True, exist_ok=True)
    log(f"toolwire: building llama-cpp-python {plan.version} with {' '.join(plan.cmake_args)} (once; cached in {folder})")
    with tempfile.TemporaryDirectory(prefix="toolwire-wheel-", dir=folder.parent) as scratch:
        env = dict(_outside_build_hooks(os.environ),
                   CMAKE_ARGS=" ".join(shlex.quote(arg) for arg in plan.cmake_args))
        env.setdefault("CMAKE_BUILD_PARALLEL_LEVEL", str(os.cpu_count() or 1))
        command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-cache-dir",
                   "--no-binary", "llama-cpp-python", "-w", scratch, f"llama-cpp-python=={plan.version}"]
        done = subprocess.run(command, env=env, capture_output=True, text=True)
        built = sorted(Path(scratch).glob("llama_cpp_python-*.whl"))
        if done.returncode != 0 or not built:
            raise RuntimeError(f"building llama-cpp-python failed:\n{(done.stdout + done.stderr)[-4000:]}")
        (folder / "cmake-args.txt").write_text("\n".join(plan.cmake_args) + "\n")
        target = folder / built[0].name
        shutil.move(str(built[0]), target)
    return target


LLAMA_SERVER_ARGS = (
    "-DCMAKE_BUILD_TYPE=Release",
    "-DBUILD_SHARED_LIBS=OFF",
    "-DLLAMA_BUILD_UI=OFF",
    "-DLLAMA_USE_PREBUILT_UI=OFF",
    "-DLLAMA_CURL=OFF",
    "-DLLAMA_OPENSSL=OFF",
    "-DLLAMA_BUILD_TESTS=OFF",
    "-DLLAMA_BUILD_EXAMPLES=OFF",
)
"""How `llama-server` is configured on top of the CPU arguments: one static binary that
needs no network at build time (no prebuilt web UI download) nor at run time."""


def server_plan(env: Mapping[str, str] = os.environ) -> BuildPlan:
    """The `llama-server` build: the wheel's CPU arguments where toolwire chooses them,
    else only `CMAKE_ARGS`, plus `LLAMA_SERVER_ARGS`."""
    plan = build_plan(env)
    cpu_args = plan.cmake_args if plan else tuple(shlex.split(env.get("CMAKE_ARGS", "")))
    return BuildPlan(LLAMA_CPP_PYTHON_VERSION, LLAMA_SERVER_ARGS + cpu_args)


def llama_server_path(plan: BuildPlan | None = None) -> Path | None:
    """The cached `llama-server` binary for `plan` (default: this machine's), or None
    when it has not been built (`toolwire build llama-server` builds it)."""
    binary = (plan or server_plan()).directory() / "llama-server"
    return binary if binary.is_file() and os.access(binary, os.X_OK) else None


def ensure_llama_server(plan: BuildPlan | None = None, log: Callable[[str], None] = print,
                        sdist: Path | None = None) -> Path:
    """The `llama-server` binary for `plan`: from the cache, or built now (about 6
    minutes on 2 cores) from the llama.cpp sources vendored in the llama-cpp-python sdist
    (`sdist`: a downloaded `.tar.gz`; default: `pip download` it)."""
    plan = plan or server_plan()
    found = llama_server_path(plan)
    if found:
        return found
    folder = plan.directory()
    folder.mkdir(parents=True, exist_ok=True)
    log(f"toolwire: building llama-server {plan.version} with {' '.join(plan.cmake_args)} (once; cached in {folder})")
    with tempfile.TemporaryDirectory(prefix="toolwire-server-", dir=folder.parent) as scratch_name:
        scratch = Path(scratch_name)
        archive = sdist or _download_sdist(plan.version, scratch)
        shutil.unpack_archive(str(archive), scratch / "src")
        sources = next((scratch / "src").glob("llama_cpp_python-*")) / "vendor" / "llama.cpp"
        jobs = os.environ.get("CMAKE_BUILD_PARALLEL_LEVEL") or str(os.cpu_count() or 1)
        build = scratch / "build"
        _run(["cmake", "-S", str(sources), "-B", str(build), *plan.cmake_args], "configuring llama-server")
        _run(["cmake", "--build", str(build), "--target", "llama-server", "-j", jobs], "building llama-server")
        (folder / "cmake-args.txt").write_text("\n".join(plan.cmake_args) + "\n")
        target = folder / "llama-server"
        shutil.move(str(build / "bin" / "llama-server"), target)
    return target


def _download_sdist(version: str, folder: Path) -> Path:
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
               "-d", str(folder), f"llama-cpp-python=={version}"]
    _run(command, "downloading the llama-cpp-python sdist")
    return next(folder.glob("llama_cpp_python-*.tar.gz"))


def _run(command: list[str], what: str) -> None:
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{what} failed:\n{(done.stdout + done.stderr)[-4000:]}")


def main() -> int:
    """`python -m toolwire.engine.build`: print the plan and build (or find) the wheel."""
    plan = build_plan()
    if plan is None:
        print(requirement(None))
        return 0
    print(requirement(ensure_wheel(plan, log=lambda line: print(line, file=sys.stderr))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
