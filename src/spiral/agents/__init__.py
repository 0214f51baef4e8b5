"""Agents: planners and critics. Their prompts and templates are data files in ``prompts/``."""

from __future__ import annotations

import functools
from typing import Any


@functools.cache
def prompt_data(name: str) -> dict[str, Any]:
    """The parsed ``spiral/agents/prompts/<name>.yaml`` (read once per process)."""
    from importlib import resources

    import yaml

    return yaml.safe_load(resources.files("spiral.agents").joinpath(f"prompts/{name}.yaml").read_text())
