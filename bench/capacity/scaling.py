"""Multi-core scaling on this machine, and the check that the model predicts it.

`measure` runs 1..N partitions at once, each in its own process (fork) processing its own copy
of a workload through an implementation, all released together by a barrier. Each process
reports events / seconds spent in `process_batch`; the aggregate is their sum and the
efficiency e(n) = aggregate(n) / (n × aggregate(1)).

`validate` is the model check of item 4: a fresh single-partition run gives μ₁, the model
predicts K partitions at K × μ₁ × e(K) (e from an earlier `measure`), a fresh K-partition run
measures it, and the error is reported (with the naive linear K × μ₁ beside it).
"""

from __future__ import annotations

import multiprocessing as mp
import os
import platform
import socket
import statistics
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from bench.workloads.model import Workload
from impls.base import Implementation, Record

_CTX = mp.get_context("fork")  # children inherit the workload and the implementation object


def _batches(records: Sequence[Record], batch_size: int) -> list[Sequence[Record]]:
    return [records[i:i + batch_size] for i in range(0, len(records), batch_size)]


def _worker(impl: Implementation, workload: Workload, settings: dict[str, Any], seconds: float,
            barrier: Any, queue: Any, index: int) -> None:
    try:
        context = workload.context(settings)
        batches = _batches(workload.records, int(settings.get("batch_size", 500)))
        # Warm-up pass (untimed), which also checks every record is accounted for: a broken
        # implementation must not produce a throughput figure.
        session = impl.start(context)
        for batch in batches:
            out = session.process_batch(batch)
            if sum(out.outcomes.values()) != len(batch):
                raise RuntimeError(f"{impl.name}: batch outcomes {sum(out.outcomes.values())} "
                                   f"!= batch size {len(batch)}")
        session.close()
        barrier.wait(timeout=120)
        clock = time.perf_counter
        events, busy = 0, 0.0
        wall0, cpu0 = clock(), time.process_time()
        end = wall0 + seconds
        done = False
        while not done:
            session = impl.start(context)
            for batch in batches:
                t0 = clock()
                session.process_batch(batch)
                t1 = clock()
                busy += t1 - t0
                events += len(batch)
                if t1 >= end:
                    done = True
                    break
            session.close()
        # CPU share well below 1: something else (other tenants) was using this core.
        cpu_share = (time.process_time() - cpu0) / (clock() - wall0)
        queue.put((index, events, busy, cpu_share, None))
    except BaseException as exc:  # report, never hang the parent
        try:
            barrier.abort()
        except Exception:
            pass
        queue.put((index, 0, 0.0, 0.0, f"{type(exc).__name__}: {exc}"))


def run_concurrent(impl: Implementation, workload: Workload, settings: dict[str, Any], n: int,
                   seconds: float) -> list[float]:
    """Events/s of each of `n` partitions processed at the same time in separate processes."""
    return run_concurrent_detail(impl, workload, settings, n, seconds)[0]


def run_concurrent_detail(impl: Implementation, workload: Workload, settings: dict[str, Any], n: int,
                          seconds: float) -> tuple[list[float], list[float]]:
    """(events/s, CPU share) of each of `n` partitions processed at once in separate processes."""
    barrier = _CTX.Barrier(n)
    queue = _CTX.Queue()
    procs = [_CTX.Process(target=_worker, args=(impl, workload, settings, seconds, barrier, queue, i),
                          daemon=True) for i in range(n)]
    for p in procs:
        p.start()
    results: dict[int, float] = {}
    shares: dict[int, float] = {}
    errors: list[str] = []
    try:
        for _ in range(n):
            index, events, busy, cpu_share, error = queue.get(timeout=max(300.0, 20 * seconds))
            if error:
                errors.append(error)
            elif busy <= 0:
                errors.append("no batch was timed")
            else:
                results[index] = events / busy
                shares[index] = cpu_share
    finally:
        for p in procs:
            p.join(timeout=30)
            if p.is_alive():
                p.kill()
                p.join()
    if errors:
        raise RuntimeError(f"scaling run with {n} partitions failed: {errors[0]}")
    return [results[i] for i in range(n)], [shares[i] for i in range(n)]


def measure(impl: Implementation, workload: Workload, settings: dict[str, Any], max_partitions: int,
            seconds: float = 3.0, repeats: int = 1) -> dict[str, Any]:
    """The scaling curve for 1..max_partitions (median over `repeats` rounds, run in turn)."""
    sizes = list(range(1, max_partitions + 1))
    rounds: dict[int, list[list[float]]] = {n: [] for n in sizes}
    cpu: dict[int, list[float]] = {n: [] for n in sizes}
    load_before = os.getloadavg()[0]
    for _ in range(repeats):
        for n in sizes:  # interleaved rounds so slow drift in machine load hits every n alike
            rates, shares = run_concurrent_detail(impl, workload, settings, n, seconds)
            rounds[n].append(rates)
            cpu[n].extend(shares)
    aggregate = [statistics.median(sum(r) for r in rounds[n]) for n in sizes]
    single = aggregate[0]
    return {
        "impl": impl.name,
        "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": machine(),
        "workload": {"name": workload.name, "events": len(workload.records)},
        "batch_size": int(settings.get("batch_size", 500)),
        "seconds_per_run": seconds,
        "repeats": repeats,
        "partitions": sizes,
        "aggregate_events_per_s": aggregate,
        "per_process_events_per_s": [rounds[n][-1] for n in sizes],
        "efficiency": [agg / (n * single) for n, agg in zip(sizes, aggregate, strict=True)],
        # Mean share of a core each process got; well below 1 means other load competed.
        "cpu_share": [statistics.fmean(cpu[n]) for n in sizes],
        "loadavg_1min_before": load_before,
    }


def validate(impl: Implementation, workload: Workload, settings: dict[str, Any], partitions: int,
             efficiency: float, seconds: float = 3.0) -> dict[str, Any]:
    """Predict K concurrent partitions from a fresh single-partition run, measure, report the error."""
    mu_single = run_concurrent(impl, workload, settings, 1, seconds)[0]
    predicted = partitions * mu_single * efficiency
    linear = partitions * mu_single
    measured = sum(run_concurrent(impl, workload, settings, partitions, seconds))
    return {
        "impl": impl.name,
        "partitions": partitions,
        "mu_single_events_per_s": mu_single,
        "efficiency_used": efficiency,
        "predicted_events_per_s": predicted,
        "measured_events_per_s": measured,
        "error_pct": (measured - predicted) / predicted * 100.0,
        "linear_predicted_events_per_s": linear,
        "linear_error_pct": (measured - linear) / linear * 100.0,
    }


def machine() -> dict[str, Any]:
    return {"hostname": socket.gethostname(), "cores": os.cpu_count(), "platform": platform.platform()}
