"""Benchmarks: critic fidelity (more to come: ActWM-Bench-Lite task suites and metrics)."""
