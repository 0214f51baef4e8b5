"""A local Ray instance for tests: 2 CPUs, no dashboard, auth off, and HOME and Ray's temp
directory under the test's own tmp path, so nothing touches the user's home."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def local_ray_instance(tmp: Path) -> Iterator[object]:
    """Start one (stopping any another module left running), yield the ``ray`` module, stop it."""
    import ray

    rtmp = tempfile.mkdtemp(prefix="sr-")  # Ray's socket paths must stay under 107 bytes
    env = {"RAY_AUTH_MODE": "disabled", "HOME": str(tmp / "home"), "RAY_TMPDIR": rtmp}
    old = {k: os.environ.get(k) for k in env}
    (tmp / "home").mkdir(exist_ok=True)
    os.environ.update(env)
    if ray.is_initialized():  # pragma: no cover - another module left one running
        ray.shutdown()
    ray.init(num_cpus=2, include_dashboard=False, logging_level="WARNING")
    try:
        yield ray
    finally:
        ray.shutdown()
        shutil.rmtree(rtmp, ignore_errors=True)
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
