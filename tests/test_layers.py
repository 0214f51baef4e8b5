"""The layer rules of the design (shared DESIGN.md, "Layers"): who may import whom.

``core`` imports no backend, world, model, agent, bench or CLI module (it may use the config,
the errors and the redactor); ``models/`` imports only itself, core (not the loop) and the
errors: a world's colours and words come in as data; ``spiral.rl`` is imported by nothing in
core. Checked on the
source text (every ``import``/``from`` statement, lazy ones inside functions included)."""

import ast
from pathlib import Path

import spiral

SRC = Path(spiral.__file__).parent
CORE_MAY_IMPORT = ("spiral.core", "spiral.config", "spiral.errors", "spiral.redaction", "spiral.__version__")


def _imports(path: Path) -> list[str]:
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module == "spiral" and node.level == 0:
            out += [f"spiral.{a.name}" for a in node.names]  # from spiral import redaction, __version__
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append(node.module)
    return [m for m in out if m == "spiral" or m.startswith("spiral.")]


def test_core_imports_no_backend_world_model_or_cli():
    bad = [(p.relative_to(SRC).as_posix(), m) for p in (SRC / "core").rglob("*.py") for m in _imports(p)
           if not m.startswith(CORE_MAY_IMPORT)]
    assert not bad, bad


def test_config_and_errors_import_no_upper_layer():
    for name in ("config.py", "errors.py", "redaction.py"):
        bad = [m for m in _imports(SRC / name)
               if not m.startswith(("spiral.errors", "spiral.redaction", "spiral.config", "spiral.__version__"))
               and m != "spiral.core.loop_config"]  # the loop's settings, owned by core
        assert not bad, (name, bad)


def test_the_loop_config_core_owns_imports_nothing_of_spiral():
    """``spiral.config`` imports it: a spiral import here would be a cycle in waiting."""
    assert _imports(SRC / "core" / "loop_config.py") == []


def test_nothing_outside_rl_and_cli_imports_rl():
    bad = [(p.relative_to(SRC).as_posix(), m) for p in SRC.rglob("*.py")
           if not p.relative_to(SRC).as_posix().startswith(("rl/", "cli/")) for m in _imports(p)
           if m.startswith("spiral.rl")]
    assert not bad, bad


MODELS_MAY_IMPORT = ("spiral.models", "spiral.core", "spiral.errors")


def test_models_import_only_themselves_and_core_types():
    bad = [(p.relative_to(SRC).as_posix(), m) for p in (SRC / "models").rglob("*.py") for m in _imports(p)
           if not m.startswith(MODELS_MAY_IMPORT) or m.startswith("spiral.core.loop")]
    assert not bad, bad


def test_core_owns_the_loop_config():
    from spiral.config import LoopConfig
    from spiral.core.loop_config import LoopConfig as Owned

    assert LoopConfig is Owned
