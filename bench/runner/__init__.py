"""The measurement harness behind `partbench run` and `partbench list` (see docs/running.md)."""
