"""Workload fixtures shared by the test suite (owned by the workloads subsystem)."""
