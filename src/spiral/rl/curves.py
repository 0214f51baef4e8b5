"""``curves.png``: a GRPO run's curves from its ``metrics.csv`` and ``validation.csv``.

Training reward (a running mean) beside validation strict and lenient success (the bench's
metrics on held-out tasks: what reward hacking would pull apart), the share of groups with
mixed outcomes, and the KL to the reference; curriculum stages as vertical lines.
"""

from __future__ import annotations

import csv
import itertools
import logging
import math
import os
from pathlib import Path

log = logging.getLogger(__name__)


def _rows(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        return []
    with path.open(newline="") as f:
        return [r for r in csv.DictReader(f) if None not in r.values()]


def _num(v: str) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.nan


def _running_mean(xs: list[float], k: int) -> list[float]:
    out, acc = [], []
    for x in xs:
        if math.isfinite(x):
            acc.append(x)
        acc = acc[-k:]
        out.append(sum(acc) / len(acc) if acc else math.nan)
    return out


def plot_curves(out_dir: str | Path, path: str | Path | None = None, window: int = 20) -> Path:
    """Draw ``out_dir``'s curves into ``path`` (default ``out_dir/curves.png``), written atomically."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    out_dir = Path(out_dir)
    dest = Path(path) if path is not None else out_dir / "curves.png"
    m, v = _rows(out_dir / "metrics.csv"), _rows(out_dir / "validation.csv")
    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    steps = [int(r["step"]) for r in m]
    ax = axes[0]
    if m:
        ax.plot(steps, _running_mean([_num(r["reward_mean"]) for r in m], window), label=f"training reward ({window}-step mean)")
    if v:
        vs = [int(r["step"]) for r in v]
        ax.plot(vs, [_num(r["val_strict"]) for r in v], "o-", label="validation strict success")
        ax.plot(vs, [_num(r["val_lenient"]) for r in v], "s--", label="validation lenient success", alpha=0.7)
        stages = [(int(r["step"]), r["stage"]) for r in v]
        for (s0, a), (_, b) in itertools.pairwise(stages):
            if a != b:
                for x in axes:
                    x.axvline(s0, color="grey", lw=0.8, ls=":")
                ax.text(s0, 0.03, f" {b}", color="grey", fontsize=8)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("update")
    ax.set_title("reward vs held-out strict success")
    ax.legend(fontsize=8, loc="center right")
    if m:
        axes[1].plot(steps, _running_mean([_num(r["mixed_share"]) for r in m], window))
        axes[2].plot(steps, [_num(r["kl"]) for r in m], lw=0.6)
    axes[1].set_title(f"share of groups with mixed outcomes ({window}-step mean)")
    axes[2].set_title("KL to the reference (k3)")
    for x in axes[1:]:
        x.set_xlabel("update")
    fig.tight_layout()
    tmp = dest.with_name(dest.name + ".tmp.png")
    fig.savefig(tmp, dpi=80)
    plt.close(fig)
    os.replace(tmp, dest)
    return dest
