"""Where numba fits and where it does not (docs/implementations.md, "numba"), measured on the
fixed batch's own data:

- overflow: the token buckets over 500 keys — numba kernel (with the key → id dict) vs the
  reference's TokenBuckets;
- property names: per-batch dedup of ~30k (name) strings — numba typed Dict vs a Python dict;
- timestamps: `civil_from_days` over the batch's 500 timestamps as an array — numba vs Python
  (the strings still have to be formatted in Python afterwards).
"""

from __future__ import annotations

import numpy as np
import pytest
from numba import njit, typed, types

from impls.numba_impl.buckets import ArrayBuckets, warm_up
from impls.reference.overflow import TokenBuckets
from impls.reference.timestamps import DAY_MS, civil_from_days
from tests.microbench.conftest import ROUNDS

pytestmark = pytest.mark.microbench


@pytest.fixture(scope="module")
def batch_data(fixed_workload):
    import json

    keys, times, names = [], [], []
    for record in fixed_workload.records:
        keys.append((record.key or b"").decode("utf-8", "replace"))
        times.append(record.timestamp_ms)
        try:
            names.extend(json.loads(json.loads(record.value)["data"]).get("properties", {}))
        except (ValueError, TypeError, KeyError, AttributeError):
            pass
    return keys, times, names


@pytest.mark.parametrize("how", ["python", "numba"])
def test_overflow_buckets(stage_benchmark, batch_data, how: str) -> None:
    keys, times, _ = batch_data
    stage_benchmark.group = "numba fit: overflow buckets"
    if how == "numba":
        warm_up()
        target = lambda: ArrayBuckets(1000, 1.0).take_many(keys, times)  # noqa: E731
    else:
        def target():
            buckets = TokenBuckets(1000, 1.0)
            return [buckets.take(k, t) for k, t in zip(keys, times, strict=True)]
    stage_benchmark.pedantic(target, rounds=ROUNDS, warmup_rounds=1)


@njit(cache=True)
def _dedup_numba(names, seen):  # pragma: no cover - compiled
    fresh = 0
    for name in names:
        if name not in seen:
            seen[name] = 1
            fresh += 1
    return fresh


@pytest.mark.parametrize("how", ["python", "numba"])
def test_property_name_dedup(stage_benchmark, batch_data, how: str) -> None:
    _, _, names = batch_data
    stage_benchmark.group = "numba fit: dict of strings (property_defs dedup)"
    if how == "numba":
        _dedup_numba(typed.List(["warm"]), typed.Dict.empty(types.unicode_type, types.int64))

        def target():  # the conversion to numba's typed containers is part of the cost
            return _dedup_numba(typed.List(names), typed.Dict.empty(types.unicode_type, types.int64))
    else:
        def target():
            seen: dict[str, int] = {}
            for name in names:
                if name not in seen:
                    seen[name] = 1
            return len(seen)
    stage_benchmark.pedantic(target, rounds=ROUNDS, warmup_rounds=1)


@njit(cache=True)
def _civil_numba(ms):  # pragma: no cover - compiled
    out = np.empty((ms.shape[0], 3), dtype=np.int64)
    for i in range(ms.shape[0]):
        z = ms[i] // 86400000 + 719468
        era = z // 146097
        doe = z - era * 146097
        yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
        doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
        mp = (5 * doy + 2) // 153
        month = mp + 3 if mp < 10 else mp - 9
        out[i, 0] = yoe + era * 400 + (1 if month <= 2 else 0)
        out[i, 1] = month
        out[i, 2] = doy - (153 * mp + 2) // 5 + 1
    return out


@pytest.mark.parametrize("how", ["python", "numba"])
def test_timestamp_dates(stage_benchmark, batch_data, how: str) -> None:
    _, times, _ = batch_data
    stage_benchmark.group = "numba fit: timestamp dates over the batch"
    if how == "numba":
        _civil_numba(np.asarray(times[:2], dtype=np.int64))
        target = lambda: _civil_numba(np.asarray(times, dtype=np.int64)).tolist()  # noqa: E731
    else:
        target = lambda: [civil_from_days(t // DAY_MS) for t in times]  # noqa: E731
    result = stage_benchmark.pedantic(target, rounds=ROUNDS, warmup_rounds=1)
    assert [tuple(r) for r in result][:5] == [civil_from_days(t // DAY_MS) for t in times[:5]]
