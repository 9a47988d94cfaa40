"""Benchmarks: a Seam-compatible server for the access-code subset, a fleet generator, and
`bench/run.py`, which measures plan and apply against a scripted SDK loop."""
