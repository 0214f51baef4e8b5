"""The bench report renders in a real headless browser."""

import shutil
import subprocess

import pytest

from spiral.bench.report import write_report
from spiral.bench.runner import run_suite
from spiral.bench.tasks import builtin_suite
from spiral.errors import InputFileError


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    root = tmp_path_factory.mktemp("bench")
    lines = builtin_suite().read_text().splitlines()
    tasks = root / "tasks.jsonl"
    tasks.write_text("\n".join([lines[0], lines[40], lines[70]]) + "\n")
    a = run_suite(tasks, root / "closed", "closed-loop", {"generator": {"name": "sim-faulty", "fault_rate": 0.4}},
                  workers=1)
    b = run_suite(tasks, root / "plan", "plan-only", {"generator": {"name": "sim-faulty", "fault_rate": 0.4}},
                  workers=1)
    assert a["tasks"] == b["tasks"] == 3
    return root


def test_report_page_has_table_plots_and_gallery(results):
    out = write_report([results / "closed", results / "plan"], results / "report.html")
    page = out.read_text()
    for needle in ("Comparison", "task_success", "plot-horizon", "plot-compute", "plot-failures", "<video",
                   "data:image/png;base64,"):
        assert needle in page
    with pytest.raises(InputFileError, match="not a benchmark results directory"):
        write_report([results / "nope"], results / "x.html")


def test_report_renders_in_headless_chromium(results):
    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if browser is None:
        pytest.skip("no Chromium on this machine (.ci/run installs it)")
    out = write_report([results / "closed", results / "plan"], results / "report.html")
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={results / 'chrome'}"]
    dom = subprocess.run([browser, *flags, "--dump-dom", out.as_uri()], capture_output=True, text=True,
                         timeout=120, check=False).stdout
    assert "plot-horizon" in dom and "<video" in dom and "0." in dom
    shot = results / "shot.png"
    subprocess.run([browser, *flags, f"--screenshot={shot}", "--window-size=1200,1600", out.as_uri()],
                   capture_output=True, timeout=120, check=False)
    import numpy as np
    from PIL import Image

    img = np.asarray(Image.open(shot).convert("L"))
    assert img.shape[0] > 100 and img.std() > 10, "the page rendered as a blank image"


def test_a_small_directory_shows_each_episode_once_and_links_through_symlinks(results, tmp_path):
    import re

    link = tmp_path / "via-link"
    link.symlink_to(results)
    out = write_report([link / "closed"], link / "small.html")
    page = out.read_text()
    ids = re.findall(r"<figcaption>(?:worst|best): ([^ ]+) ", page)
    assert len(ids) == 3 and len(set(ids)) == 3  # 3 tasks: 3 worst, no "best" repeats
    for src in re.findall(r"<video src='([^']+)'", page):  # the page's links work from where it lies
        assert (link / src).exists() or (results / src).exists(), src


def test_results_of_different_suites_are_flagged(results, tmp_path, caplog):
    import json
    import logging

    from spiral.bench.runner import compare

    other = tmp_path / "other"
    shutil.copytree(results / "plan", other)
    cfg = json.loads((other / "config.json").read_text())
    (other / "config.json").write_text(json.dumps({**cfg, "suite_sha256": "0" * 64}))
    with caplog.at_level(logging.WARNING):
        compare([results / "closed", other])
    assert "different task suites" in caplog.text
