"""``spiral dataset …`` and ``spiral train …``."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Optional

import typer

from spiral.cli.consoles import consoles, fail
from spiral.errors import ConfigError, SpiralError

console, out_console = consoles()  # both redact secrets from what they print

dataset_app = typer.Typer(help="Build and inspect ActWM-Dataset-Lite.", no_args_is_help=True)
train_app = typer.Typer(help="Train models.", no_args_is_help=True)



def _check_out_dir(out: Path) -> None:
    if out.exists() and not out.is_dir():
        fail(console, SpiralError(f"--out {out} exists and is not a directory", "choose another --out"))


@dataset_app.command("build")
def dataset_build(
    out: Path = typer.Option(Path("data/actwm-lite"), "--out", "-o", help="Dataset directory (resumes if it exists)."),
    train: int = typer.Option(2400, min=1, help="Training episodes."),
    validation: int = typer.Option(200, min=1, help="Validation episodes (training validates on them)."),
    test: int = typer.Option(200, min=0, help="Test episodes."),
    min_steps: int = typer.Option(1, min=1, help="Fewest sub-actions per episode."),
    max_steps: int = typer.Option(6, min=1, help="Most sub-actions per episode."),
    size: int = typer.Option(64, min=32, max=512, help="Frame size in pixels."),
    frames: int = typer.Option(12, min=2, help="Frames per sub-action clip."),
    shard_size: int = typer.Option(100, min=1, help="Episodes per shard."),
    seed: int = typer.Option(0, help="Dataset seed (same seed, same dataset)."),
    workers: int = typer.Option(2, min=1, help="Parallel processes (with --executor ray: shards in flight)."),
    executor: str = typer.Option("local", "--executor", help="local (processes here) or ray (shards as tasks on "
                                 "a Ray cluster, shipped back here; docs/ray.md)."),
    ray_address: str | None = typer.Option(None, "--ray-address", help="ray: auto, HOST:PORT or ray://HOST:10001 "
                                            "or spiral (the instance `spiral ray start` keeps; default: start a local "
                                            "Ray instance for the run)."),
) -> None:
    """Build ActWM-Dataset-Lite (WebDataset shards) from the tabletop simulator."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from spiral.data.actwm_lite import DatasetSpec, build

    if max_steps < min_steps:
        fail(console, SpiralError(f"--max-steps {max_steps} is below --min-steps {min_steps}", "raise --max-steps"))
    _check_out_dir(out)
    spec = DatasetSpec(train=train, validation=validation, test=test, min_steps=min_steps, max_steps=max_steps,
                       size=size, frames_per_step=frames, shard_size=shard_size, seed=seed)
    with Progress("[bold]shards", BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console) as p:
        task = p.add_task("build", total=None)
        try:
            from spiral.exec import make_executor

            m = build(out, spec, workers=workers, progress=lambda d, n: p.update(task, completed=d, total=n),
                      executor=make_executor(executor, workers=workers, address=ray_address))
        except SpiralError as exc:
            fail(console, exc)
            return
    out_console.print(f"wrote {out}: " + ", ".join(f"{k} {v}" for k, v in m["splits"].items()) + " episodes")


@dataset_app.command("info")
def dataset_info(root: Path = typer.Argument(Path("data/actwm-lite"), help="Dataset directory.")) -> None:
    """Counts, action kinds and sizes of a dataset."""
    from spiral.data.actwm_lite import info

    try:
        out_console.print_json(json.dumps(info(root)))
    except SpiralError as exc:
        fail(console, exc)


@dataset_app.command("show")
def dataset_show(root: Path = typer.Argument(Path("data/actwm-lite"), help="Dataset directory."),
                 out: Path = typer.Option(Path("actwm-samples.png"), "--out", "-o", help="PNG grid or .mp4 video."),
                 split: str = typer.Option("train", help="train, validation or test."),
                 n: int = typer.Option(6, min=1, help="Episodes to show.")) -> None:
    """A grid image (first frame + end of each sub-action) or a video of sample episodes."""
    from spiral.data.actwm_lite import SPLITS, show

    if split not in SPLITS:
        fail(console, SpiralError(f"unknown split {split!r}", f"choose one of {', '.join(SPLITS)}"))
    if out.is_dir() or out.suffix.lower() not in (".png", ".mp4"):
        fail(console, SpiralError(f"--out {out} is neither a .png nor an .mp4 file", "e.g. --out samples.png or samples.mp4"))
    try:
        p = show(root, out, split, n)
    except SpiralError as exc:
        fail(console, exc)
        return
    out_console.print(f"wrote {p}")


@train_app.command("world-model")
def train_world_model(
    data: Path = typer.Option(Path("data/actwm-lite"), "--data", help="ActWM-Dataset-Lite directory."),
    out: Path = typer.Option(Path("runs/train-tiny-ti2v"), "--out", "-o", help="Output (resumes if it exists)."),
    max_steps: int = typer.Option(6000, min=1, help="Optimizer steps."),
    max_minutes: float = typer.Option(55.0, min=0.01, help="Wall-time budget (stops the run; with --schedule steps "
                                                           "run the same command again to go on)."),
    schedule: str = typer.Option("auto", help="Learning-rate schedule: 'auto' decays over whichever budget "
                                              "(steps, minutes) ends first; 'steps' (the shipped weights' recipe, "
                                              "see the model card) decays over --max-steps only and draws data per "
                                              "step from the seed, so a run repeats exactly, also after a kill "
                                              "and resume."),
    batch_size: int = typer.Option(32, min=1, help="Batch size."),
    lr: float = typer.Option(2e-3, min=0.0, help="Peak learning rate."),
    seed: int = typer.Option(0, help="Seed."),
    threads: int = typer.Option(2, min=1, help="CPU threads."),
    dice_weight: float = typer.Option(1.0, help="Weight of the soft-Dice mask loss (0 turns it off)."),
    fill_object_weight: float = typer.Option(4.0, help="Extra weight of revealed object pixels in the fill loss."),
    p_self_input: float = typer.Option(0.0, help="Share of follow-up sub-actions that start from the model's own "
                                                  "rendering of the previous step (DAgger-style; 0 = off)."),
    self_input_after: float = typer.Option(0.5, help="Start the own-rendering inputs at this share of --max-steps."),
    init_from: Path | None = typer.Option(None, help="Start from these weights (a directory with config.json "
                                                        "and model.safetensors) instead of from scratch."),
    fill_copy: int = typer.Option(8, min=0, help="Let the fill copy the frame from up to N pixels above or below "
                                          "(0 = a generated fill only)."),
    oversample_revealed: float = typer.Option(4.0, help="Draw sub-actions whose fill reveals an object (the cube "
                                                        "under a lifted cube) 1 + this many times as often."),
    oversample_kind: list[str] = typer.Option([], help="KIND=W: draw sub-actions of that action kind (e.g. "
                                                      "move_next_to) 1 + W times as often; repeatable."),
    bf16: bool = typer.Option(True, "--bf16/--fp32", help="bf16 autocast (the shipped recipe); --fp32 steps are "
                                                          "faster, see the model card."),
    channels_last: bool = typer.Option(False, "--channels-last/--nchw", help="NHWC convolutions (faster with "
                                                                           "--fp32)."),
    install: bool = typer.Option(False, "--install", help="Copy the final weights into the package (the shipped default)."),
) -> None:
    """Train the built-in tiny TI2V world model (CPU, resumable, EMA, CSV log, report)."""
    import shutil

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from spiral.data.tiny_ti2v import tabletop_inputs
    from spiral.models.tiny_ti2v.training import TrainConfig, train

    kinds: dict[str, float] = {}
    for item in oversample_kind:
        k, _, w = item.partition("=")
        try:
            kinds[k.strip()] = float(w)
        except ValueError:
            fail(console, ConfigError(f"--oversample-kind {item!r} is not KIND=WEIGHT",
                              "write it like --oversample-kind move_next_to=1"))
            return
    for name, w in [("--oversample-revealed", oversample_revealed), *[(f"--oversample-kind {k}", v)
                                                                    for k, v in kinds.items()]]:
        if not math.isfinite(w) or w < 0:
            fail(console, ConfigError(f"{name} weight {w} must be a finite number >= 0", "e.g. 1 (drawn twice as often)"))
    _check_out_dir(out)
    cfg = TrainConfig(data=str(data), out=str(out), max_steps=max_steps, max_minutes=max_minutes, schedule=schedule,
                      batch_size=batch_size, lr=lr, seed=seed, threads=threads,
                      dice_weight=dice_weight, fill_object_weight=fill_object_weight, p_self_input=p_self_input,
                      self_input_after=self_input_after, init_from=str(init_from) if init_from else None,
                      fill_copy=fill_copy, oversample_revealed=oversample_revealed,
                      oversample_kinds=kinds, bf16=bf16,
                      channels_last=channels_last)
    with Progress("[bold]training", BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[info]}"),
                  TimeElapsedColumn(), console=console) as p:
        task = p.add_task("train", total=max_steps, info="")

        def cb(e):
            v = e["val"]
            info = f"loss {e['loss']:.3f}" + (f" · val IoU {v['mask_iou']:.2f} err {v['target_err_px']:.1f}px" if v else "")
            p.update(task, completed=e["step"], info=info)

        try:
            report = train(cfg, tabletop_inputs(), progress=cb)
        except SpiralError as exc:
            fail(console, exc)
            return
    out_console.print_json(json.dumps(report["validation"]))
    if install:
        from spiral.generators.tiny_ti2v import shipped_weights

        dst = shipped_weights()
        dst.mkdir(parents=True, exist_ok=True)
        # each file lands whole (copied beside, then renamed), with the run's report beside them
        for src, name in ((out / "final" / "config.json", "config.json"),
                          (out / "final" / "model.safetensors", "model.safetensors"),
                          (out / "report.json", "training_report.json")):
            tmp = dst / f".{name}.tmp"
            shutil.copyfile(src, tmp)
            os.replace(tmp, dst / name)
        out_console.print(f"installed the weights into {dst}")
    out_console.print(f"weights: {out / 'final'} · log: {out / 'log.csv'} · report: {out / 'report.json'}")


__all__ = ["Optional", "dataset_app", "train_app"]


def _print_validation(trainer) -> None:
    rows = trainer.log.validation_rows() if trainer.log is not None else []
    if rows:
        r = rows[-1]
        out_console.print(f"validation at step {r['step']}: strict {float(r['val_strict']):.3f} · lenient "
                          f"{float(r['val_lenient']):.3f} · training reward {float(r['train_reward']):.3f} · "
                          f"best {float(r['best_strict']):.3f} (step {r['best_step']})", highlight=False)


@train_app.command("grpo")
def train_grpo(
    out: Path = typer.Option(Path("runs/grpo-tiny-ti2v"), "--out", "-o", help="Output (resumes if it holds a run)."),
    steps: int = typer.Option(50, min=1, help="GRPO updates in all (a resumed run goes on to this many)."),
    group: int = typer.Option(8, min=2, help="Rollouts per request (G)."),
    requests_per_step: int = typer.Option(4, min=1, help="Requests (groups) per update."),
    pool: int = typer.Option(512, min=1, help="Requests drawn from the world's generators to train on."),
    suite: str = typer.Option("hard", help="Scenes like the Hard suite's (7–8 objects, up to three bowls, covered "
                                           "cubes) or 'lite' (3–6 objects); never the suites' own scenes."),
    explore: float = typer.Option(1.0, min=0.0, help="Rollouts sample at temperature × (1 + explore), one draw."),
    mask_decisions: bool = typer.Option(False, "--mask-decisions", help="Rollouts also sample which colour "
                                        "components each moving layer carries, with exact log-probabilities "
                                        "(GRPO credits the layer's extent, not only its end point)."),
    trainable: str = typer.Option("heads", help="'heads' (decoder and output head) or 'all' the weights."),
    lr: float = typer.Option(1e-4, min=0.0, help="AdamW learning rate."),
    kl_beta: float = typer.Option(0.01, min=0.0, help="Weight of the KL to the shipped weights."),
    seed: int = typer.Option(0, help="Seed (requests, rollouts)."),
    threads: int = typer.Option(2, min=1, help="CPU threads."),
    mine: int = typer.Option(0, min=0, help="Sample each request of the pool this many times first and train "
                                           "only on those with mixed or imperfect rewards (0: off)."),
    executor: str = typer.Option("local", "--executor", help="Where rollouts run: local (--workers processes; "
                                 "1: this one) or ray (tasks on a Ray cluster; docs/ray.md)."),
    workers: int = typer.Option(1, min=1, help="Rollout workers (processes, or Ray tasks in flight)."),
    ray_address: str | None = typer.Option(None, "--ray-address", help="ray: auto, HOST:PORT or ray://HOST:10001 "
                                            "or spiral (the instance `spiral ray start` keeps; default: start a local "
                                            "Ray instance for the run)."),
    curriculum: bool = typer.Option(False, "--curriculum", help="Train in stages (atomic sub-actions, short goals, "
                                    "long goals through the loop) promoted by validation; --pool/--suite/--mine "
                                    "then come from the curriculum file."),
    curriculum_file: Path | None = typer.Option(None, "--curriculum-file", help="A curriculum YAML, or the name "
                                                   "of one shipped in spiral/rl/curricula (tiny-ti2v, tiny-ti2v-atomic); "
                                                   "implies --curriculum (default: tiny-ti2v)."),
    validate_every: int = typer.Option(50, min=0, help="Validate (plan-only strict success on held-out tasks) every "
                                                       "N updates; 0: never."),
    val_hard: int = typer.Option(5, min=0, help="Validation tasks per Hard recipe (seeds of their own, not the suite's)."),
    val_lite: int = typer.Option(15, min=0, help="Lite-like validation goals."),
    patience: int = typer.Option(3, min=1, help="Stop when the training reward rose while validation strict success "
                                                "fell this many validations in a row."),
) -> None:
    """GRPO on the built-in world model from the perception critic's rewards (CPU, resumable).

    Rollouts of ``tiny-ti2v`` on sub-actions the tabletop world generates (no dataset, no
    targets), rewarded by the critic's verdicts; metrics.csv, validation.csv (held-out strict
    success beside the training reward), tb/, curves.png, checkpoints/, best/ (the weights of
    the best validation) and, at the end, final/ (weights for ``--set generator.weights=OUT/final``).
    See docs/grpo.md."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    from functools import partial

    import torch

    from spiral.agents.perception_critic import PerceptionCritic
    from spiral.core.lock import DirLock
    from spiral.exec import make_executor
    from spiral.models.tiny_ti2v.modeling_tiny_ti2v import save_pretrained
    from spiral.rl.curves import plot_curves
    from spiral.rl.grpo import GRPOConfig, GRPOTrainer
    from spiral.rl.rewards import make_reward
    from spiral.rl.rollouts import ExecutorSampler
    from spiral.rl.tiny_policy import TinyTI2VPolicy, mine_requests, world_requests

    if trainable not in ("heads", "all"):
        fail(console, ConfigError(f"--trainable {trainable!r} is not heads or all", "use --trainable heads"))
    if suite not in ("hard", "lite"):
        fail(console, ConfigError(f"--suite {suite!r} is not hard or lite", "use --suite hard"))
    _check_out_dir(out)
    if (curriculum or curriculum_file is not None) and (executor != "local" or workers > 1):
        fail(console, ConfigError("a curriculum samples its rollouts in this process (its chain stages run the loop here)",
                          "drop --executor/--workers, or train without --curriculum"))
    torch.set_num_threads(threads)
    try:
        rollout_ex = make_executor(executor, workers=workers, address=ray_address)
        with DirLock(out, "GRPO output directory"), rollout_ex:
            policy = TinyTI2VPolicy(explore=explore, trainable=trainable, mask_decisions=mask_decisions)
            # rollouts on the executor's workers, each with a copy of the policy (one worker: this process)
            sampler = ExecutorSampler(policy, rollout_ex, partial(TinyTI2VPolicy, explore=explore, trainable=trainable,
                                                                  mask_decisions=mask_decisions))
            cfg = GRPOConfig(group_size=group, requests_per_step=requests_per_step, steps=steps, lr=lr,
                             kl_beta=kl_beta, seed=seed, checkpoint_every=5, validate_every=validate_every,
                             divergence_patience=patience)
            reward = make_reward(PerceptionCritic())
            validate = None
            if validate_every:
                from spiral.rl.validation import Validator, load_or_make_tasks

                out.mkdir(parents=True, exist_ok=True)
                validator = Validator(load_or_make_tasks(out / "validation-tasks.jsonl", val_hard, val_lite, seed))

                def validate() -> dict:
                    return validator.evaluate(policy.generator())
            if curriculum or curriculum_file is not None:
                from spiral.rl.curriculum import TinyCurriculum, load_curriculum

                if not validate_every:
                    raise ConfigError("a curriculum is promoted by validation", "set --validate-every above 0")
                requests = TinyCurriculum(load_curriculum(curriculum_file), policy, reward, out,
                                          requests_per_step=requests_per_step, seed=seed)
            else:
                requests = world_requests(pool, seed=seed, hard=suite == "hard")
                if mine:
                    requests = mine_requests(sampler, requests, reward, k=mine, seed=seed)
                    out_console.print(f"{len(requests)} of {pool} requests have mixed or imperfect rewards",
                                      highlight=False)
                    if not requests:
                        raise ConfigError("no request of the pool has mixed rewards", "raise --pool or --explore")
            trainer = GRPOTrainer(sampler, reward, requests, cfg, out_dir=out, validate=validate,
                                  export_best=lambda d: save_pretrained(policy.model, d))
            if trainer.validate_start() is not None:  # the starting weights (a resumed run has it already)
                _print_validation(trainer)
            while trainer.step_done < steps and not trainer.stopped:
                row = trainer.step().row
                stage = f"[{trainer.curriculum.stage}] " if trainer.curriculum is not None else ""
                out_console.print(f"{stage}step {row['step']}/{steps}: reward {row['reward_mean']:.3f} ± "
                                  f"{row['reward_std']:.3f} · mixed groups {row['mixed_share']:.0%} · "
                                  f"kl {row['kl']:.4f} · {row['sample_s'] + row['reward_s'] + row['update_s']:.1f} s",
                                  highlight=False)
                if validate_every and (row["step"] % validate_every == 0 or row["step"] >= steps):
                    _print_validation(trainer)
            save_pretrained(policy.model, out / "final")
            plot_curves(out)
            if trainer.log is not None:
                trainer.log.close()
    except SpiralError as exc:
        fail(console, exc)
    if trainer.stopped:
        out_console.print(f"[bold yellow]GRPO {trainer.stopped}[/]")
    if trainer.best is not None:
        out_console.print(f"best validation: strict {trainer.best['strict']:.3f} at step {trainer.best['step']} "
                          f"(use --set generator.weights={out / 'best'})", highlight=False)
    out_console.print(f"weights: {out / 'final'} (use --set generator.weights={out / 'final'})")
