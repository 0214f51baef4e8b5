"""Critic fidelity of the built-in perception critic on a large labelled suite.

Usage:  python benchmarks/bench_critic_fidelity.py [--scenes 100] [--seed 0] [--json out.json]

Each scene: a seeded random tabletop scene (4–6 objects) and a random valid sub-action,
rendered exactly (label "pass") and once per corruption of
spiral.worlds.tabletop.corrupt.CORRUPTIONS (label: its failure type; corruptions that cannot
be made in a scene are skipped). The critic sees pixels only. Reported: balanced accuracy
(mean recall over pass + the six failure types), detection (fail vs pass) TPR/TNR/balanced
accuracy, precision/recall per failure type, per-corruption detection and naming, the
confusion matrix. Any other critic: `spiral bench critic --critic NAME` (e.g. a VLM).
"""

from __future__ import annotations

import argparse
import json
import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from spiral.agents.perception_critic import PerceptionCritic
from spiral.bench.critic_fidelity import evaluate


def pct(x: float | None) -> str:
    return "—" if x is None else f"{x:.1%}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scenes", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", help="also write the full report (with every clip's prediction) here")
    args = ap.parse_args()
    r = evaluate(PerceptionCritic(), n_scenes=args.scenes, seed=args.seed)
    d = r["detection"]
    print(f"perception critic · {r['n_clips']} clips from {r['n_scenes']} scenes (seed {args.seed}) · "
          f"{r['s_per_clip'] * 1000:.0f} ms/clip · {r['wall_s']:.0f} s\n")
    print(f"balanced accuracy (pass + 6 failure types): **{pct(r['balanced_accuracy'])}**  ")
    print(f"detection (fail vs pass): balanced accuracy {pct(d['balanced_accuracy'])}, TPR {pct(d['tpr'])}, "
          f"TNR {pct(d['tnr'])}, precision {pct(d['precision'])}\n")
    print("| failure type | support | precision | recall | F1 |\n|---|---|---|---|---|")
    for k, v in r["per_type"].items():
        print(f"| {k} | {v['support']} | {pct(v['precision'])} | {pct(v['recall'])} | {pct(v['f1'])} |")
    print("\n| corruption | label | clips | detected | named right |\n|---|---|---|---|---|")
    for k, v in r["per_corruption"].items():
        print(f"| {k} | {v['label']} | {v['n']} | {pct(v['detection_rate'])} | {pct(v['type_recall'])} |")
    cm = r["confusion"]
    print("\nconfusion (rows: true, columns: predicted)\n")
    print("| | " + " | ".join(cm["labels_pred"]) + " |\n" + "|---" * (len(cm["labels_pred"]) + 1) + "|")
    for name, row in zip(cm["labels_true"], cm["matrix"]):
        print(f"| {name} | " + " | ".join(str(x) for x in row) + " |")
    if r["skipped"]:
        print("\nnot applicable (skipped): " + ", ".join(f"{k} ×{v}" for k, v in r["skipped"].items()))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(r, f, indent=1)


if __name__ == "__main__":
    main()
