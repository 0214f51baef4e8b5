"""Errors raised by SPIRAL. Every user-facing error names the problem and the fix."""

from __future__ import annotations

from spiral.redaction import redact


class SpiralError(Exception):
    """Base class of the errors SPIRAL raises on bad input or impossible requests.

    ``hint`` says how to fix it; the CLI prints both and exits non-zero.
    """

    exit_code = 2

    def __init__(self, message: str, hint: str | None = None):
        message = redact(message)  # no secret the process knows is ever part of an error
        hint = redact(hint) if hint is not None else None
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:  # pragma: no cover - trivial
        return self.message if not self.hint else f"{self.message}\n  hint: {self.hint}"


class ConfigError(SpiralError):
    """A config key or value is wrong."""


class GoalParseError(SpiralError):
    """The planner could not understand the goal text."""


class AmbiguousGoalError(GoalParseError):
    """The goal could mean more than one thing; the message is the question back
    ("which ball: the red one or the yellow one?")."""


class UnknownObjectError(SpiralError):
    """The goal names an object the scene does not have."""


class ImpossibleGoalError(SpiralError):
    """The goal is understood but cannot be achieved in this scene."""


class InputFileError(SpiralError):
    """A scene, image or config file is missing or unreadable."""


class RunDirError(SpiralError):
    """The output directory cannot be used for this run."""


class BackendError(SpiralError):
    """A backend (generator, planner, critic) failed or was misused."""
