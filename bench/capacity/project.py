"""The projection: per lane and implementation, pods and partitions at g× growth, checked by
simulation against the lag SLA, with every assumption written into the output."""

from __future__ import annotations

from typing import Any

from bench.capacity import model
from bench.capacity.config import Pipeline
from bench.capacity.inputs import Measured, Results, pick
from bench.capacity.sla import Simulator, effective_hot_share

SENSITIVITY_GROWTH = list(range(1, 21))
SIM_SENSITIVITY_GROWTH = [1, 2, 5, 10, 20]


def efficiency_for(impl: str, scaling: dict[str, Any], cores: float) -> tuple[float, str]:
    curves = scaling.get("impls") or {}
    curve = curves.get(impl)
    prefix = ""
    if curve is None and curves:
        # Another implementation's curve: scaling loss is mostly the machine's (shared caches,
        # memory bandwidth, other tenants), so it is the best available stand-in.
        donor = "reference" if "reference" in curves else sorted(curves)[0]
        curve = curves[donor]
        prefix = f"{impl}: no scaling measurement of its own; {donor}'s is used. "
    if curve is None:
        return 1.0, (f"{impl}: scaling efficiency not measured (run `partbench project "
                     f"--measure-scaling`): assumed 1.0, i.e. perfectly linear, which flatters pods")
    e, note = model.efficiency_at(curve["efficiency"], cores)
    where = curve.get("machine", {}).get("hostname", "?")
    note = f"{prefix}{impl}: {note} (host {where}, {curve.get('created', '?')})"
    shares = curve.get("cpu_share") or []
    if shares and min(shares) < 0.9:
        note += (f"; WARNING: the measuring processes got only {min(shares):.0%} of a core at worst, "
                 f"so other load on the machine competed and e is understated; re-measure on an "
                 f"idle machine (partbench project --measure-scaling)")
    return e, note


def _sentence(pipeline: Pipeline, impl: str, growth: float, pods: int, partitions: int,
              sim: dict[str, Any], unreachable: str | None) -> str:
    sla = pipeline.sla
    verdict = ("still meets its lag SLA" if sim["meets_sla"] else "does NOT meet its lag SLA")
    if unreachable:
        verdict += f" at any pod count ({unreachable})"
    s = (f"With implementation {impl}, lane {pipeline.name} needs {pods} pods and {partitions} "
         f"partitions at {growth:g}× today's traffic, and {verdict} in simulation "
         f"(hottest consumer p99.9 {sim['p999_lag_s']:.2f} s vs {sla.p999_lag_s:g} s, "
         f"p99 {sim['p99_lag_s']:.2f} s vs {sla.p99_lag_s:g} s).")
    if pipeline.traffic.example:
        s += " Traffic figures are EXAMPLES, not real ones."
    return s


def project_row(pipeline: Pipeline, m: Measured, growth: float, scaling: dict[str, Any],
                sim_sensitivity: bool = True) -> tuple[dict[str, Any], list[str]]:
    t = pipeline.traffic
    efficiency, eff_note = efficiency_for(m.impl, scaling, t.cores_per_pod)
    common = dict(peak=t.peak_events_per_s, mu_partition=m.events_per_s, cores_per_pod=t.cores_per_pod,
                  efficiency=efficiency, utilization=pipeline.target_utilization,
                  consumers_per_pod=t.consumers_per_pod, today_pods=t.pods, today_partitions=t.partitions)
    sizing = model.size(growth=growth, **common)
    sim = Simulator(pipeline, m.events_per_s, efficiency, m.latency_samples_s, m.batch_size)
    at_formula = sim.evaluate(growth, sizing.pods, lane_wide=True)
    min_pods = sim.min_pods(growth, sizing.pods)
    notes = [eff_note]
    if not m.latency_samples_s:
        notes.append(f"{m.impl}: no per-batch latency samples; every batch of {m.batch_size} "
                     f"assumed to take exactly batch/μ = {m.batch_size / m.events_per_s * 1000:.2f} ms")
    recommended = sizing.pods if min_pods is None else max(sizing.pods, min_pods)
    rec_sim = sim.evaluate(growth, recommended, lane_wide=True)
    sim_out = {
        "p99_lag_s": at_formula["p99_lag_s"], "p999_lag_s": at_formula["p999_lag_s"],
        "meets_sla": at_formula["meets_sla"], "min_pods_meeting_sla": min_pods,
        "min_partitions_meeting_sla": None if min_pods is None else sim.partitions(growth, min_pods),
        "lane_p99_lag_s": at_formula["lane_p99_lag_s"], "lane_p999_lag_s": at_formula["lane_p999_lag_s"],
        "max_lag_s": at_formula["max_lag_s"], "drain_after_window_s": at_formula["drain_after_window_s"],
        "hot_consumer": at_formula["hot_consumer"],
    }
    if min_pods is None:
        sim_out["unreachable_reason"] = (
            "the hot key alone exceeds one consumer's capacity: more pods cannot help "
            "(enable overflow or split the key)" if sim.hot_key_alone_too_much(growth)
            else "no pod count up to 64× the formula's meets the SLA")
    row = {
        "impl": m.impl, "source": m.source, "workload": m.workload, "batch_size": m.batch_size,
        "results_file": m.file,
        "mu_partition": m.events_per_s, "mu_pod": sizing.mu_pod, "efficiency": efficiency,
        "mu_partition_from_samples": (m.batch_size / (sum(m.latency_samples_s) / len(m.latency_samples_s))
                                      if m.latency_samples_s else None),
        "pods": sizing.pods, "partitions": sizing.partitions, "consumers": sizing.consumers,
        "cost_vs_today": sizing.cost_vs_today,
        "sim": sim_out,
        "recommended": {"pods": recommended, "partitions": rec_sim["partitions"],
                        "cost_vs_today": recommended / t.pods, "meets_sla": rec_sim["meets_sla"]},
        "sentence": _sentence(pipeline, m.impl, growth, recommended, rec_sim["partitions"], rec_sim,
                              sim_out.get("unreachable_reason")),
        "sensitivity": {
            "pods": [model.size(growth=g, **common).pods for g in SENSITIVITY_GROWTH],
            "min_pods_meeting_sla": ([sim.min_pods(g, model.size(growth=g, **common).pods)
                                      for g in SIM_SENSITIVITY_GROWTH] if sim_sensitivity else None),
        },
    }
    return row, notes


def _assumptions(pipeline: Pipeline, growth: float) -> list[str]:
    t, s, sim = pipeline.traffic, pipeline.sla, pipeline.simulation
    h_eff = effective_hot_share(pipeline, growth)
    out = [
        (f"Traffic figures in {pipeline.path} are EXAMPLES, not measurements: replace them with "
         f"real ones before quoting this projection" if t.example else
         f"Traffic figures come from {pipeline.path}"),
        f"λ = today's peak = {t.peak_events_per_s:g} events/s; growth g = {growth:g}; "
        f"demand g·λ = {growth * t.peak_events_per_s:g} events/s",
        f"Today: {t.pods} pods × {t.cores_per_pod:g} cores, {t.consumers_per_pod} consumers per pod, "
        f"{t.partitions} partitions",
        f"Target utilization U = {pipeline.target_utilization:g}",
        "μ_partition = the harness's verified single-core events/s for the implementation on the "
        f"lane's workload (profile {pipeline.workload.profile!r}), loading excluded",
        "μ_pod = μ_partition × cores_per_pod × e, e = multi-core scaling efficiency measured by "
        "running 1..N partitions at once on this machine",
        "pods = ceil(g·λ / (μ_pod·U)); partitions = max(ceil(g·λ / (μ_partition·U)), "
        "pods × consumers_per_pod, today's partitions); cost vs today = pods / today's pods",
        "Each consumer serves its partitions as one queue; a consumer's speed is "
        "μ_partition × cores_per_pod × e / consumers_per_pod",
        f"Simulation: {sim.window_s:g} s window centred on the daily peak (diurnal cosine, trough "
        f"{sim.trough_ratio:g}× peak), about {sim.bursts_per_hour:g} bursts/hour of "
        f"{sim.burst_factor:g}× for {sim.burst_s:g} s on top of the peak, Poisson arrivals per "
        f"{sim.tick_ms:g} ms tick, seed {sim.seed}",
        f"Hot key: {t.hot_key_share:.3g} of the lane's events on one key, i.e. one partition "
        f"({'measured on ' + t.hot_key_source if t.hot_key_source.startswith('workload') else 'from ' + pipeline.path}); "
        + (f"overflow on, so only {h_eff:.3g} of the lane stays on that partition (the rest goes "
           f"to the overflow lane)" if pipeline.stages["overflow_enabled"] and t.hot_key_share > 0
           else "all of it stays on that partition"),
        "Service time per batch = a measured per-batch latency sample × (events in batch / "
        "measured batch size) × consumers_per_pod / (cores_per_pod × e); a consumer takes every "
        f"waiting event up to batch_size = {pipeline.stages['batch_size']}",
        f"SLA: p99.9 lag ≤ {s.p999_lag_s:g} s and p99 ≤ {s.p99_lag_s:g} s, judged on the hottest "
        "consumer (the hot key's partition plus the most partitions); lane-wide percentiles "
        "are reported beside it",
        "Lag = time from arrival on the partition to the end of its batch's processing; "
        "Kafka fetch and output produce latency are not included",
        "Fewest pods meeting the SLA: searched assuming lag never grows with more pods",
    ]
    return out


def project_lane(pipeline: Pipeline, results: Results, scaling: dict[str, Any],
                 growth: float | None = None, sim_sensitivity: bool = True) -> dict[str, Any]:
    g = float(growth if growth is not None else pipeline.growth)
    t = pipeline.traffic
    assumptions = _assumptions(pipeline, g)
    rows: list[dict[str, Any]] = []
    sens_pods: dict[str, list[int]] = {}
    sens_min: dict[str, list[int | None]] = {}
    for m, notes in pick(results, pipeline.workload.profile, int(pipeline.stages["batch_size"])):
        row, row_notes = project_row(pipeline, m, g, scaling, sim_sensitivity)
        rows.append(row)
        sens = row.pop("sensitivity")
        sens_pods[row_key_of(row)] = sens["pods"]
        if sim_sensitivity:
            sens_min[row_key_of(row)] = sens["min_pods_meeting_sla"]
        assumptions.extend(n for n in notes + row_notes if n not in assumptions)
    return {
        "pipeline": pipeline.name,
        "pipeline_file": pipeline.path,
        "example_figures": t.example,
        "growth": g,
        "sla": {"p999_lag_s": pipeline.sla.p999_lag_s, "p99_lag_s": pipeline.sla.p99_lag_s},
        "assumptions": assumptions,
        "today": {"peak_events_per_s": t.peak_events_per_s, "pods": t.pods, "partitions": t.partitions,
                  "cores_per_pod": t.cores_per_pod, "consumers_per_pod": t.consumers_per_pod},
        "rows": rows,
        "ignored": list(results.ignored),
        "sensitivity": {
            "growth": SENSITIVITY_GROWTH,
            "pods": sens_pods,
            "sim_growth": SIM_SENSITIVITY_GROWTH if sim_sensitivity else [],
            "min_pods_meeting_sla": sens_min,
        },
    }


def row_key_of(row: dict[str, Any]) -> str:
    """Key of a row in `sensitivity` (over-Kafka figures kept apart from in-process ones)."""
    return row["impl"] if row["source"] == "local" else f"{row['impl']} ({row['source']})"
