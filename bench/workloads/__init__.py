"""Recorded partition workloads: file format, generator, inspection, import/export, anonymizing."""
