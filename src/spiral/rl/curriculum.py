"""A GRPO curriculum for ``tiny-ti2v``: atomic sub-actions → short goals → long goals through the loop.

A curriculum is a YAML file (the shipped one: ``spiral/rl/curricula/tiny-ti2v.yaml``) of
stages. Each stage is a pool of requests, built when the stage starts:

* ``atomic``: one sub-action each, from the simulator's exact frame
  (:func:`spiral.rl.tiny_policy.world_requests`: the world's scene and action generators);
* ``chain``: goals of ``goal_steps`` steps from the world's goal generators (``random_goal``
  on the world's random scenes, and with ``recipes: hard`` the Hard suite's recipes on scene
  seeds of their own), each run through the loop (plan-only: the planner's steps, one sample
  each at the shipped temperature, every segment from the model's **own** last frame) with
  the current weights; every segment the loop asked for becomes a request, so a rollout's
  reward is the critic's verdict on its own segment, conditioned on a frame the model made.

With ``mine: K`` a stage keeps only the requests whose K exploring rollouts disagree or fall
short (:func:`spiral.rl.tiny_policy.mine_requests`). A pool is saved under
``OUT/curriculum/<stage>/`` (frames as ``.npy``, the rest as JSON), so a resumed run trains on
the same requests. A stage is promoted when a validation's strict success reaches its
``promote_at`` after ``min_steps`` updates in it, or after ``max_steps`` updates whatever the
validation says (the log says which). No dataset targets anywhere: scenes, goals and frames
come from the world's generators and the model itself.
"""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from spiral.core.types import GenerationRequest
from spiral.errors import ConfigError

log = logging.getLogger(__name__)

CHAIN_BASE = 83_000_000  # goals of the chain stages (training: 80 000 000…; no suite uses these)


class Stage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9_-]+$")
    kind: Literal["atomic", "chain"]
    scenes: Literal["hard", "lite"] = Field(default="hard", description="the world's random scenes: 7–8 objects, "
                                                                        "bowls, towers (hard) or 3–6 objects (lite)")
    pool: int = Field(ge=1, description="atomic: requests drawn; chain: goals run through the loop")
    goal_steps: tuple[int, int] = Field(default=(2, 3), description="chain: steps of a random goal (min, max)")
    recipes: Literal["none", "hard"] = Field(default="none", description=(
        "chain: also the Hard suite's recipes (crowded, bowls, under, clearing, tower, chain, wording) on "
        "training scene seeds; half of the pool"))
    mine: int = Field(default=0, ge=0, description="keep requests whose K exploring rollouts disagree (0: all)")
    promote_at: float | None = Field(default=None, ge=0.0, le=1.0,
                                     description="validation strict success that promotes (null: the last stage)")
    min_steps: int = Field(default=0, ge=0, description="updates in the stage before a promotion")
    max_steps: int | None = Field(default=None, ge=1, description="updates after which it is promoted anyway")


class CurriculumSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    stages: list[Stage] = Field(min_length=1)

    @model_validator(mode="after")
    def _names(self) -> CurriculumSpec:
        names = [s.name for s in self.stages]
        if len(set(names)) != len(names):
            raise ValueError(f"stage names repeat: {names}")
        return self


def shipped_curriculum() -> Path:
    return Path(str(resources.files("spiral.rl").joinpath("curricula", "tiny-ti2v.yaml")))


def load_curriculum(path: str | Path | None = None) -> CurriculumSpec:
    """A curriculum file, or the name of one shipped in ``spiral/rl/curricula/`` (default:
    ``tiny-ti2v``), validated."""
    import yaml
    from pydantic import ValidationError

    p = Path(path) if path is not None else shipped_curriculum()
    if not p.is_file() and path is not None and p.name == str(path) and p.suffix == "":
        named = shipped_curriculum().with_name(f"{path}.yaml")
        if named.is_file():
            p = named  # a curriculum shipped in the package, by name
    if not p.is_file():
        raise ConfigError(f"curriculum file {p} does not exist", "pass an existing YAML file, or leave "
                          "--curriculum out for the shipped one")
    try:
        return CurriculumSpec.model_validate(yaml.safe_load(p.read_text()) or {})
    except (yaml.YAMLError, ValidationError) as exc:
        raise ConfigError(f"curriculum file {p} is not valid: {exc}",
                          f"compare it with the shipped one ({shipped_curriculum()})") from exc


# -- pools ------------------------------------------------------------------------------------
def save_pool(path: Path, requests: Sequence[GenerationRequest]) -> None:
    """Requests to ``path/`` (``frames.npy`` + ``requests.json``), written atomically."""
    import os
    import shutil

    tmp = path.with_name(path.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    size = requests[0].cond_frame.shape if requests else (64, 64, 3)
    np.save(tmp / "frames.npy", np.stack([np.asarray(r.cond_frame, np.uint8) for r in requests])
            if requests else np.zeros((0, *size), np.uint8))
    meta = [{"prompt": r.prompt, "num_frames": r.num_frames, "fps": r.fps, "height": r.height, "width": r.width,
             "seed": r.seed, "segment_index": r.segment_index, "hints": r.hints,
             "action": r.action.model_dump(mode="json") if r.action is not None else None} for r in requests]
    (tmp / "requests.json").write_text(json.dumps(meta))
    shutil.rmtree(path, ignore_errors=True)
    os.replace(tmp, path)


def load_pool(path: Path) -> list[GenerationRequest]:
    from spiral.core.types import SubAction

    frames = np.load(path / "frames.npy")
    meta = json.loads((path / "requests.json").read_text())
    return [GenerationRequest(cond_frame=frames[i], **{**m, "action": SubAction.model_validate(m["action"])
                                                        if m["action"] else None})
            for i, m in enumerate(meta)]


def chain_goals(stage: Stage, seed: int = 0) -> list[tuple[dict[str, Any], str]]:
    """``stage.pool`` (scene dict, goal) pairs from the world's goal generators (and, with
    ``recipes: hard``, half from the Hard recipes), on training scene seeds."""
    from spiral.worlds.tabletop.goal_gen import random_goal
    from spiral.worlds.tabletop.scene import SceneSpec, random_scene

    out: list[tuple[dict[str, Any], str]] = []
    n_recipes = stage.pool // 2 if stage.recipes == "hard" else 0
    if n_recipes:
        from spiral.bench.suites.make_hard import RECIPES, make

        per = -(-n_recipes // len(RECIPES))
        tasks = make(per, CHAIN_BASE + 500_000 + seed * 10_000_000, f"train-{stage.name}")
        random.Random(seed).shuffle(tasks)
        out += [(t["scene"], t["goal"]) for t in tasks[:n_recipes]]
    spec = SceneSpec(7, 8, max_bowls=3, p_stacked=0.35, p_in_bowl=0.15) if stage.scenes == "hard" else SceneSpec(3, 6)
    k = 0
    while len(out) < stage.pool:
        s = CHAIN_BASE + seed * 10_000_000 + k
        k += 1
        try:
            scene = random_scene(s, spec)
        except ValueError:
            continue
        rng = random.Random(f"grpo-chain:{s}")
        goal = random_goal(scene, rng, rng.randint(*stage.goal_steps))
        if goal:
            out.append((scene.model_dump(by_alias=True, exclude_none=True), goal))
    return out


def loop_segments(policy: Any, goals: Sequence[tuple[dict[str, Any], str]], seed: int = 0,
                  base: dict[str, Any] | None = None) -> list[GenerationRequest]:
    """Run each goal through the loop (plan-only) with the policy's current weights and
    return every segment request the loop made: from the second segment on, conditioned on
    the model's own last frame."""
    import shutil
    import tempfile

    from spiral.api import run
    from spiral.config import build_config, merge
    from spiral.errors import SpiralError
    from spiral.registry import build

    rec = _recording_generator(policy)
    base = {"output": {"report": False, "video_scale": 1}, **(base or {})}
    cfg0 = build_config(overrides={**base, "goal": "push the red cube to the left"})
    planner, critic = build("planner", cfg0.planner, config=cfg0), build("critic", cfg0.critic, config=cfg0)
    root = Path(tempfile.mkdtemp(prefix="spiral-chain-"))
    try:
        for i, (scene, goal) in enumerate(goals):
            sp = root / f"{i}.scene.json"
            sp.write_text(json.dumps(scene))
            cfg = build_config(overrides=merge(base, {"goal": goal, "mode": "plan-only", "seed": seed * 100_000 + i,
                                                      "scene": {"seed": None, "file": str(sp), "image": None}}))
            try:
                run(cfg, root / str(i), components=(planner, rec, critic))
            except SpiralError as exc:  # a goal the planner cannot plan: skipped
                log.debug("chain goal %r skipped: %s", goal, exc.message)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return [r.model_copy(update={"keyframes": [], "context": {}}) for r in rec.requests if r.action is not None]


def _recording_generator(policy: Any) -> Any:
    from spiral.generators.tiny_ti2v import TinyTI2VGenerator

    class Recording(TinyTI2VGenerator):
        """The policy's weights as the loop's generator, keeping every request it is given."""

        def __init__(self) -> None:
            super().__init__(model=policy.model, tokenizer=policy.tok)
            self.requests: list[GenerationRequest] = []

        def generate(self, requests: list[GenerationRequest]) -> list[Any]:
            self.requests.extend(requests)
            return super().generate(requests)

    return Recording()


# -- the curriculum ---------------------------------------------------------------------------
class TinyCurriculum:
    """The stages of a :class:`CurriculumSpec` as a GRPO request source
    (:class:`spiral.rl.grpo.Curriculum`): ``requests_per_step`` requests per update from the
    current stage's pool."""

    def __init__(self, spec: CurriculumSpec, policy: Any, reward: Any, out_dir: str | Path,
                 requests_per_step: int = 4, seed: int = 0):
        self.spec, self.policy, self.reward = spec, policy, reward
        self.root = Path(out_dir) / "curriculum"
        self.requests_per_step, self.seed = requests_per_step, seed
        self.index, self.start = 0, 0
        self._pool: list[GenerationRequest] | None = None

    @property
    def stage(self) -> str:
        return self.spec.stages[self.index].name

    def pool(self) -> list[GenerationRequest]:
        """The current stage's requests (built with the current weights, or read back)."""
        if self._pool is None:
            st = self.spec.stages[self.index]
            path = self.root / st.name
            if (path / "requests.json").exists():
                self._pool = load_pool(path)
            else:
                self._pool = self._build(st)
                save_pool(path, self._pool)
            if not self._pool:
                raise ConfigError(f"curriculum stage {st.name!r} has no request to train on",
                                  "raise its pool, or lower its mine")
            log.info("curriculum stage %s: %d requests", st.name, len(self._pool))
        return self._pool

    def _build(self, st: Stage) -> list[GenerationRequest]:
        from spiral.rl.tiny_policy import mine_requests, world_requests

        seed = self.seed * 100 + self.index
        if st.kind == "atomic":
            reqs = world_requests(st.pool, seed=seed, hard=st.scenes == "hard")
        else:
            reqs = loop_segments(self.policy, chain_goals(st, seed), seed=seed)
        n = len(reqs)
        if st.mine:
            mined = mine_requests(self.policy, reqs, self.reward, k=st.mine, seed=seed)
            if not mined:  # nothing to learn from is better than stopping a long run
                log.warning("curriculum stage %s: none of its %d requests has mixed rewards; training on all of "
                            "them", st.name, n)
            reqs = mined or reqs
        log.info("curriculum stage %s: kept %d of %d requests", st.name, len(reqs), n)
        return reqs

    def __call__(self, step: int, rng: np.random.Generator) -> list[GenerationRequest]:
        pool = self.pool()
        idx = rng.choice(len(pool), size=self.requests_per_step, replace=self.requests_per_step > len(pool))
        return [pool[int(i)] for i in idx]

    def on_validation(self, step: int, result: dict[str, Any]) -> str | None:
        st = self.spec.stages[self.index]
        if self.index + 1 >= len(self.spec.stages):
            return None
        done = step - self.start
        strict = float(result["strict"])
        if st.promote_at is not None and done >= st.min_steps and strict >= st.promote_at:
            why = f"validation strict success {strict:.3f} ≥ {st.promote_at}"
        elif st.max_steps is not None and done >= st.max_steps:
            why = f"{done} updates in the stage (validation strict success {strict:.3f} < {st.promote_at})"
        else:
            return None
        self.index, self.start, self._pool = self.index + 1, step, None
        return f"step {step}: stage {st.name} → {self.stage} ({why})"

    def state_dict(self) -> dict[str, Any]:
        return {"index": self.index, "start": self.start, "stage": self.stage}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.index, self.start, self._pool = int(state["index"]), int(state["start"]), None
