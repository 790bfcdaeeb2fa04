"""Verification: run an implementation over a workload and compare its outputs, canonically,
with the reference's (`process.run`, `compare.verify`; CLI `partbench process` / `verify`)."""
