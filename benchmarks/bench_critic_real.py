"""The perception critic judged on the built-in model's real failures.

Usage:  python benchmarks/bench_critic_real.py [--scenes 100] [--part held-out] [--seed 0] [--json out.json]
        [--no-restore]

The set (spiral.bench.critic_real): tiny-ti2v (shipped weights) generates every step of
Lite-like scenes (3-6 objects, one bowl, 2-step chains) and Hard-like scenes (7-8 objects,
two or three bowls, stacked starts, clearing steps, put_in with several bowls, 3-step
chains continued from the model's own frames), with 2 seeds at the model's temperature and
1 at temperature 1.0. An oracle labels every clip from the simulator's true states
(spiral.worlds.tabletop.oracle, no perception code). Even scene indices are the dev part
(thresholds were tuned there), odd ones the held-out part (reported here).

Printed: balanced accuracy (mean recall over pass and the failure types present), false
rejections of correct clips, residue recall and precision, precision/recall per failure
type, per suite and step kind, the confusion matrix. Any other critic:
`spiral bench critic --real --critic NAME`.
"""

from __future__ import annotations

import argparse
import json
import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from spiral.agents.perception_critic import PerceptionCritic
from spiral.bench.critic_real import PARTS, evaluate


def pct(x: float | None) -> str:
    return "—" if x is None else f"{x:.1%}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scenes", type=int, default=100, help="scenes per suite (lite, hard); half are the part")
    ap.add_argument("--part", default="held-out", choices=PARTS)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", help="also write the full report (with every clip's labels) here")
    ap.add_argument("--no-restore", action="store_true",
                    help="generate without the world's bowl restore (RenderPalette.restore): the model as it was "
                         "before it, which left notches in bowls' rims, so residue detection has real residue to find")
    args = ap.parse_args()
    gens: dict = {}
    if args.no_restore:
        from dataclasses import replace

        from spiral.generators.tiny_ti2v import TinyTI2VGenerator, shipped_weights, tabletop_palette
        from spiral.models.tiny_ti2v.modeling_tiny_ti2v import load_pretrained

        model = load_pretrained(str(shipped_weights()))  # its own copy: the generators' cache keeps the restore
        model.palette = replace(tabletop_palette(), restore=None)
        gens = {"generator": TinyTI2VGenerator(model=model),
                "hot_generator": TinyTI2VGenerator(model=model, config=TinyTI2VGenerator.Config(temperature=1.0))}
    r = evaluate(PerceptionCritic(), n_scenes=args.scenes, seed=args.seed, part=args.part, **gens)
    d, fr, res = r["detection"], r["false_rejection"], r["residue"]
    print(f"perception critic · {args.part} part{' · generator without the bowl restore' if args.no_restore else ''} · {r['n_clips']} clips ({r['distinct_clips']} distinct) from "
          f"{args.scenes} scenes per suite (seed {args.seed}) · {r['s_per_clip'] * 1000:.0f} ms/clip · "
          f"{r['wall_s']:.0f} s\n")
    print("oracle labels: " + "; ".join(f"{s}: " + ", ".join(f"{k} {v}" for k, v in c.items())
                                        for s, c in r["by_suite"].items()) + "\n")
    print(f"balanced accuracy (pass + failure types present): **{pct(r['balanced_accuracy'])}** "
          f"(over the classes with at least 10 clips: {pct(r['balanced_accuracy_supported'])})  ")
    print(f"false rejections: {fr['rejected']} of {fr['correct_clips']} correct clips (**{pct(fr['rate'])}**)  ")
    print(f"residue: recall **{pct(res['recall'])}**, precision {pct(res['precision'])} "
          f"({res['support']} clips with residue, {res['flagged']} flagged)  ")
    print(f"detection (fail vs pass): balanced accuracy {pct(d['balanced_accuracy'])}, TPR {pct(d['tpr'])}, "
          f"TNR {pct(d['tnr'])}, precision {pct(d['precision'])}\n")
    print("| failure type | support | precision | recall | F1 |\n|---|---|---|---|---|")
    for k, v in r["per_type"].items():
        print(f"| {k} | {v['support']} | {pct(v['precision'])} | {pct(v['recall'])} | {pct(v['f1'])} |")
    print("\n| suite: step kind | oracle labels | clips | judged right (pass/fail) | named right |\n|---|---|---|---|---|")
    for k, v in r["per_corruption"].items():
        print(f"| {k} | {v['label']} | {v['n']} | {pct(v['detection_rate'])} | {pct(v['type_recall'])} |")
    cm = r["confusion"]
    print("\nconfusion (rows: oracle, columns: critic)\n")
    print("| | " + " | ".join(cm["labels_pred"]) + " |\n" + "|---" * (len(cm["labels_pred"]) + 1) + "|")
    for name, row in zip(cm["labels_true"], cm["matrix"]):
        print(f"| {name} | " + " | ".join(str(x) for x in row) + " |")
    wrong = [x for x in r["rows"] if x["label"] != x["pred"] or x["residue"] != x["pred_residue"]]
    if wrong:
        print("\ndisagreements (oracle vs critic):")
        for x in wrong:
            print(f"  {x['suite']} scene {x['scene_seed']} step {x['step']} seed {x['seed']}: {x['prompt']} | "
                  f"oracle {x['label']}{' +residue' if x['residue'] else ''} ({'; '.join(x['oracle']['problems'])}) | "
                  f"critic {x['pred']}{' +residue' if x['pred_residue'] else ''}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(r, f, indent=1)


if __name__ == "__main__":
    main()
