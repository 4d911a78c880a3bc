"""Part `large`: the large-images sweep of docs/large-images.md on the GPU.

The cases of `tools.large_images_sweep` (28x28 to 224x224 pixels, 10 to 1,000
classes; the paper's CapsNet, its large-image defaults, the shared class
capsules and Efficient-CapsNet), one `capsnet bench` each at batch 16 on each
backend, into `large-images/<backend>/<case>/bench.json`. Peak memory is the
device's here (the CPU sweep reports host RSS). A case with a record is not
measured again, so a command cut short by the budget continues where it stopped.
Then one table and one plot per backend: `large-images/<backend>.md`, `.png`.
"""

from capsnet.atomic import atomic_write
from tools import large_images_sweep as sweep
from tools.gpu.context import last_lines, run_until, say

# Seconds one case is assumed to take before one has been timed (compilation of
# a 224x224 model included); a case cut by the budget leaves no record.
FIRST_GUESS_PER_CASE_S = 60.0


def records(settings, backend):
    """The folder of one backend's records."""
    return settings.out / "large-images" / backend


def run(settings):
    """Measure the cases not yet measured, within the budget; returns a status."""
    status, per_case = "done", 0.0 if settings.smoke else FIRST_GUESS_PER_CASE_S
    timing = ["--steps", str(settings.steps), "--warmup", str(settings.warmup)]
    for backend in settings.backends:
        for case in sweep.CASES:
            where = records(settings, backend) / case
            if (where / "bench.json").is_file():
                continue
            if not settings.budget.allows(per_case + settings.margin):
                say(f"large: stopped before {backend} {case}: time budget; rerun to continue")
                report(settings, backend)
                return "incomplete"
            where.mkdir(parents=True, exist_ok=True)
            say(f"large: {backend} {case}")
            started = settings.budget.remaining()
            arguments = sweep.bench_arguments(case, where, backend, sweep.BATCH_SIZE, timing)
            code, stopped = run_until(
                settings.capsnet(backend, *arguments),
                where / "bench.log",
                settings.environment(backend),
                stop_at=settings.budget.stop_at(settings.margin),
                grace=10,
            )
            per_case = max(per_case, started - settings.budget.remaining())
            if stopped:
                say(f"large: {backend} {case} stopped: time budget; rerun to continue")
                report(settings, backend)
                return "incomplete"
            if code != 0 or not (where / "bench.json").is_file():
                say(f"large: {backend} {case} failed: {' | '.join(last_lines(where / 'bench.log', 2))}")
                status = "failed"
        report(settings, backend)
        settings.write_archive()
    return status


def report(settings, backend):
    """The table and plot of one backend from the records it has."""
    found = sweep.read_records(records(settings, backend))
    if not found:
        return
    text = f"# Large images, {sweep.where_measured(found)}\n\n{sweep.table(found)}\n"
    folder = settings.out / "large-images"
    atomic_write(folder / f"{backend}.md", lambda temporary: temporary.write_text(text))
    sweep.plot(found, folder / f"{backend}.png")
