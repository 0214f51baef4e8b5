"""Judging a tabletop world model with the perception critic (pixels only): the evaluation
behind the built-in model's card (``benchmarks/bench_tiny_ti2v.py``); any generator works.

* :func:`eval_single` — held-out sub-actions (paraphrased prompts): single-sample success
  (post-conditions hold in the last frame), object permanence (every object present with
  its colour in every frame, no duplicates) and non-target stillness; and the closed-loop
  success when the critic may reject up to ``attempts - 1`` samples.
* :func:`eval_chains` — long chains: the model continues from its own output, and the
  share of chains that are all correct so far after each step.
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np

from spiral.agents.perception_critic import PerceptionCritic
from spiral.core.memory import EpisodeMemory
from spiral.core.types import Clip, Condition, GenerationRequest, SubAction


def _memory(critic: PerceptionCritic, first: np.ndarray) -> EpisodeMemory:
    m = EpisodeMemory(None)
    m.register_objects(critic.observe(first), first)
    return m


def val_steps(root: str, n: int = 300, split: str = "validation", seed: int = 0) -> list[dict[str, Any]]:
    """``n`` sub-actions from a split, with a paraphrased prompt each (kinds in proportion)."""
    from spiral.data.actwm_lite import iter_episodes

    rng = random.Random(seed)
    out = []
    for ep in iter_episodes(root, split):
        m = ep["meta"]
        for k, st in enumerate(m["steps"]):
            paraphrases = [p for p in st["phrasings"] if p != st["prompt"]] or [st["prompt"]]
            sub = SubAction(kind=st["kind"], subject=st["subject"], objects=st["objects"], params=st["params"],
                            prompt=rng.choice(paraphrases),
                            preconditions=[Condition.model_validate(c) for c in st["preconditions"]],
                            postconditions=[Condition.model_validate(c) for c in st["postconditions"]])
            out.append({"frame": ep["clips"][k][0], "first": ep["video"][0], "sub": sub, "key": m["key"], "step": k})
    rng.shuffle(out)
    return out[:n]


def judge(critic: PerceptionCritic, clip: np.ndarray, sub: SubAction, memory: EpisodeMemory) -> dict[str, Any]:
    v = critic.critique(Clip(clip), sub, memory)
    types = {f.type for f in v.failures}
    return {"passed": v.passed, "success": v.scores["action"] >= 1.0, "feedback": v.feedback, "verdict": v,
            "permanence": v.scores["permanence"] >= 1.0 and v.scores["no_hallucination"] >= 1.0
            and "identity_drift" not in types,
            "still": v.scores["stillness"] >= 1.0, "failure": v.failure_type}


def eval_single(generator: Any, steps: list[dict[str, Any]], attempts: int = 4, batch: int = 16,
                num_frames: int = 12, seed: int = 0) -> dict[str, Any]:
    from spiral.agents.symbolic_planner import SymbolicPlanner
    from spiral.core.protocols import Hinting, Stepped
    from spiral.core.refine import STRATEGIES, RefinePolicy

    critic = PerceptionCritic()
    policy = RefinePolicy(list(STRATEGIES), seed, locate=SymbolicPlanner().locate,
                          hinting=isinstance(generator, Hinting),
                          default_steps=generator.default_steps if isinstance(generator, Stepped) else 2)
    rows = []
    for i in range(0, len(steps), batch):
        chunk = steps[i:i + batch]
        reqs = [GenerationRequest(prompt=s["sub"].prompt, cond_frame=s["frame"], num_frames=num_frames,
                                  seed=seed * 1000 + i + j, action=None) for j, s in enumerate(chunk)]
        clips = generator.generate(reqs)
        for s, c, req0 in zip(chunk, clips, reqs):
            mem = _memory(critic, s["first"])
            r = judge(critic, c.frames, s["sub"], mem)
            r["kind"] = s["sub"].kind
            r["logprob"] = c.meta.get("logprob")
            # closed loop: refine with the loop's own policy (spiral.core.refine) until the
            # critic passes (at most `attempts`), as the loop does for one step
            final, verdict, n_att, req, tried = r, r["verdict"], 1, req0, []
            clip = c.frames
            while not final["passed"] and n_att < attempts:
                strategy = policy.choose(verdict.failure_type or "missing_action", tried)
                tried.append(strategy)
                req = policy.refine(req, strategy, verdict, s["sub"], n_att, 0, i, failed=clip, memory=mem)
                clip = generator.generate([req])[0].frames
                final = judge(critic, clip, s["sub"], mem)
                verdict = final["verdict"]
                n_att += 1
            r["closed_success"] = final["success"] and final["passed"]
            r["attempts"] = n_att
            rows.append(r)
    n = len(rows)
    by_kind: dict[str, list[bool]] = {}
    for r in rows:
        by_kind.setdefault(r["kind"], []).append(r["success"])
    fails: dict[str, int] = {}
    for r in rows:
        if r["failure"]:
            fails[r["failure"]] = fails.get(r["failure"], 0) + 1
    return {"n": n, "success": sum(r["success"] for r in rows) / n,
            "permanence": sum(r["permanence"] for r in rows) / n, "still": sum(r["still"] for r in rows) / n,
            "critic_pass": sum(r["passed"] for r in rows) / n,
            "closed_loop_success": sum(r["closed_success"] for r in rows) / n,
            "mean_attempts": sum(r["attempts"] for r in rows) / n,
            "success_by_kind": {k: round(sum(v) / len(v), 3) for k, v in sorted(by_kind.items())},
            "failures": dict(sorted(fails.items(), key=lambda kv: -kv[1]))}


def chain_episodes(n: int, length: int, seed: int = 0) -> list[dict[str, Any]]:
    """The benchmark's ``n`` goals of ``length`` sub-actions on 4–6 object scenes: each as
    its start ``scene``, its ``plan`` and rendered ``first`` frame."""
    from spiral.core.types import Plan
    from spiral.worlds.tabletop.goal_gen import goal_episodes
    from spiral.worlds.tabletop.goals import parse_goal, plan_clauses
    from spiral.worlds.tabletop.render import render_scene
    from spiral.worlds.tabletop.scene import SceneSpec, random_scene

    spec = SceneSpec(min_objects=4, max_objects=6)
    out = []
    for scene_seed, goal in goal_episodes(n, length, seed=1000 + seed, spec=spec):
        scene = random_scene(scene_seed, spec)
        clauses = parse_goal(goal, scene)
        steps, conds, _ = plan_clauses(scene, clauses)
        plan = Plan(goal=goal, steps=steps, goal_conditions=conds, clauses=clauses)
        out.append({"scene": scene, "plan": plan, "first": render_scene(scene)})
    return out


def _grounded(planner: Any, ep: dict[str, Any], k: int, frame: np.ndarray, memory: EpisodeMemory,
              length: int, counts: dict[str, int]) -> SubAction:
    """Step ``k`` of the episode as the closed loop runs it (``loop.ground``): a relative step
    whose plan-time pins rest on an earlier step's assumed result is pinned again from
    ``frame``. A grounded plan that would end before ``length`` steps is not taken, nor one
    that cannot be made from ``frame`` (both counted)."""
    if planner is not None:
        from spiral.errors import SpiralError

        try:
            new = planner.ground(ep["plan"], k, frame, memory)
        except SpiralError:  # as the loop does: keep the plan-time pins
            new = None
            counts["ground_failed"] += 1
        if new is not None:
            if len(new.steps) >= length:
                ep["plan"] = new
                counts["grounded"] += 1
            else:
                counts["ground_skipped"] += 1
    return ep["plan"].steps[k]


def eval_chains(generator: Any, n: int = 50, length: int = 8, keyframes: bool = True, seed: int = 0,
                num_frames: int = 12, ground: bool = True) -> dict[str, Any]:
    """All-correct-so-far after each of ``length`` chained sub-actions (no retries). With
    ``ground`` (what the closed loop does), a relative step pinned on an assumed state is
    pinned again from the model's frame before it runs (see :func:`_grounded`); without,
    it is judged against the plan-time pins."""
    from spiral.agents.symbolic_planner import SymbolicPlanner

    critic = PerceptionCritic()
    planner = SymbolicPlanner() if ground else None
    counts = {"grounded": 0, "ground_skipped": 0, "ground_failed": 0}
    states = [{**ep, "frame": ep["first"], "mem": _memory(critic, ep["first"])}
              for ep in chain_episodes(n, length, seed)]
    alive = np.ones(len(states), bool)
    curve = []
    first_failures: dict[str, int] = {}  # "kind: failure type" of the step each chain died at
    for k in range(length):
        idx = [i for i in range(len(states)) if alive[i]]
        if idx:
            subs = {i: _grounded(planner, states[i], k, states[i]["frame"], states[i]["mem"], length, counts)
                    for i in idx}
            reqs = [GenerationRequest(prompt=subs[i].prompt, cond_frame=states[i]["frame"],
                                      keyframes=[states[i]["first"]] if keyframes else [], num_frames=num_frames,
                                      seed=seed * 100_000 + i * 100 + k) for i in idx]
            clips = generator.generate(reqs)
            for i, c in zip(idx, clips):
                r = judge(critic, c.frames, subs[i], states[i]["mem"])
                ok = r["success"] and r["permanence"] and r["still"]
                if not ok:
                    key = f"{subs[i].kind}: {r['failure'] or 'unsuccessful'}"
                    first_failures[key] = first_failures.get(key, 0) + 1
                alive[i] = ok
                states[i]["frame"] = c.frames[-1]
        curve.append(round(float(alive.mean()), 4))
    return {"n": len(states), "length": length, "keyframes": keyframes, "ground": ground,
            "all_correct_so_far": curve, **counts,
            "first_failures": dict(sorted(first_failures.items(), key=lambda kv: -kv[1]))}


def eval_chains_teacher_forced(generator: Any, n: int = 50, length: int = 8, seed: int = 0,
                               num_frames: int = 12, ground: bool = True) -> dict[str, Any]:
    """The chains of :func:`eval_chains`, but every step starts from the simulator's frame of
    the true state (no drift): per step, the share of sub-actions done right, and the
    failure types. Against :func:`eval_chains` it separates the model's own error on
    crowded late-chain scenes from the error that drift over its own outputs adds."""
    from spiral.agents.symbolic_planner import SymbolicPlanner
    from spiral.worlds.tabletop.actions import apply
    from spiral.worlds.tabletop.render import render_scene

    critic = PerceptionCritic()
    planner = SymbolicPlanner() if ground else None
    counts = {"grounded": 0, "ground_skipped": 0, "ground_failed": 0}
    eps = chain_episodes(n, length, seed)
    ok = np.zeros((len(eps), length), bool)
    failures: dict[str, int] = {}
    by_kind: dict[str, list[bool]] = {}
    for i, ep in enumerate(eps):
        mem = _memory(critic, ep["first"])
        reqs, state, steps = [], ep["scene"], []
        for k in range(length):  # the true state before each step, rendered
            frame = render_scene(state)
            steps.append(_grounded(planner, ep, k, frame, mem, length, counts))
            reqs.append(GenerationRequest(prompt=steps[k].prompt, cond_frame=frame,
                                          num_frames=num_frames, seed=seed * 100_000 + i * 100 + k))
            state = apply(state, steps[k])
        for k, c in enumerate(generator.generate(reqs)):
            r = judge(critic, c.frames, steps[k], mem)
            ok[i, k] = r["success"] and r["permanence"] and r["still"]
            by_kind.setdefault(steps[k].kind, []).append(bool(ok[i, k]))
            if not ok[i, k]:
                key = r["failure"] or "unsuccessful"
                failures[key] = failures.get(key, 0) + 1
    return {"n": len(eps), "length": length, "ground": ground, **counts,
            "step_success": [round(float(x), 4) for x in ok.mean(0)],
            "all_steps_right": round(float(ok.all(1).mean()), 4),
            "success_by_kind": {k: round(sum(v) / len(v), 3) for k, v in sorted(by_kind.items())},
            "failures": dict(sorted(failures.items(), key=lambda kv: -kv[1]))}


def eval_uncovered_fill(generator: Any, root: str, split: str = "validation", whole: float = 0.75) -> dict[str, Any]:
    """Sub-actions of a split whose subject stands on a cube: in how many does the model's
    predicted fill show that lower cube whole (at least ``whole`` of a cube's area), the
    way the critic's uncovered-cube check reads it?"""
    from spiral.data.actwm_lite import iter_episodes
    from spiral.models.tiny_ti2v.sampling import predict
    from spiral.worlds.tabletop.perception import expected_area, perceive

    frames, prompts, lowers = [], [], []
    for ep in iter_episodes(root, split):
        for k, st in enumerate(ep["meta"]["steps"]):
            f0 = ep["clips"][k][0]
            scene = perceive(f0).scene
            subject = next((o for o in scene.objects if o.id == st["subject"]), None) if scene else None
            if subject is not None and subject.on:
                frames.append(f0)
                prompts.append(st["prompt"])
                lowers.append(scene.get(subject.on).color)
    if not frames:
        return {"n": 0, "whole": 0}
    fills = predict(generator.model, generator.tok, np.stack(frames), prompts)["fill"]
    fills = (fills.permute(0, 2, 3, 1).numpy() * 255).round().clip(0, 255).astype(np.uint8)
    ok = 0
    for fill, color in zip(fills, lowers):
        b = perceive(fill).blobs.get(color)
        ok += b is not None and b.area >= whole * expected_area("cube", fill.shape[0])
    return {"n": len(frames), "whole": ok}
