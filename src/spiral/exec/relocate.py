"""Make a job's files name the driver's directory, not the scratch directory they were written in.

A job run with shipped files (:class:`spiral.exec.ray_executor.RayExecutor`) writes into a
scratch directory on its node; what it records about itself (a run's ``config.json`` names
its scene file, the trace's ``scene`` event its path) then names that scratch directory,
which the driver does not have. :func:`relocate_tree` rewrites those records, before the
files are shipped, to name the directory they land in on the driver, so a shipped run
directory is the one the job would have written there itself:

* every text file (by suffix) that holds the scratch path gets the driver's path instead
  (inside JSON, as a JSON string would spell it);
* a run's ``config.json`` whose config names a path therefore gets a new ``config_hash``
  (the hash covers the scene file's path): it is recomputed from the rewritten config and
  replaces the old one in that run directory's files, but only where the old one was the
  hash of the old config (so a hash this code does not understand is left alone).

Binary files are never edited; one that holds the scratch path is logged.
:func:`relocate_value` does the same for the job's result (strings in nested dicts, lists).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

TEXT_SUFFIXES = frozenset({".json", ".jsonl", ".txt", ".csv", ".html", ".md", ".yaml", ".yml", ".toml", ".log"})
JSON_SUFFIXES = frozenset({".json", ".jsonl"})


def _spellings(old: str, new: str, as_json: bool) -> list[tuple[bytes, bytes]]:
    pairs = [(old, new)]
    if as_json:  # as json.dumps writes each path inside a string (quotes, backslashes, non-ASCII)
        pairs = [(json.dumps(old, ensure_ascii=a)[1:-1], json.dumps(new, ensure_ascii=a)[1:-1]) for a in (True, False)]
    out: list[tuple[bytes, bytes]] = []
    for a, b in pairs:
        pair = (a.encode(), b.encode())
        if pair not in out:
            out.append(pair)
    return out


def _replace_in(path: Path, pairs: list[tuple[bytes, bytes]]) -> bool:
    data = path.read_bytes()
    new = data
    for a, b in pairs:
        new = new.replace(a, b)
    if new == data:
        return False
    path.write_bytes(new)
    return True


def relocate_tree(directory: str | Path, old: str, new: str) -> list[Path]:
    """Rewrite ``old`` (the directory the files were written in) as ``new`` (where they
    will be) in the text files under ``directory``, then fix the ``config_hash`` of run
    directories whose config changed. Returns the files changed."""
    directory = Path(directory)
    old, new = str(old).rstrip("/") or "/", str(new).rstrip("/") or "/"
    if old == new:
        return []
    hashes = _old_hashes(directory, old, new)  # before rewriting: the hash the old config gave
    changed: list[Path] = []
    old_b = old.encode()
    for p in sorted(directory.rglob("*")):
        if not p.is_file() or p.is_symlink():
            continue
        if p.suffix.lower() in TEXT_SUFFIXES:
            if _replace_in(p, _spellings(old, new, p.suffix.lower() in JSON_SUFFIXES)):
                changed.append(p)
        elif p.stat().st_size < (64 << 20) and old_b in p.read_bytes():
            log.warning("%s names the job's scratch directory %s; it is binary and stays as it is", p, old)
    for run_dir, (before, after) in hashes.items():
        pairs = [(before.encode(), after.encode())]
        for p in sorted(run_dir.rglob("*")):
            if (p.is_file() and not p.is_symlink() and p.suffix.lower() in TEXT_SUFFIXES
                    and _replace_in(p, pairs) and p not in changed):
                changed.append(p)
    return changed


def _old_hashes(directory: Path, old: str, new: str) -> dict[Path, tuple[str, str]]:
    """Run directory -> (its config_hash, the hash of its config once relocated), for the
    run configs under ``directory`` that name ``old`` and whose hash this code reproduces."""
    from spiral.config import build_config

    out: dict[Path, tuple[str, str]] = {}
    for cfg_path in sorted(directory.rglob("config.json")):
        try:
            data = json.loads(cfg_path.read_text())
        except (OSError, ValueError):
            continue
        if not (isinstance(data, dict) and isinstance(data.get("config"), dict)
                and isinstance(data.get("config_hash"), str)):
            continue
        before = data["config_hash"]
        try:
            if build_config(overrides=data["config"]).identity() != before:
                log.warning("%s: its config_hash is not its config's hash; left as it is", cfg_path)
                continue
            after = build_config(overrides=relocate_value(data["config"], old, new)).identity()
        except Exception as exc:  # noqa: BLE001 - a config this version cannot read: leave the hash
            log.warning("%s: cannot recompute its config_hash (%s); left as it is", cfg_path, exc)
            continue
        if after != before:
            out[cfg_path.parent] = (before, after)
    return out


def relocate_value(value: Any, old: str, new: str) -> Any:
    """``value`` with ``old`` replaced by ``new`` in every string (nested dicts, lists, tuples)."""
    old, new = str(old).rstrip("/") or "/", str(new).rstrip("/") or "/"
    if isinstance(value, str):
        return value.replace(old, new) if old in value else value
    if isinstance(value, dict):
        return {relocate_value(k, old, new): relocate_value(v, old, new) for k, v in value.items()}
    if isinstance(value, list):
        return [relocate_value(v, old, new) for v in value]
    if isinstance(value, tuple):
        return tuple(relocate_value(v, old, new) for v in value)
    return value
