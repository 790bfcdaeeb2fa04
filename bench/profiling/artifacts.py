"""Flamegraph SVG and speedscope JSON converted from the raw samples behind the table.

No Python package renders flamegraphs (py-spy's renderer is compiled in, and inferno /
flamegraph.pl are not installable here), so the SVG is drawn here: one rectangle per call-tree
node, width proportional to samples, stage frames coloured apart, hover text giving the counts.
Speedscope's own file format ("sampled" profile) stores the same stacks losslessly; open it at
speedscope.app or with `npx speedscope FILE` for an interactive view.
"""

from __future__ import annotations

import hashlib
import json
from html import escape

from bench.profiling.attribution import display_name, parse_frame, parse_raw, stage_of

SPEEDSCOPE_SCHEMA = "https://www.speedscope.app/file-format-schema.json"


def speedscope(raw: str, name: str) -> dict:
    frames: list[dict] = []
    index: dict[str, int] = {}
    samples, weights = [], []
    for stack, count in parse_raw(raw):
        ids = []
        for frame in stack:
            if frame not in index:
                function, location = parse_frame(frame)
                file, _, line = location.rpartition(":")
                entry = {"name": function, "file": file or location}
                if line.isdigit():
                    entry["line"] = int(line)
                index[frame] = len(frames)
                frames.append(entry)
            ids.append(index[frame])
        samples.append(ids)
        weights.append(count)
    total = sum(weights)
    return {
        "$schema": SPEEDSCOPE_SCHEMA,
        "name": name,
        "exporter": "partbench profile",
        "activeProfileIndex": 0,
        "shared": {"frames": frames},
        "profiles": [{"type": "sampled", "name": name, "unit": "none", "startValue": 0,
                      "endValue": total, "samples": samples, "weights": weights}],
    }


class _Node:
    __slots__ = ("children", "count")

    def __init__(self) -> None:
        self.count = 0
        self.children: dict[str, _Node] = {}


def flamegraph_svg(raw: str, title: str, width: int = 1200, row: int = 17) -> str:
    root = _Node()
    for stack, count in parse_raw(raw):
        node = root
        node.count += count
        for frame in stack:
            node = node.children.setdefault(display_name(frame), _Node())
            node.count += count
    depth = _depth(root)
    top_margin = 36
    height = top_margin + (depth + 1) * row + 10
    scale = (width - 20) / root.count if root.count else 0.0
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'font-family="monospace" font-size="11">',
        f'<rect width="{width}" height="{height}" fill="#fdfdf6"/>',
        f'<text x="10" y="20" font-size="14">{escape(title)} — {root.count} samples '
        f'(stage frames in blue; hover for counts)</text>',
    ]

    def draw(name: str, node: _Node, x: float, level: int) -> None:
        w = node.count * scale
        if w < 0.3:
            return
        y = height - 10 - (level + 1) * row
        share = node.count / root.count
        fill = "#7fa7e0" if stage_of_display(name) else _warm(name)
        parts.append(
            f'<g><title>{escape(name)}: {node.count} samples ({share:.1%})</title>'
            f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{row - 1}" fill="{fill}" rx="1"/>'
        )
        chars = int((w - 4) / 6.6)
        if chars >= 3:
            label = name if len(name) <= chars else name[: chars - 2] + ".."
            parts.append(f'<text x="{x + 2:.1f}" y="{y + row - 5}">{escape(label)}</text>')
        parts.append("</g>")
        child_x = x
        for child_name, child in sorted(node.children.items()):
            draw(child_name, child, child_x, level + 1)
            child_x += child.count * scale

    x = 10.0
    for name, child in sorted(root.children.items()):
        draw(name, child, x, 0)
        x += child.count * scale
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def stage_of_display(name: str) -> bool:
    return stage_of(name) is not None


def _depth(node: _Node) -> int:
    return 1 + max((_depth(c) for c in node.children.values()), default=-1) if node.children else 0


def _warm(name: str) -> str:
    """A stable warm colour per function, as classic flamegraphs use."""
    h = hashlib.md5(name.encode()).digest()
    return f"rgb({205 + h[0] % 50},{90 + h[1] % 130},{40 + h[2] % 50})"


def dumps_speedscope(raw: str, name: str) -> str:
    return json.dumps(speedscope(raw, name), separators=(",", ":"))
