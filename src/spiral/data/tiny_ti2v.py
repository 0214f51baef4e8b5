"""What training the tiny TI2V model takes from the tabletop world, ActWM-Dataset-Lite and
the perception critic, gathered here (the layer above the model) and handed to
:func:`spiral.models.tiny_ti2v.training.train` as a ``TrainingInputs``."""

from __future__ import annotations

from typing import Any

CONNECTORS = ["then", "and", "after", "that", "all", "every", "the"]


def feedback_suffixes() -> list[str]:
    """Sentences the loop's rewrite_prompt refinement adds (so the model tolerates them): the
    perception critic's feedback templates, filled in, and the refinement's rewrite templates."""
    from spiral.agents.perception_critic import feedback_templates
    from spiral.core.refine import refine_rules

    out = []
    names = ["red cube", "blue ball", "green bowl", "yellow cube", "purple ball", "white cube"]
    fb = feedback_templates()
    for t in fb.values():
        out.append(t.format(subject=names[0], goal="the red cube is in the green bowl", other=names[1],
                            obj=names[2], frame=5, color="orange", a=4, b=5))
    for t in refine_rules()["rewrite"].values():
        out.append(t.format(prompt="", feedback="").strip(" .;,"))
    return out


def tabletop_words() -> list[str]:
    """Texts whose words join the vocabulary beyond the dataset's: the action phrasings, the
    direction, region and kind words, the colour names, the feedback sentences, connectors."""
    from spiral.worlds.tabletop.actions import phrases
    from spiral.worlds.tabletop.scene import COLORS

    corpus: list[str] = []
    p = phrases()
    for ts in p["actions"].values():
        corpus += ts
    for group in ("directions", "regions", "kinds"):
        for ws in p[group].values():
            corpus += ws
    return corpus + list(COLORS) + feedback_suffixes() + CONNECTORS


def tabletop_inputs() -> Any:
    """The :class:`~spiral.models.tiny_ti2v.training.TrainingInputs` of the tabletop world and
    ActWM-Dataset-Lite (what ``spiral train world-model`` trains on)."""
    from spiral.data.actwm_lite import iter_episodes, load_manifest
    from spiral.generators.tiny_ti2v import tabletop_palette
    from spiral.models.tiny_ti2v.training import TrainingInputs
    from spiral.worlds.tabletop.actions import ACTION_KINDS

    return TrainingInputs(episodes=iter_episodes, manifest=lambda root: load_manifest(root, verify=True),
                          palette=tabletop_palette(), words=tabletop_words(), feedback=feedback_suffixes(),
                          action_kinds=tuple(ACTION_KINDS))
