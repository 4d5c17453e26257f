"""Benchmarks: quality, speed and overhead targets, reported as ratios measured in one run."""
