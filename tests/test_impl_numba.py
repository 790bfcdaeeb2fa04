"""numba implementation: verification on every profile (tight buckets so overflow really happens)
and the kernel against the reference's TokenBuckets on random keys and times."""

from __future__ import annotations

import random

from impls.numba_impl import IMPLEMENTATION
from impls.numba_impl.buckets import ArrayBuckets
from impls.reference.overflow import TokenBuckets
from tests.test_impl_msgspec import verify_all_profiles


def test_kernel_matches_reference_buckets() -> None:
    rng = random.Random(5)
    ref, arr = TokenBuckets(3, 0.7), ArrayBuckets(3, 0.7)
    now = 1_000
    for _ in range(20):  # batches; state must carry over, and the arrays must grow past 1024 keys
        keys = [f"k{rng.randrange(1500)}" if rng.random() < 0.5 else "hot" for _ in range(200)]
        times = []
        for _ in keys:
            now += rng.choice((-500, 0, 1, 250, 3000))
            times.append(now)
        expected = [ref.take(k, t) for k, t in zip(keys, times, strict=True)]
        assert arr.take_many(keys, times).tolist() == expected


def test_numba_declares_itself_opaque_to_sampling() -> None:
    assert IMPLEMENTATION.opaque_to_sampling is True


def test_numba_verifies_on_every_profile() -> None:
    verify_all_profiles("numba")
