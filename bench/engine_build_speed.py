"""What toolwire's engine build costs against llama-cpp-python's native build, side by side.

Two virtualenvs that differ only in their llama-cpp-python wheel: one made by toolwire's
build backend (`pip install -e .`: GGML_NATIVE off, the CPU's AVX2/AVX-512 features on, AMX
off), one by pip's default native build (`TOOLWIRE_ENGINE_BUILD=pip pip install -e .` with
a fresh pip cache: `-march=native`). Rounds alternate between the two, so a busy machine
slows both sides alike; each round loads the model in a fresh process, evaluates a prompt
and decodes unconstrained. The table gives the medians and their ratio.

    python bench/engine_build_speed.py --native NATIVE_VENV/bin/python \\
        --toolwire TOOLWIRE_VENV/bin/python --model qwen2.5-coder-0.5b --rounds 5
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys

ROUND = r"""
import json, sys, time
import llama_cpp
from toolwire.engine.llamacpp import LlamaEngine
from toolwire.engine.sampling import SamplingParams
from toolwire.models import resolve_model

engine = LlamaEngine(resolve_model(sys.argv[1]), n_ctx=2048)
prompt = "<|im_start|>user\n" + "Tell me about the history of the lighthouse keeper's craft. " * 20 + "<|im_end|>\n<|im_start|>assistant\n"
engine.forget()
generation = engine.generate(prompt, sampling=SamplingParams(max_tokens=int(sys.argv[2])))
generation.text()
usage = generation.usage
print(json.dumps({
    "prompt_tps": usage.prompt_tokens / usage.prompt_seconds,
    "decode_tps": usage.completion_tokens / usage.generation_seconds,
    "system_info": llama_cpp.llama_print_system_info().decode(),
}))
"""


def measure(python: str, model: str, tokens: int) -> dict[str, float]:
    done = subprocess.run([python, "-c", ROUND, model, str(tokens)], capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--native", required=True, help="python of the virtualenv with pip's native build")
    parser.add_argument("--toolwire", required=True, help="python of the virtualenv with toolwire's build")
    parser.add_argument("--model", default="qwen2.5-coder-0.5b")
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    results: dict[str, list[dict[str, float]]] = {"native": [], "toolwire": []}
    for _ in range(args.rounds):
        for name, python in (("native", args.native), ("toolwire", args.toolwire)):
            results[name].append(measure(python, args.model, args.tokens))
    print(f"| measure ({args.model}, {args.rounds} interleaved rounds, medians) | native | toolwire | ratio |")
    print("|---|---:|---:|---:|")
    for key, label in (("prompt_tps", "prompt evaluation tokens/s"), ("decode_tps", "decode tokens/s")):
        native = statistics.median(r[key] for r in results["native"])
        ours = statistics.median(r[key] for r in results["toolwire"])
        print(f"| {label} | {native:.1f} | {ours:.1f} | {ours / native:.2f}x |")
    for name in results:
        print(f"\n{name}: {results[name][0]['system_info'].strip()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
