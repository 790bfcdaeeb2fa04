"""Capacity projection: pods and partitions a lane needs at N× growth within its lag SLA.

`config` loads `pipelines/*.toml`, `model` holds the sizing formulas, `simulate` checks the lag
SLA by simulating the hottest consumer's queue, `scaling` measures multi-core scaling on this
machine (and validates the model), `project` ties them together and `cli` registers `project`.
"""
