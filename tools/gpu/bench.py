"""Part `bench`: `capsnet bench` for each backend and batch size, then one summary.

One `capsnet bench` call per (backend, batch size) measures every precision
side by side (float32 with TF32 off, fast = TF32 on, mixed_bfloat16): the
steady-state training and evaluation speed, one timed `fit()` epoch over
`--epoch-images` images, peak device memory and the matmul peak. Each call
writes `bench/<backend>-b<batch>/bench.json` after each precision, so a call
stopped by the budget keeps the precisions it finished; a later command
measures only the precisions missing there (delete a folder to measure it again).
All batch-100 runs go first, so a cut-short run still covers every backend.
`--bench-reserve` seconds of the budget are left to the parts after it. With
`--jit` every run is compiled (torch.compile on torch) and lands in
`bench/<backend>-jit-b<batch>/`, a row of its own in the summary; `--cuda-graphs`
adds inductor's CUDA graphs to that, in `bench/<backend>-jit-graphs-b<batch>/`.
`--steps-per-execution N` (N > 1) times the fit() epoch with N steps per
compiled call, in `bench/<backend>[-jit]-speN-b<batch>/`, rows of their own;
`--data-on-host` cuts the fit() epoch's batches in host memory (on a GPU,
bench holds the images on the device by default, as train does), in
`bench/<backend>[-jit][-speN]-host-b<batch>/`.
"""

import json
import os
import shutil

from capsnet.atomic import atomic_write
from tools.gpu import summary
from tools.gpu.context import last_lines, run_until, say

# Seconds one precision of a bench call is assumed to take before one has been
# timed (the matmul peak and compilation included; docs/benchmark-history.md,
# "GPU leases", has the figures). A call stopped by the budget keeps the
# precisions it finished, so room for one is enough to start.
FIRST_GUESS_PER_PRECISION_S = 90.0


def folder(settings, backend, batch):
    """Where one (backend, batch size) call writes bench.json and its log."""
    compiled = ("-jit-graphs" if settings.cuda_graphs else "-jit") if settings.jit else ""
    calls = f"-spe{settings.steps_per_execution}" if settings.steps_per_execution > 1 else ""
    host = "-host" if settings.data_on_host else ""
    return settings.out / "bench" / f"{backend}{compiled}{calls}{host}-b{batch}"


def environment(settings, backend):
    """The bench worker's environment: with --cuda-graphs, inductor's switch for CUDA graphs."""
    env = settings.environment(backend)
    if settings.cuda_graphs:
        # On the GPU, torch's eager step waits on the host launching its kernels one
        # by one (docs/benchmarks.md: most of a step is launches); a graph replays them at once.
        env["TORCHINDUCTOR_CUDAGRAPHS"] = "1"
    return env


def run(settings):
    """Measure what is not measured yet, within the budget; returns a status."""
    status, per_precision = "done", 0.0 if settings.smoke else FIRST_GUESS_PER_PRECISION_S
    for batch in settings.batches:
        for backend in settings.backends:
            where = folder(settings, backend, batch)
            missing = _missing(settings, where)
            if not missing:
                say(f"bench: {backend} batch {batch} already measured")
                continue
            if not settings.budget.allows(per_precision + settings.margin + settings.bench_reserve):
                say(f"bench: stopped before {backend} batch {batch}: time budget; rerun to continue")
                summary.write(settings)
                return "incomplete"
            started = settings.budget.remaining()
            result = _measure(settings, backend, batch, where, missing)
            per_precision = max(per_precision, (started - settings.budget.remaining()) / len(missing))
            summary.write(settings)
            settings.write_archive()
            if result == "incomplete":
                return "incomplete"
            if result == "failed":
                status = "failed"
    return status


def measured(where):
    """The records of `where`/bench.json, keyed "backend precision" ({} when there is none)."""
    try:
        records = json.loads((where / "bench.json").read_text())
    except (OSError, ValueError):
        return {}
    return {f"{r['backend']} {r['precision']}": r for r in records.values()}


def _missing(settings, where):
    """The precisions not yet measured (a failed one counts as measured: it is not retried)."""
    done = {record["precision"] for record in measured(where).values()}
    return [p for p in settings.precisions if p not in done]


def _measure(settings, backend, batch, where, precisions):
    """One `capsnet bench` call for the missing precisions, merged into `where`/bench.json;
    "done", "failed" (a worker failed) or "incomplete" (budget: what it finished is kept)."""
    fresh = where / "measuring"
    shutil.rmtree(fresh, ignore_errors=True)
    args = ["bench", "--backends", backend, "--precision", ",".join(precisions)]
    args += ["--batch-size", batch, "--steps", settings.steps, "--warmup", settings.warmup]
    args += ["--images", settings.epoch_images, "--out", fresh] + (["--jit"] if settings.jit else [])
    args += ["--steps-per-execution", settings.steps_per_execution]
    args += ["--data-on-host"] if settings.data_on_host else []
    say(f"bench: {backend} batch {batch}, {', '.join(precisions)}")
    log = where / "bench.log"
    code, stopped = run_until(
        settings.capsnet(backend, *args),
        log,
        environment(settings, backend),
        stop_at=settings.budget.stop_at(settings.margin + settings.bench_reserve),
        grace=10,
    )
    new = measured(fresh)
    if new:
        text = json.dumps({**measured(where), **new}, indent=2)
        atomic_write(where / "bench.json", lambda temporary: temporary.write_text(text))
        if (fresh / "bench.png").is_file():
            os.replace(fresh / "bench.png", where / "bench.png")
    shutil.rmtree(fresh, ignore_errors=True)
    for key, record in new.items():
        if "error" in record:
            say(f"bench: {key} batch {batch} failed: {record['error']}")
        else:
            epoch = f"{record['epoch_s']} s" + ("" if record["epoch_measured"] else " (extrapolated)")
            say(f"bench: {key} batch {batch}: {record['train_img_per_s']} img/s, 60k epoch {epoch}")
    if stopped:
        kept = f"kept {', '.join(new)}; " if new else ""
        say(f"bench: {backend} batch {batch} stopped: time budget; {kept}rerun to continue")
        return "incomplete"
    if not new:
        say(f"bench: {backend} batch {batch} failed: {' | '.join(last_lines(log, 2))}")
        return "failed"
    return "failed" if code != 0 else "done"
