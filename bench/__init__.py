"""Benchmarks that print ratios against this machine's own limits measured in the same run."""
