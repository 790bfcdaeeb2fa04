"""`partbench report`, `partbench compare`, `partbench nightly` (docs/reports.md)."""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path

from bench.atomic import write_text
from bench.errors import UserError
from bench.reporting import compare, history, nightly
from bench.reporting.html import TrendSection, render_report
from bench.reporting.load import load_profiles, load_projection, load_results


def _add_compare_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("judging (defaults in docs/reports.md)")
    g.add_argument("--alpha", type=float, default=compare.DEFAULT_ALPHA,
                   help="Mann-Whitney significance level (default %(default)s)")
    g.add_argument("--floor", type=float, default=compare.DEFAULT_FLOOR_PCT, metavar="PCT",
                   help="smallest regression threshold in percent (default %(default)s)")
    g.add_argument("--noise-k", type=float, default=compare.DEFAULT_NOISE_K, metavar="K",
                   help="threshold = max(floor, K x measured A/A noise) (default %(default)s)")
    g.add_argument("--threshold", type=float, default=None, metavar="PCT",
                   help="fixed threshold in percent, ignoring floor and noise")
    g.add_argument("--seed", type=int, default=compare.DEFAULT_SEED, help="bootstrap seed")


def _settings(args: argparse.Namespace) -> compare.Settings:
    if not 0 < args.alpha < 1:
        raise UserError(f"--alpha {args.alpha}: must be between 0 and 1")
    for name in ("floor", "noise_k", "threshold"):
        value = getattr(args, name)
        if value is not None and value < 0:
            raise UserError(f"--{name.replace('_', '-')} {value}: must not be negative")
    return compare.Settings(alpha=args.alpha, floor_pct=args.floor, noise_k=args.noise_k,
                            threshold_pct=args.threshold, seed=args.seed)


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("report", help="self-contained HTML report from results files")
    p.add_argument("results", nargs="+", metavar="RESULTS", help="partbench.results/1 files")
    p.add_argument("-o", "--output", default="reports/latest.html", help="HTML file (default %(default)s)")
    p.add_argument("--profiles", default="results/profiles", metavar="DIR",
                   help="profile summaries and flamegraphs (default %(default)s, if present)")
    p.add_argument("--projection", default="results/projection.json", metavar="FILE",
                   help="capacity projection (default %(default)s, if present)")
    p.add_argument("--baseline", metavar="FILE", help="also compare the first RESULTS file with this one")
    p.add_argument("--history", metavar="DIR", help="draw trend charts from this history (e.g. results/history)")
    p.add_argument("--machine", help="history machine id (default $PARTBENCH_MACHINE or host name)")
    p.add_argument("--title", default="partbench report")
    _add_compare_options(p)
    p.set_defaults(func=cmd_report)

    p = subparsers.add_parser("compare", help="is CANDIDATE slower than BASELINE? (exit 0 no, 1 yes, 2 cannot judge)")
    p.add_argument("baseline", metavar="BASELINE")
    p.add_argument("candidate", metavar="CANDIDATE")
    p.add_argument("--markdown", action="store_true", help="print a Markdown table (CI job summaries)")
    _add_compare_options(p)
    p.set_defaults(func=cmd_compare)

    p = subparsers.add_parser("nightly", help="rigorous run, append to history, detect confirmed regressions")
    p.add_argument("--fast", action="store_true", help="pass --fast to `partbench run` (tests, smoke runs)")
    p.add_argument("--from-results", metavar="FILE", help="use this results file instead of running the bench")
    p.add_argument("--results-out", default="results/nightly.json", metavar="FILE",
                   help="where the run writes its results (default %(default)s)")
    p.add_argument("--history", default=str(history.DEFAULT_ROOT), metavar="DIR", help="default %(default)s")
    p.add_argument("--machine", help="history machine id (default $PARTBENCH_MACHINE or host name)")
    p.add_argument("-o", "--output", default="reports/nightly.html", help="HTML report (default %(default)s)")
    p.add_argument("--markdown-out", metavar="FILE", help="also write the comparison as Markdown (CI summary)")
    _add_compare_options(p)
    p.set_defaults(func=cmd_nightly)


def cmd_report(args: argparse.Namespace) -> int:
    settings = _settings(args)
    runs = [load_results(path) for path in args.results]
    comparison = None
    if args.baseline:
        comparison = compare.compare_runs(load_results(args.baseline).data, runs[0].data, settings,
                                          args.baseline, args.results[0])
    trends: list[TrendSection] | None = None
    if args.history:
        machine = history.machine_id(args.machine)
        hist_runs = history.load_runs(Path(args.history), machine)
        if hist_runs:
            outcome = nightly.evaluate(hist_runs, settings)
            trends = nightly.trend_sections(hist_runs, outcome, settings.floor_pct)
        else:
            trends = []
    command = ["partbench", "report", *args.results, "-o", args.output]
    if args.baseline:
        command += ["--baseline", args.baseline]
    if args.history:
        command += ["--history", args.history]
    html = render_report(
        runs, profiles=load_profiles(args.profiles), profiles_dir=args.profiles,
        projection=load_projection(args.projection), projection_file=args.projection,
        comparison=comparison, trends=trends, report_command=shlex.join(command), title=args.title,
        seed=settings.seed,
    )
    write_text(args.output, html)
    print(f"report: {args.output}")
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    settings = _settings(args)
    base, cand = load_results(args.baseline), load_results(args.candidate)
    comparison = compare.compare_runs(base.data, cand.data, settings, args.baseline, args.candidate)
    if args.markdown:
        print(compare.to_markdown(comparison), end="")
    else:
        compare.print_table(comparison)
    return comparison.exit_code


def cmd_nightly(args: argparse.Namespace) -> int:
    settings = _settings(args)
    command = "partbench nightly" + (" --fast" if args.fast else "")
    outcome = nightly.nightly(
        args.fast, Path(args.results_out), Path(args.from_results) if args.from_results else None,
        Path(args.history), args.machine, Path(args.output), settings, command,
    )
    if outcome.comparison is not None:
        compare.print_table(outcome.comparison)
        if args.markdown_out:
            text = f"**{outcome.verdict}**\n\n" + compare.to_markdown(outcome.comparison)
            write_text(args.markdown_out, text)
    elif args.markdown_out:
        write_text(args.markdown_out, f"**{outcome.verdict}**\n")
    print(f"nightly: {outcome.verdict}")
    print(f"report: {args.output}")
    return outcome.exit_code
