"""Reports, run-to-run comparison, history and nightly regression detection (docs/reports.md)."""
