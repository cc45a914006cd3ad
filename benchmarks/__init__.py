"""Benchmark scripts (run them as `python benchmarks/NAME.py`) and the
fixtures the tests share with them, such as `synthetic_speeches`."""
