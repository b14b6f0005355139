"""toolwire's build backend: setuptools, plus the llama.cpp engine built for this machine.

pip installs toolwire through this backend (pyproject.toml `build-backend`), so the
README's `pip install -e .` and `.ci/run` build llama-cpp-python the way
`toolwire/engine/build.py` says (no `-march=native`, AMX off, every other CPU feature
this machine has) instead of pip's default native build, and depend on that wheel by
its `file://` path: a wheel built with other flags is never picked up. The engine
requirement is written to `_build/engine-requirement.txt`, which pyproject.toml's dynamic
`dependencies` read after `dependencies.txt`.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

from setuptools import build_meta as _setuptools
from setuptools.build_meta import build_sdist, get_requires_for_build_sdist  # noqa: F401  (hooks pip calls)

ROOT = Path(__file__).resolve().parent.parent
ENGINE_REQUIREMENT = Path(__file__).resolve().parent / "engine-requirement.txt"


def _engine_build() -> Any:
    """`toolwire/engine/build.py`, loaded by path: the package's dependencies are not
    installed yet, so `import toolwire` would fail."""
    path = ROOT / "src" / "toolwire" / "engine" / "build.py"
    spec = importlib.util.spec_from_file_location("_toolwire_engine_build", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look the module up while it executes
    spec.loader.exec_module(module)
    return module


def _write_engine_requirement() -> None:
    build = _engine_build()
    plan = build.build_plan()
    wheel = build.ensure_wheel(plan, log=lambda line: print(line, file=sys.stderr, flush=True)) if plan else None
    ENGINE_REQUIREMENT.write_text(build.requirement(wheel) + "\n")


def get_requires_for_build_wheel(config_settings: Any = None) -> list[str]:
    return _setuptools.get_requires_for_build_wheel(config_settings)


def get_requires_for_build_editable(config_settings: Any = None) -> list[str]:
    return _setuptools.get_requires_for_build_editable(config_settings)


def prepare_metadata_for_build_wheel(metadata_directory: str, config_settings: Any = None) -> str:
    _write_engine_requirement()
    return _setuptools.prepare_metadata_for_build_wheel(metadata_directory, config_settings)


def prepare_metadata_for_build_editable(metadata_directory: str, config_settings: Any = None) -> str:
    _write_engine_requirement()
    return _setuptools.prepare_metadata_for_build_editable(metadata_directory, config_settings)


def build_wheel(wheel_directory: str, config_settings: Any = None, metadata_directory: str | None = None) -> str:
    _write_engine_requirement()
    return _setuptools.build_wheel(wheel_directory, config_settings, metadata_directory)


def build_editable(wheel_directory: str, config_settings: Any = None, metadata_directory: str | None = None) -> str:
    _write_engine_requirement()
    return _setuptools.build_editable(wheel_directory, config_settings, metadata_directory)
