"""The report's PNG plots: latency per class and throughput per 10 s window, and the CPU per part, the
queues' depths and RSS over time."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: no display on a server

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from perf.load.report import WINDOW_SECONDS, LoadReport, class_p95_windows, cores_used


def _save(figure: Figure, path: Path) -> None:
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def _legend(axes: Axes, **options: str) -> None:
    """A legend, unless the plot has no line (a run without samples of that kind)."""
    if axes.get_legend_handles_labels()[0]:
        axes.legend(**options)


def write_plots(report: LoadReport, directory: Path) -> None:
    offsets = [w.offset for w in report.windows]

    figure, axes = plt.subplots(figsize=(10, 4))
    axes.plot(offsets, [w.p99 for w in report.windows], label="p99, all classes", color="black", linewidth=1)
    for row_label, points in class_p95_windows(report.inputs.samples, report.inputs.started).items():
        axes.plot([p[0] for p in points], [p[1] for p in points], label=f"p95 {row_label}")
    axes.set(xlabel="seconds into the run", ylabel="ms", title="Latency per class, per 10 s window")
    _legend(axes, fontsize="small")
    _save(figure, directory / "latency.png")

    figure, axes = plt.subplots(figsize=(10, 4))
    axes.plot(offsets, [w.rps for w in report.windows], label="requests/s")
    axes.plot(offsets, [w.failures / WINDOW_SECONDS for w in report.windows], label="failed/s")
    axes.set(xlabel="seconds into the run", ylabel="per second", title="Throughput per 10 s window")
    _legend(axes)
    _save(figure, directory / "throughput.png")

    started = report.inputs.started
    figure, axes = plt.subplots(figsize=(10, 4))
    for part, points in cores_used(report.inputs.cpu, started).items():
        axes.plot([p[0] for p in points], [p[1] for p in points], label=part)
    axes.set(xlabel="seconds into the run", ylabel="cores", title="CPU per part (cores used, per sample)")
    _legend(axes, fontsize="small")
    _save(figure, directory / "cpu.png")

    figure, axes = plt.subplots(figsize=(10, 4))
    for queue in dict.fromkeys(name for _, name, _ in report.inputs.queues):
        points = [(t - started, depth) for t, name, depth in report.inputs.queues if name == queue]
        axes.plot([p[0] for p in points], [p[1] for p in points], label=queue)
    axes.set(xlabel="seconds into the run", ylabel="jobs waiting", title="RQ queue depths")
    _legend(axes)
    _save(figure, directory / "queues.png")

    figure, axes = plt.subplots(figsize=(10, 4))
    for name in dict.fromkeys(name for _, name, _ in report.inputs.rss):
        points = [(t - started, b / 2**20) for t, n, b in report.inputs.rss if n == name]
        axes.plot([p[0] for p in points], [p[1] for p in points], label=name)
    axes.set(xlabel="seconds into the run", ylabel="MB", title="RSS per process tree")
    _legend(axes)
    _save(figure, directory / "rss.png")
