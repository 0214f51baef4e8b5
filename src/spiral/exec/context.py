"""The generator service an executor may provide to the jobs it runs.

On Ray, a generator that needs a device lives in long-lived actors (one per GPU, loaded
once); an episode task then talks to them through a proxy instead of loading its own copy.
The executor installs the service around each job (:func:`serving`);
:func:`spiral.api.build_components` asks :func:`remote_generator` first and builds the
generator itself when no service serves that generator config. Nothing else changes: the
episode, its trace and its results are the same either way.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any, Protocol


class GeneratorService(Protocol):
    def generator_for(self, generator_config: dict[str, Any]) -> Any | None:
        """A generator for this config (``cfg.generator`` as JSON), or ``None`` if not served."""
        ...


_service: GeneratorService | None = None


def config_key(generator_config: dict[str, Any]) -> str:
    """What identifies a generator config (the actor's and the episode's must match)."""
    return json.dumps(generator_config, sort_keys=True, default=str)


def remote_generator(cfg: Any) -> Any | None:
    """The served generator for ``cfg`` (a RunConfig), or ``None`` when none is installed
    or it serves another generator config."""
    if _service is None:
        return None
    return _service.generator_for(cfg.generator.model_dump(mode="json"))


@contextlib.contextmanager
def serving(service: GeneratorService | None) -> Iterator[None]:
    """Install ``service`` for the duration of one job (in the worker process)."""
    global _service
    old, _service = _service, service
    try:
        yield
    finally:
        _service = old
