"""``import spiral`` (and the core library) must stay light."""

import subprocess
import sys

HEAVY = ("torch", "diffusers", "transformers", "ray", "openai")


def _imported_after(code: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", code + "\nimport sys\nprint(','.join(sorted(sys.modules)))"],
                         capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1]
    return set(out.split(","))


def test_import_spiral_is_light():
    mods = _imported_after("import spiral")
    assert not {m for m in mods if m.split(".")[0] in HEAVY}


def test_core_and_cli_do_not_import_heavy_backends():
    code = ("import spiral.api, spiral.cli.main, spiral.core.loop, spiral.registry\n"
            "from spiral.config import build_config\n"
            "from spiral.api import build_components\n"
            "build_components(build_config(overrides={'goal': 'stack all the cubes', "
            "'generator': {'name': 'sim-faulty'}}))")
    mods = _imported_after(code)
    assert not {m for m in mods if m.split(".")[0] in HEAVY}
