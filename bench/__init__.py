"""Benchmarks: ratios against a raw baseline measured in the same run, not timed tests."""
