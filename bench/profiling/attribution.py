"""Attribute py-spy's raw collapsed stacks (`frame;frame;leaf COUNT`, root first) to pipeline stages.

A sample belongs to the stage of its innermost `stage_<name>` frame (name in impls.base.STAGES),
so a stage that calls another stage's helper is not double counted. With a boundary function
(the target's `run_pass`), frames up to and including it are harness frames and are dropped;
samples that never pass through it were taken during setup or teardown and are left out.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from impls.base import STAGES

_FRAME = re.compile(r"^(?P<function>.*?) \((?P<location>[^()]*)\)$")
_STAGE_FUNCTIONS = {"stage_" + name: name for name in STAGES}


@dataclass
class Attribution:
    samples_total: int = 0
    samples_in_loop: int = 0      # samples taken while the implementation was processing
    samples_in_stages: int = 0    # of those, inside some stage_<name> frame
    stage_samples: Counter = field(default_factory=Counter)
    self_samples: Counter = field(default_factory=Counter)     # leaf function -> samples
    total_samples: Counter = field(default_factory=Counter)    # function anywhere on the stack -> samples
    stage_self: dict[str, Counter] = field(default_factory=dict)  # stage -> leaf function -> samples

    def stage_shares(self) -> dict[str, float]:
        """Share of in-stage samples per stage, in pipeline order (stages never sampled left out)."""
        if not self.samples_in_stages:
            return {}
        return {s: self.stage_samples[s] / self.samples_in_stages for s in STAGES if self.stage_samples[s]}

    def outside_stages_share(self) -> float:
        """Share of in-loop samples outside every stage (batch setup, output, session start…)."""
        if not self.samples_in_loop:
            return 0.0
        return 1.0 - self.samples_in_stages / self.samples_in_loop

    def top_self(self, n: int = 10) -> list[dict[str, object]]:
        return _top(self.self_samples, self.samples_in_loop, n)

    def top_total(self, n: int = 10) -> list[dict[str, object]]:
        return _top(self.total_samples, self.samples_in_loop, n)

    def top_in_stage(self, stage: str, n: int = 5) -> list[dict[str, object]]:
        """The functions a stage spends its own time in (share of that stage's samples)."""
        return _top(self.stage_self.get(stage, Counter()), self.stage_samples[stage], n)


def _top(counter: Counter, denominator: int, n: int) -> list[dict[str, object]]:
    if not denominator:
        return []
    return [{"function": name, "share": count / denominator} for name, count in counter.most_common(n)]


def parse_frame(frame: str) -> tuple[str, str]:
    """(function, location) of one frame, e.g. ("loads", "json/decoder.py:332")."""
    match = _FRAME.match(frame)
    return (match["function"], match["location"]) if match else (frame, "")


def display_name(frame: str) -> str:
    """`function (file)`: line numbers dropped so that a function is one entry."""
    function, location = parse_frame(frame)
    location = re.sub(r":\d+$", "", location)
    return f"{function} ({location})" if location else function


def stage_of(frame: str) -> str | None:
    function = parse_frame(frame)[0].rsplit(".", 1)[-1]  # qualified names (Cython) end in the method
    return _STAGE_FUNCTIONS.get(function)


def parse_raw(text: str) -> list[tuple[list[str], int]]:
    """Lines of `frame;frame;leaf COUNT`; blank lines skipped, malformed ones rejected."""
    stacks = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            raise ValueError(f"raw profile line {number}: expected 'frame;frame COUNT', got {line[:80]!r}")
        stacks.append((stack.split(";"), int(count)))
    return stacks


def attribute(raw: str, boundary: str | None = None) -> Attribution:
    result = Attribution()
    for frames, count in parse_raw(raw):
        result.samples_total += count
        if boundary is not None:
            cut = _last_index(frames, boundary)
            if cut is None:
                continue  # setup or teardown, not the steady state
            frames = frames[cut + 1 :]
        if not frames:
            continue  # inside the boundary function's own loop code: harness time
        result.samples_in_loop += count
        leaf = display_name(frames[-1])
        result.self_samples[leaf] += count
        for name in {display_name(f) for f in frames}:
            result.total_samples[name] += count
        stage = next((s for s in map(stage_of, reversed(frames)) if s), None)
        if stage is not None:
            result.samples_in_stages += count
            result.stage_samples[stage] += count
            result.stage_self.setdefault(stage, Counter())[leaf] += count
    return result


def _last_index(frames: list[str], function: str) -> int | None:
    for index in range(len(frames) - 1, -1, -1):
        if parse_frame(frames[index])[0].rsplit(".", 1)[-1] == function:
            return index
    return None
