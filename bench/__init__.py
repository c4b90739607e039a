"""learnstore's benchmark suite: a dataset generator, a side-by-side runner and plan checks at scale.

Run it with `python -m bench.run --scale small` (see docs/benchmarks.md).
"""
