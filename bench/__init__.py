"""Benchmarks: run on demand (see docs/PERFORMANCE.md), never in the test suite."""
