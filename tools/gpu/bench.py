"""Part `bench`: `capsnet bench` for each backend and batch size, then one summary.

One `capsnet bench` call per (backend, batch size) measures every precision
side by side (float32 with TF32 off, fast = TF32 on, mixed_bfloat16): the
steady-state training and evaluation speed, one timed `fit()` epoch over
`--epoch-images` images, peak device memory and the matmul peak. Each call
writes `bench/<backend>-b<batch>/bench.json` as soon as it ends; a later
command skips the ones already there (delete a folder to measure it again).
All batch-100 runs go first, so a cut-short run still covers every backend.
`--bench-reserve` seconds of the budget are left to the parts after it.
"""

import json

from tools.gpu import summary
from tools.gpu.context import last_lines, run_until, say

# Seconds a bench call is assumed to take before one has been timed.
FIRST_GUESS_S = 90.0


def folder(settings, backend, batch):
    """Where one (backend, batch size) call writes bench.json and its log."""
    return settings.out / "bench" / f"{backend}-b{batch}"


def run(settings):
    """Measure what is not measured yet, within the budget; returns a status."""
    status, longest = "done", 0.0 if settings.smoke else FIRST_GUESS_S
    for batch in settings.batches:
        for backend in settings.backends:
            where = folder(settings, backend, batch)
            if (where / "bench.json").is_file():
                say(f"bench: {backend} batch {batch} already measured")
                continue
            if not settings.budget.allows(longest + settings.margin + settings.bench_reserve):
                say(f"bench: stopped before {backend} batch {batch}: time budget; rerun to continue")
                summary.write(settings)
                return "incomplete"
            started = settings.budget.remaining()
            result = _measure(settings, backend, batch, where)
            longest = max(longest, started - settings.budget.remaining())
            summary.write(settings)
            settings.write_archive()
            if result == "incomplete":
                return "incomplete"
            if result == "failed":
                status = "failed"
    return status


def _measure(settings, backend, batch, where):
    """One `capsnet bench` call; "done", "failed" (a worker failed) or "incomplete" (budget)."""
    args = ["bench", "--backends", backend, "--precision", ",".join(settings.precisions)]
    args += ["--batch-size", batch, "--steps", settings.steps, "--warmup", settings.warmup]
    args += ["--images", settings.epoch_images, "--out", where]
    say(f"bench: {backend} batch {batch}, {', '.join(settings.precisions)}")
    log = where / "bench.log"
    code, stopped = run_until(
        settings.capsnet(backend, *args),
        log,
        settings.environment(backend),
        stop_at=settings.budget.stop_at(settings.margin),
        grace=10,
    )
    if stopped:
        (where / "bench.json").unlink(missing_ok=True)
        say(f"bench: {backend} batch {batch} stopped: time budget; rerun to continue")
        return "incomplete"
    if not (where / "bench.json").is_file():
        say(f"bench: {backend} batch {batch} failed: {' | '.join(last_lines(log, 2))}")
        return "failed"
    records = json.loads((where / "bench.json").read_text())
    for key, record in records.items():
        if "error" in record:
            say(f"bench: {key} batch {batch} failed: {record['error']}")
        else:
            epoch = f"{record['epoch_s']} s" + ("" if record["epoch_measured"] else " (extrapolated)")
            say(f"bench: {key} batch {batch}: {record['train_img_per_s']} img/s, 60k epoch {epoch}")
    return "failed" if code != 0 else "done"
