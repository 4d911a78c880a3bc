"""Per-op times from a profiler's trace, in one shape for every backend.

Each plug-in's `profile(run_steps, folder)` runs the steps under its framework's
profiler and hands its events to `top_ops`: one row per (where, op) with the
calls and the total time, the longest first. "where" is the device's stream
or the host thread group that ran the op; Python frames are left out.
"""

from collections import defaultdict
from pathlib import Path

SHOWN = 30


def top_ops(events, count=SHOWN):
    """`events`: iterable of (where, op name, duration in microseconds).

    Returns the `count` longest rows: `[{"where", "op", "calls", "total_ms"}]`.
    """
    totals, calls = defaultdict(float), defaultdict(int)
    for where, op, microseconds in events:
        totals[(where, op)] += microseconds
        calls[(where, op)] += 1
    longest = sorted(totals, key=totals.get, reverse=True)[:count]
    return [
        {"where": key[0], "op": key[1], "calls": calls[key], "total_ms": round(totals[key] / 1e3, 3)}
        for key in longest
    ]


def on_device_first(events):
    """The events of GPU planes when there are any (kernels), else all of them (a CPU run)."""
    events = list(events)
    device = [e for e in events if "gpu" in e[0].lower() or "device" in e[0].lower()]
    return device or events


def newest_file(folder, pattern):
    """The file under `folder` matching `pattern` written last (the trace of this run)."""
    return max(Path(folder).rglob(pattern), key=lambda path: path.stat().st_mtime)
