"""The performance suite: `python -m benchmarks` (see benchmarks/README.md)."""
