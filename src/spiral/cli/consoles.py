"""The CLI's rich consoles, which redact every secret the process knows from what they print
(:mod:`spiral.redaction`): the last line of defence for printed errors, tables and summaries."""

from __future__ import annotations

from typing import IO, Any, NoReturn

from rich.console import Console
from rich.markup import escape

from spiral.redaction import RedactingStream


class RedactingConsole(Console):
    """A :class:`rich.console.Console` whose output stream redacts secrets (still resolved at
    every write, so a redirected ``sys.stdout``/``sys.stderr`` is followed)."""

    @property
    def file(self) -> IO[str]:
        return RedactingStream(super().file)  # type: ignore[return-value]

    @file.setter
    def file(self, new_file: IO[str]) -> None:
        self._file = new_file


def consoles(**kwargs: Any) -> tuple[RedactingConsole, RedactingConsole]:
    """``(console, out_console)``: messages and progress on stderr, results on stdout."""
    return RedactingConsole(stderr=True, soft_wrap=True, **kwargs), RedactingConsole(soft_wrap=True, **kwargs)


def fail(console: Console, exc: Any, code: int = 2) -> NoReturn:
    """Print a :class:`spiral.errors.SpiralError`'s message and hint on ``console`` and end
    the command with exit ``code`` (2: bad input, docs/guarantees.md)."""
    import typer

    console.print(f"[bold red]error:[/] {escape(exc.message)}", highlight=False, soft_wrap=True)
    if exc.hint:
        console.print(f"[yellow]hint:[/] {escape(exc.hint)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)
