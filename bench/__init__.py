"""partbench: the harness (workloads, runner, verification, stats, profiling, capacity, reports)."""
