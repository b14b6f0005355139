"""The llama-server build plan: the wheel's CPU arguments plus a static, network-free
server configuration, cached under its own key."""

from __future__ import annotations

from pathlib import Path

from toolwire.engine import build
from toolwire.engine.build import LLAMA_SERVER_ARGS, build_plan, llama_server_path, server_plan

CPU = {"TOOLWIRE_CPU_FEATURES": "avx,avx2,fma,f16c"}


def test_server_plan_adds_server_flags_to_the_wheel_flags() -> None:
    wheel = build_plan(CPU)
    server = server_plan(CPU)
    assert wheel is not None
    assert server.cmake_args == LLAMA_SERVER_ARGS + wheel.cmake_args
    assert {"-DLLAMA_BUILD_UI=OFF", "-DLLAMA_USE_PREBUILT_UI=OFF", "-DLLAMA_CURL=OFF"} <= set(server.cmake_args)
    assert server.key != wheel.key


def test_other_cpu_flags_are_another_build() -> None:
    assert server_plan(CPU).key != server_plan({"TOOLWIRE_CPU_FEATURES": "avx"}).key


def test_an_unbuilt_server_is_none_and_a_built_one_is_found(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("TOOLWIRE_ENGINE_CACHE", str(tmp_path))
    plan = server_plan(CPU)
    assert llama_server_path(plan) is None
    binary = plan.directory() / "llama-server"
    binary.parent.mkdir(parents=True)
    binary.write_text("#!/bin/sh\n")
    binary.chmod(0o755)
    assert llama_server_path(plan) == binary


def test_the_nested_pip_does_not_inherit_the_frontends_hook_variables() -> None:
    # pip 26.3 runs toolwire's backend with _PYPROJECT_HOOKS_BACKEND_PATH=<clone>/_build; the
    # nested `pip wheel llama-cpp-python` must not look for scikit-build-core there
    env = {"PATH": "/usr/bin", "_PYPROJECT_HOOKS_BACKEND_PATH": "/clone/_build",
           "_PYPROJECT_HOOKS_BUILD_BACKEND": "toolwire_backend", "PEP517_BACKEND_PATH": "/clone/_build",
           "CMAKE_ARGS": "-DX=1"}
    assert build._outside_build_hooks(env) == {"PATH": "/usr/bin", "CMAKE_ARGS": "-DX=1"}
