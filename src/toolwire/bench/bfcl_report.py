"""BFCL results: per-entry records, per-category scores, and the JSON, markdown and PNG
they are written to."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence

__all__ = [
    "CategoryScore",
    "EntryResult",
    "markdown_table",
    "score",
    "write_chart",
    "write_json",
    "write_markdown",
]


@dataclass
class EntryResult:
    """What happened on one BFCL entry in one mode."""

    id: str
    category: str
    mode: str
    passed: bool
    error: str | None = None
    calls: list[dict[str, str]] = field(default_factory=list)
    """`[{"name", "arguments"}]` as the model returned them."""
    valid_calls: int = 0
    """Calls whose arguments are a JSON object valid against the named tool's schema."""
    content: str | None = None
    latency_s: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    finish_reason: str | None = None


@dataclass
class CategoryScore:
    """One category in one mode. `valid_call_share` is None when no call was returned."""

    category: str
    mode: str
    n: int
    passed: int
    calls: int
    valid_calls: int
    failed_requests: int
    mean_latency_s: float
    tokens_per_s: float

    @property
    def accuracy(self) -> float:
        return self.passed / self.n if self.n else 0.0

    @property
    def valid_call_share(self) -> float | None:
        return self.valid_calls / self.calls if self.calls else None

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "accuracy": self.accuracy, "valid_call_share": self.valid_call_share}


def score(results: Sequence[EntryResult]) -> list[CategoryScore]:
    """Per (category, mode) scores, in first-seen order. Tokens/s is completion tokens over
    wall time of the requests (prompt evaluation included)."""
    groups: dict[tuple[str, str], list[EntryResult]] = {}
    for result in results:
        groups.setdefault((result.category, result.mode), []).append(result)
    scores = []
    for (category, mode), group in groups.items():
        latency = sum(r.latency_s for r in group)
        scores.append(
            CategoryScore(
                category=category,
                mode=mode,
                n=len(group),
                passed=sum(r.passed for r in group),
                calls=sum(len(r.calls) for r in group),
                valid_calls=sum(r.valid_calls for r in group),
                failed_requests=sum(1 for r in group if r.error and r.error.startswith("request:")),
                mean_latency_s=latency / len(group),
                tokens_per_s=sum(r.completion_tokens for r in group) / latency if latency > 0 else 0.0,
            )
        )
    return scores


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}"


def markdown_table(scores: Sequence[CategoryScore]) -> str:
    """A markdown table, one row per category and mode, plus an unweighted mean per mode
    (BFCL's way of averaging categories)."""
    lines = [
        "| category | mode | n | AST accuracy % | valid calls % | mean latency s | tokens/s |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for s in scores:
        lines.append(
            f"| {s.category} | {s.mode} | {s.n} | {_percent(s.accuracy)} | {_percent(s.valid_call_share)} "
            f"| {s.mean_latency_s:.2f} | {s.tokens_per_s:.1f} |"
        )
    for mode in dict.fromkeys(s.mode for s in scores):
        rows = [s for s in scores if s.mode == mode]
        mean = sum(s.accuracy for s in rows) / len(rows)
        calls = sum(s.calls for s in rows)
        valid = sum(s.valid_calls for s in rows) / calls if calls else None
        latency = sum(s.mean_latency_s * s.n for s in rows) / sum(s.n for s in rows)
        lines.append(
            f"| **mean** | {mode} | {sum(s.n for s in rows)} | {_percent(mean)} | {_percent(valid)} "
            f"| {latency:.2f} | |"
        )
    return "\n".join(lines) + "\n"


def write_json(path: Path, meta: dict[str, Any], scores: Sequence[CategoryScore],
               results: Sequence[EntryResult]) -> None:
    """Run metadata, scores and every entry's record as one JSON document."""
    document = {
        **meta,
        "scores": [s.as_dict() for s in scores],
        "entries": [asdict(r) for r in results],
    }
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def write_markdown(path: Path, title: str, command: str, scores: Sequence[CategoryScore],
                   elapsed_s: float | None = None) -> None:
    """The table under a title, the command that produced it and how long its requests
    took (model loading excluded)."""
    took = f"Run time: {elapsed_s / 60:.1f} minutes of requests.\n\n" if elapsed_s is not None else ""
    path.write_text(f"# {title}\n\n```\n{command}\n```\n\n{took}{markdown_table(scores)}", encoding="utf-8")


def write_chart(path: Path, title: str, scores: Sequence[CategoryScore]) -> None:
    """A grouped bar chart of AST accuracy per category, one bar per mode (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    categories = list(dict.fromkeys(s.category for s in scores))
    modes = list(dict.fromkeys(s.mode for s in scores))
    width = 0.8 / max(len(modes), 1)
    figure, axes = plt.subplots(figsize=(1.6 * len(categories) + 2, 4))
    for offset, mode in enumerate(modes):
        by_category = {s.category: s for s in scores if s.mode == mode}
        xs = [i + (offset - (len(modes) - 1) / 2) * width for i in range(len(categories))]
        heights = [100 * by_category[c].accuracy if c in by_category else 0 for c in categories]
        bars = axes.bar(xs, heights, width, label=mode)
        axes.bar_label(bars, fmt="%.0f", fontsize=8)
    axes.set_xticks(range(len(categories)), categories, rotation=15)
    axes.set_ylabel("AST accuracy (%)")
    axes.set_ylim(0, 120)  # headroom above 100 for the legend
    axes.set_title(title)
    axes.legend(loc="upper right", ncol=len(modes), fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
