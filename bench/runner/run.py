"""`partbench run`: prepare workloads, verify, probe and time every benchmark, write results."""

from __future__ import annotations

import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import pyperf
from rich.console import Console

from bench.runner import defaults, machine, results, stats, summary, verify_step
from bench.runner.assemble import add_ratios, build_result
from bench.runner.plan import BenchItem, RunConfig, WorkloadRequest, build_items
from bench.runner.probe import ProbeError, run_probe
from bench.runner.progress import RunProgress, make_progress
from bench.runner.target import resolve_impl
from bench.runner.timing import PyperfOptions, Timed, TimingError, calibrated_loops, merge_rounds, run_pyperf
from bench.runner.workload_cache import PreparedWorkload, from_file, generated

VERIFY_UNITS = 1.0
PROBE_UNITS = 2.0


def prepare_workloads(config: RunConfig) -> dict[str, PreparedWorkload]:
    prepared: dict[str, PreparedWorkload] = {}
    for request in config.workloads:
        if request.key in prepared:
            continue
        if request.file is not None:
            prepared[request.key] = from_file(request.file)
        else:
            prepared[request.key] = generated(request.profile, request.events, request.seed, config.workload_dir)
    # Two workloads of the same name (same profile, other sizes): keep bench names unique.
    counts = Counter(p.name for p in prepared.values())
    for request in config.workloads:
        p = prepared[request.key]
        if counts[p.name] > 1:
            p.name = f"{p.name}-{request.events}-s{request.seed}" if request.file is None else Path(request.key).stem
    return prepared


def _noise(a: dict[str, Any] | None, b_timed: Timed | None, workload: str) -> dict[str, Any] | None:
    if not a or not a.get("throughput") or b_timed is None:
        return None
    b = stats.throughput(b_timed.process_values)
    noise = stats.aa_noise(a["throughput"]["per_process"], b["per_process"])
    ci = noise["ci95_pct"]
    if ci is None:
        return None  # fewer than 2 processes on a side: no interval, so no usable noise figure
    return {
        "impl": a["impl"], "workload": workload, "batch_size": a["batch_size"],
        "diff_pct": noise["diff_pct"], "ci95_pct": ci,
        # the largest difference this run's A/A interval allows: smaller differences are noise
        "threshold_pct": max(abs(ci[0]), abs(ci[1])),
        "a": {k: a["throughput"][k] for k in ("events_per_s", "ci95", "per_process")},
        "b": {k: b[k] for k in ("events_per_s", "ci95", "per_process")},
        "pyperf_benchmarks": [a["pyperf_benchmark"], b_timed.bench.get_name()],
    }


class Runner:
    def __init__(self, config: RunConfig, console: Console, progress: RunProgress) -> None:
        self.config = config
        self.console = console
        self.progress = progress
        self.verdicts: dict[tuple[str, str, int], dict[str, str]] = {}

    def _measure(self, item: BenchItem, prepared: PreparedWorkload, workdir: Path, options: PyperfOptions
                 ) -> tuple[dict[str, str], Timed | None, dict[str, Any] | None, str | None]:
        """Verify, probe and time one benchmark (its first round, when there are several)."""
        config = self.config
        impl = resolve_impl(item.impl)
        settings = dict(config.settings, batch_size=item.batch_size)
        key = (item.impl, item.workload, item.batch_size)
        self.progress.step(f"{item.bench_name}: verifying")
        if key not in self.verdicts:
            self.verdicts[key] = verify_step.check(impl, item.impl, prepared.workload, item.batch_size, settings)
        verification = self.verdicts[key]
        self.progress.advance(VERIFY_UNITS)
        if verification["status"] != "passed":
            self.progress.log(f"{item.bench_name}: {verification['status']}, not timed: "
                              f"{verification['detail'] or 'no detail'}")
            self._skip_units(item)
            return verification, None, None, None
        probe = None
        try:
            if item.role == "main":
                self.progress.step(f"{item.bench_name}: latency, memory, stages")
                budget = defaults.PROBE_BUDGET_S[config.mode]
                probe = run_probe(item.impl, prepared.path, item.batch_size, settings, budget_s=budget,
                                  stage_passes=1 if config.stages else 0, workdir=workdir,
                                  name=item.bench_name)
            self.progress.advance(PROBE_UNITS)
            rounds = f", round 1 of {config.rounds}" if config.rounds > 1 and item.role == "main" else ""
            self.progress.step(f"{item.bench_name}: timing{rounds}")
            timed = run_pyperf(item.bench_name, item.impl, prepared.path, item.batch_size, settings,
                               options, workdir, on_process=self.progress.advance)
        except (ProbeError, TimingError) as exc:
            self.progress.log(f"{item.bench_name}: could not be measured: {exc}")
            return verification, None, None, str(exc)
        self._log_rate(item, timed)
        return verification, timed, probe, None

    def _log_rate(self, item: BenchItem, timed: Timed, note: str = "") -> None:
        rate = stats.throughput(timed.process_values)
        half = stats.ci_half_width_pct(rate)
        self.progress.log(f"{item.bench_name}: {rate['events_per_s']:,.0f} events/s"
                          + (f" ± {half:.1f}%" if half is not None else "") + note)

    def _next_round(self, item: BenchItem, prepared: PreparedWorkload, workdir: Path, timed: Timed,
                    round_no: int) -> tuple[Timed | None, str | None]:
        """Another round of a benchmark's worker processes, merged into its earlier ones; a round
        that fails fails the benchmark (its earlier rounds alone would be a different measurement)."""
        rounds = self.config.rounds
        self.progress.step(f"{item.bench_name}: timing, round {round_no + 1} of {rounds}")
        options = self.config.pyperf.one_round(rounds, calibrated_loops(timed))
        settings = dict(self.config.settings, batch_size=item.batch_size)
        try:
            later = run_pyperf(item.bench_name, item.impl, prepared.path, item.batch_size, settings, options,
                               workdir, on_process=self.progress.advance, tag=f".r{round_no}")
        except TimingError as exc:
            message = f"round {round_no + 1} of {rounds}: {exc}"
            self.progress.log(f"{item.bench_name}: could not be measured: {message}")
            self.progress.advance(self._round_processes() * (rounds - round_no - 1))  # the rounds it skips
            return None, message
        merged = merge_rounds(timed, later)
        self._log_rate(item, merged, f" (rounds 1–{round_no + 1})")
        return merged, None

    def _round_processes(self) -> int:
        return self.config.pyperf.one_round(self.config.rounds, None).expected_processes()

    def _units(self, item: BenchItem) -> float:
        processes = self.config.pyperf.expected_processes()
        if item.role == "main" and self.config.rounds > 1:
            processes = self._round_processes() * self.config.rounds
        return VERIFY_UNITS + PROBE_UNITS + processes + 1  # + calibration

    def _skip_units(self, item: BenchItem) -> None:
        self.progress.advance(self._units(item) - VERIFY_UNITS)

    def execute(self) -> dict[str, Any]:
        config = self.config
        # unknown names are a user error before anything runs
        impl_names = {spec: resolve_impl(spec).name for spec in dict.fromkeys([config.reference, *config.impls])}
        self.console.print(f"preparing workloads in {config.workload_dir}/ …", highlight=False)
        prepared = prepare_workloads(config)
        names = {key: p.name for key, p in prepared.items()}
        items = build_items(config, names, impl_names)
        self.progress.start(sum(self._units(item) for item in items))
        result_list: list[dict[str, Any]] = []
        first_a: dict[str, Any] | None = None
        b_timed: Timed | None = None
        main = [item for item in items if item.role == "main"]
        # With several rounds every main benchmark is timed once per round, in run order, each
        # time with its share of the worker processes: a slow drift of a shared machine then
        # reaches every implementation alike instead of whichever ran during it, so the ratios
        # between them (vs ref, % of the floor) are steadier. The A/A pair's second half stays
        # last and whole.
        first_round = config.pyperf.one_round(config.rounds, None) if config.rounds > 1 else config.pyperf
        with tempfile.TemporaryDirectory(prefix="partbench-run-") as tmp:
            workdir = Path(tmp)
            suite_benches: list[pyperf.Benchmark] = []
            try:
                measured = [list(self._measure(item, prepared[item.workload], workdir, first_round)) for item in main]
                for round_no in range(1, config.rounds):
                    for item, m in zip(main, measured, strict=True):
                        if m[1] is not None:
                            m[1], m[3] = self._next_round(item, prepared[item.workload], workdir, m[1], round_no)
                for item in items:
                    if item.role == "aa":
                        b_timed = self._measure(item, prepared[item.workload], workdir, config.pyperf)[1]
                for i, (item, (verification, timed, probe, error)) in enumerate(zip(main, measured, strict=True)):
                    p = prepared[item.workload]
                    if timed is not None:
                        suite_benches.append(timed.bench)
                    settings = dict(config.settings, batch_size=item.batch_size)
                    result = build_result(resolve_impl(item.impl), p, item.batch_size, settings,
                                          verification, timed, probe, error)
                    result_list.append(result)
                    if i == 0 and config.aa:
                        first_a = result
                if b_timed is not None:
                    suite_benches.append(b_timed.bench)
            finally:
                self.progress.stop()
            reference_name = resolve_impl(config.reference).name
            add_ratios(result_list, reference_name)
            noise_workload = items[0].workload_name if config.aa and items else ""
            document = {
                "schema": results.SCHEMA,
                "run_id": results.new_run_id(),
                "created": results.iso_utc(),
                "source": "local",
                "mode": config.mode,
                "command": config.command,
                "machine": machine.collect(),
                "settings": {
                    "batch_size": config.batch_sizes[0],
                    "batch_sizes": config.batch_sizes,
                    "processes": first_round.expected_processes() * config.rounds,
                    "rounds": config.rounds,
                    "values_per_process": config.pyperf.expected_values(),
                    "warmups": config.pyperf.expected_warmups(),
                    "stage_settings": config.settings,
                    "reference": reference_name,
                },
                "noise": _noise(first_a, b_timed, noise_workload) if config.aa else None,
                "results": result_list,
            }
            out = config.output or config.results_dir / f"{document['run_id']}.json"
            latest = None if config.output else config.results_dir / "latest.json"
            document["pyperf_file"] = str(results.pyperf_path_for(out)) if suite_benches else None
            suite = pyperf.BenchmarkSuite(suite_benches) if suite_benches else None
            results.write_run(document, out, suite, latest)
        document["_path"] = str(out)
        return document


def default_console() -> Console:
    """Rich's 80 columns fit no summary table: use a wide console when not on a terminal (CI logs)."""
    console = Console()
    if not console.is_terminal:
        console = Console(width=160)
    return console


def run(config: RunConfig, console: Console | None = None) -> tuple[dict[str, Any], int]:
    """Run, print the summary; exit code 1 if any implementation failed verification or could not
    be measured (results are written either way), 0 otherwise."""
    console = console or default_console()
    progress = make_progress(console, config.plain)
    document = Runner(config, console, progress).execute()
    path = document.pop("_path")
    summary.print_summary(document, console, path)
    bad = [r for r in document["results"] if r["verification"]["status"] in ("failed", "error") or r["error"]]
    return document, (1 if bad else 0)


__all__ = ["RunConfig", "WorkloadRequest", "run"]
