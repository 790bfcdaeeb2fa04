"""`partbench profile`: name each implementation's bottleneck stage and function.

py-spy samples a separate target process (`bench.profiling.target`) in its steady state; samples
are attributed to the innermost `stage_<name>` frame. A separate instrumented run gives the
implementation's own stage timers, and the two are shown side by side (docs/profiling.md).
"""
