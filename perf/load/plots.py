"""The report's PNG plots: latency percentiles and throughput per 10 s window, and RSS over time."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: no display on a server

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from perf.load.report import WINDOW_SECONDS, LoadReport


def _save(figure: Figure, path: Path) -> None:
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def write_plots(report: LoadReport, directory: Path) -> None:
    offsets = [w.offset for w in report.windows]

    figure, axes = plt.subplots(figsize=(10, 4))
    for label, values in (
        ("p50", [w.p50 for w in report.windows]),
        ("p95", [w.p95 for w in report.windows]),
        ("p99", [w.p99 for w in report.windows]),
    ):
        axes.plot(offsets, values, label=label)
    axes.set(xlabel="seconds into the run", ylabel="ms", title="Latency per 10 s window (all classes)")
    axes.legend()
    _save(figure, directory / "latency.png")

    figure, axes = plt.subplots(figsize=(10, 4))
    axes.plot(offsets, [w.rps for w in report.windows], label="requests/s")
    axes.plot(offsets, [w.failures / WINDOW_SECONDS for w in report.windows], label="failed/s")
    axes.set(xlabel="seconds into the run", ylabel="per second", title="Throughput per 10 s window")
    axes.legend()
    _save(figure, directory / "throughput.png")

    figure, axes = plt.subplots(figsize=(10, 4))
    started = report.inputs.started
    for name in dict.fromkeys(name for _, name, _ in report.inputs.rss):
        points = [(t - started, b / 2**20) for t, n, b in report.inputs.rss if n == name]
        axes.plot([p[0] for p in points], [p[1] for p in points], label=name)
    axes.set(xlabel="seconds into the run", ylabel="MB", title="RSS per process tree")
    axes.legend()
    _save(figure, directory / "rss.png")
