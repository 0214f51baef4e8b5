"""SPIRAL: closed-loop, self-improving action world models.

``import spiral`` is light: it imports no backend (no torch, diffusers, transformers,
ray or openai). Use :mod:`spiral.api` or the ``spiral`` command.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
