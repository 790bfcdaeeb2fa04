"""`combined`: verification on every profile and its decoder (orjson + the Cython glue) against the
reference on the edge cases and on records with out-of-range numbers."""

from __future__ import annotations

import pytest

from impls.combined import IMPLEMENTATION
from impls.reference.decode import decode_record
from tests.test_impl_msgspec import EDGE_VALUES, _state, snapshot, verify_all_profiles

if IMPLEMENTATION.unavailable_reason() is not None:
    pytest.fail(f"combined unavailable: {IMPLEMENTATION.unavailable_reason()}", pytrace=False)

from tests.test_impl_cython import NUMBER_RECORDS, reference_snapshot  # noqa: E402


@pytest.mark.parametrize("index", range(len(EDGE_VALUES)))
def test_combined_decode_matches_reference(index: int) -> None:
    from impls.combined.pipeline import CombinedPipeline

    expected, got = _state(EDGE_VALUES[index]), _state(EDGE_VALUES[index])
    decode_record(expected, "topic", 3)
    CombinedPipeline.decode_events([got], "topic", 3)
    assert snapshot(got) == snapshot(expected)


def test_combined_decode_matches_reference_on_number_records() -> None:
    from impls.combined.pipeline import CombinedPipeline

    for raw in NUMBER_RECORDS:
        expected, got = _state(raw), _state(raw)
        decode_record(expected, "topic", 3)
        CombinedPipeline.decode_events([got], "topic", 3)
        assert reference_snapshot(got) == reference_snapshot(expected), raw


def test_combined_verifies_on_every_profile() -> None:
    verify_all_profiles("combined")
