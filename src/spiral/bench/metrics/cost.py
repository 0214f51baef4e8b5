"""Cost of an episode: generator calls, sampling steps (NFE), retries, replans, wall time,
and for API agents tokens (from the run's result; lower is cheaper).

``loop_overhead_share`` = (planning + critique + memory/IO time − the part of it done while
a speculative generation ran, ``overlap_s``) / episode wall time, from the trace timings:
what the loop costs on top of the generator (lower is better). With ``loop.speculate``,
``speculative_calls_wasted`` counts the generator calls made ahead and not used. When the
generator and the loop share the CPU (the built-in model), speculation also slows the
generator, which this share does not see: ``benchmarks/bench_loop_overhead.py --speculate``
gives the strict figure, against the generator time of a sequential run."""

from __future__ import annotations

from spiral.bench.metrics._episode import Episode


def compute(ep: Episode) -> dict[str, float]:
    r = ep.result
    cost = r.get("cost") or {}
    tokens = float(sum(v for k, v in cost.items() if "tokens" in k and isinstance(v, (int, float))))
    t = r.get("timing") or {}
    wall = float(r.get("wall_s", 0.0))
    overhead = sum(float(t.get(k, 0.0)) for k in ("plan_s", "critic_s", "memory_io_s")) - float(t.get("overlap_s", 0.0))
    overhead = max(0.0, overhead)
    return {"loop_overhead_share": overhead / wall if wall > 0 else 0.0,
            "generator_calls": float(r.get("generator_calls", 0)), "nfe": float(r.get("nfe", 0)),
            "retries": float(r.get("retries", 0)), "replans": float(r.get("replans", 0)),
            "wall_s": float(r.get("wall_s", 0.0)), "tokens": tokens,
            "speculative_calls_wasted": float(cost.get("speculative_calls_wasted", 0))}
