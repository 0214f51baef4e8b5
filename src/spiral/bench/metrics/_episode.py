"""What the action metrics read from a run directory: frames, registry, segments."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np


@dataclass
class Episode:
    first: np.ndarray
    segments: list[np.ndarray]
    registry: list[dict[str, Any]]
    result: dict[str, Any]

    @property
    def final(self) -> np.ndarray:
        return self.segments[-1][-1] if self.segments else self.first

    @property
    def video(self) -> np.ndarray:
        parts = [s if k == 0 else s[1:] for k, s in enumerate(self.segments)]
        return np.concatenate(parts) if parts else self.first[None]

    def known(self) -> dict[str, str]:
        return {o["color"]: o["kind"] for o in self.registry if o.get("color")}


def load_episode(run_dir: str | Path) -> Episode:
    from spiral.core.memory import EpisodeMemory

    p = Path(run_dir)
    st = json.loads((p / "state.json").read_text())
    mem = EpisodeMemory(p / "memory.sqlite")
    try:
        first = mem.first_frame()
        registry = mem.objects()
    finally:
        mem.close()
    segs = [np.load(p / s["path"], allow_pickle=False) for s in st.get("segments", [])]
    return Episode(first=first, segments=segs, registry=registry, result=st.get("result") or {})


def perceive(frame: np.ndarray, known: dict[str, str]):
    from spiral.worlds.tabletop.perception import perceive as _p

    return _p(frame, known=known or None).scene
