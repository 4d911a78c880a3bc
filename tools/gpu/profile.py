"""Part `profile`: where a batch-100 training step's time goes, per backend.

One `python -m tools.profile_step` call per backend and `--precision` (the
training runs' precision), into `profile/profile-<backend>-<precision>-b100.md`
and `.json`: the GPU kernels that took longest, per step. The raw traces stay
in `--work` (too large to bring back). A later command skips what is there.
"""

import sys

from tools.gpu.context import last_lines, run_until, say

# Seconds one profile call is assumed to take (start, compile, warm-up, steps).
GUESS_S = 60.0


def run(settings):
    """Profile each backend not yet profiled, within the budget; returns a status."""
    status, batch = "done", 8 if settings.smoke else 100
    for backend in settings.backends:
        name = f"profile-{backend}-{settings.precision}-b{batch}"
        out = settings.out / "profile"
        if (out / f"{name}.json").is_file():
            say(f"profile: {backend} already profiled")
            continue
        if not settings.budget.allows((0 if settings.smoke else GUESS_S) + settings.margin):
            say(f"profile: stopped before {backend}: time budget; rerun to continue")
            return "incomplete"
        say(f"profile: {backend} {settings.precision}, batch {batch}")
        command = [sys.executable, "-m", "tools.profile_step", "--backend", backend]
        command += ["--precision", settings.precision, "--batch-size", str(batch), "--steps", "5"]
        command += ["--out", str(out), "--traces", str(settings.work / "traces")]
        code, stopped = run_until(
            command,
            out / f"{name}.log",
            settings.environment(backend),
            stop_at=settings.budget.stop_at(settings.margin),
            grace=10,
        )
        if stopped:
            say(f"profile: {backend} stopped: time budget; rerun to continue")
            return "incomplete"
        if code != 0 or not (out / f"{name}.json").is_file():
            say(f"profile: {backend} failed: {' | '.join(last_lines(out / f'{name}.log', 2))}")
            status = "failed"
            continue
        top = last_lines(out / f"{name}.md", 3, keep=lambda line: line.startswith("| ") and "---" not in line)
        for line in top[:1]:
            say(f"profile: {backend}: {line}")
        settings.write_archive()
    return status
