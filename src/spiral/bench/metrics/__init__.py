"""ActWM-Bench metrics, one module each, every one a ``compute(...) -> dict[str, float]``."""
