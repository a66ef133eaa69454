"""Write a benchmark report: JSON plus a PNG chart of the headline numbers."""

from __future__ import annotations

import json
import platform
from pathlib import Path
from typing import Any


def machine() -> dict[str, Any]:
    import os

    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "system": platform.platform(),
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def write_report(report: dict[str, Any], out_dir: Path) -> tuple[Path, Path | None]:
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path = out_dir / "bench.json"
    json_path.write_text(json.dumps(report, indent=2, default=str) + "\n")
    return json_path, _chart(report, out_dir / "bench.png")


def _chart(report: dict[str, Any], path: Path) -> Path | None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    panels = []
    voice = report.get("voice", {})
    if voice:
        stages = voice.get("server_stages_ms", {})
        names = [s.removesuffix("_ms") for s in stages]
        panels.append(
            (
                "server stages p50 / p95 (ms)",
                names,
                [stages[s].get("p50", 0) for s in stages],
                [stages[s].get("p95", 0) for s in stages],
            )
        )
    headline = {
        "voice→voice": report.get("voice", {}).get("external_voice_to_voice_ms", {}),
        "barge-in→clear": report.get("barge_in", {}).get("onset_to_clear_ms", {}),
    }
    panels.append(
        (
            "measured from the Twilio side (ms)",
            list(headline),
            [v.get("p50", 0) for v in headline.values()],
            [v.get("p95", 0) for v in headline.values()],
        )
    )
    levels = report.get("concurrency", {}).get("levels", {})
    if levels:
        panels.append(
            (
                "voice→voice by concurrent calls (ms)",
                list(levels),
                [v.get("p50", 0) for v in levels.values()],
                [v.get("p95", 0) for v in levels.values()],
            )
        )
    figure, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 4))
    axes_list = axes if len(panels) > 1 else [axes]
    for axis, (title, labels, p50, p95) in zip(axes_list, panels, strict=True):
        positions = range(len(labels))
        axis.bar([p - 0.2 for p in positions], p50, width=0.4, label="p50")
        axis.bar([p + 0.2 for p in positions], p95, width=0.4, label="p95")
        axis.set_xticks(list(positions), labels, rotation=20, ha="right", fontsize=8)
        axis.set_title(title, fontsize=10)
        axis.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
