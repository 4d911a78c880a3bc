"""What every part of a GPU run shares: its settings, the time budget, and subprocesses.

The parts never import Keras themselves: each measurement runs `capsnet` in a
fresh process (Keras fixes its backend at import, and JAX would hold the GPU's
memory for as long as this process lives).
"""

import math
import os
import signal
import subprocess
import sys
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
START = time.monotonic()


class UsageError(Exception):
    """Bad input: printed as one line `Error: ...`, exit code 2."""


def say(message):
    """Print one progress line, prefixed by the seconds since this command started."""
    print(f"[{time.monotonic() - START:6.0f}s] {message}", flush=True)


class Budget:
    """A deadline `seconds` from now (None: no deadline)."""

    def __init__(self, seconds=None):
        self.deadline = None if seconds is None else time.monotonic() + seconds

    def remaining(self):
        """Seconds left before the deadline (infinity without one)."""
        return math.inf if self.deadline is None else self.deadline - time.monotonic()

    def allows(self, seconds):
        """Whether `seconds` of work still fit before the deadline."""
        return self.remaining() >= seconds

    def stop_at(self, margin):
        """The monotonic time at which a subprocess must be asked to stop, or None."""
        return None if self.deadline is None else self.deadline - margin


@dataclass
class Settings:
    """The options of one `python -m tools.gpu_run` command (see its --help)."""

    parts: list
    out: Path
    work: Path
    archive: Path | None
    budget: Budget
    backends: list
    smoke: bool
    data_dir: Path
    wheels_dir: Path
    site: Path
    device_name: str
    batches: list
    precisions: list
    epoch_images: int
    steps: int
    warmup: int
    train_backend: str | None
    precision: str
    batch_size: int
    epochs: int
    ablation_epochs: int
    seed: int
    shared: Path
    fashion_idx: Path
    # Whether --epochs was given (the paper-recipe run has its recipe's otherwise).
    epochs_given: bool = False
    # Train the runs of mnist, ablation and fashion side by side on the one GPU.
    together: bool = False
    # Seconds the bench leaves unused for the parts after it.
    bench_reserve: float = 0.0
    # Bench with jit_compile on (torch.compile on torch; JAX always compiles).
    jit: bool = False
    # With jit on torch: inductor replays the compiled graphs as CUDA graphs.
    cuda_graphs: bool = False
    # Training steps per compiled call of the training runs (capsnet train --steps-per-execution).
    steps_per_execution: int = 1
    # Bench and train from batches cut on the host (capsnet's --data-on-host), not the device.
    data_on_host: bool = False

    # Seconds kept free at the end of the budget: a stopped subprocess exits,
    # results are copied and the archive is written.
    margin: float = 45.0

    def capsnet(self, backend, *args):
        """The command line of `python -m capsnet --backend BACKEND ARGS...`."""
        return [sys.executable, "-m", "capsnet", "--backend", backend, *map(str, args)]

    def environment(self, backend=None, shared_device=False):
        """Environment for a subprocess: the installed wheels on the path, output unbuffered.

        `shared_device`: other processes use the GPU at the same time, so JAX must
        not take 75% of its memory at start, nor TensorFlow all of it, as they do
        by default.
        """
        paths = [str(self.site)] if self.site.is_dir() else []
        paths += [str(REPO)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(dict.fromkeys(paths))}
        env.update(PYTHONUNBUFFERED="1", TF_CPP_MIN_LOG_LEVEL="3", MPLBACKEND="Agg")
        if backend:
            env["KERAS_BACKEND"] = backend
        if shared_device:
            env["XLA_PYTHON_CLIENT_PREALLOCATE"] = "false"
            env["TF_FORCE_GPU_ALLOW_GROWTH"] = "true"
        return env

    def write_archive(self):
        """Pack the results folder into --archive (atomically), if one was asked for."""
        if self.archive is None or not self.out.is_dir():
            return
        self.archive.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.archive.with_name(self.archive.name + ".tmp")
        with tarfile.open(temporary, "w:gz") as tar:
            tar.add(self.out, arcname=self.out.name)
        os.replace(temporary, self.archive)


class Supervised:
    """A subprocess with its output in a log file, asked to stop at a deadline.

    At the monotonic time `stop_at` the process and those it started get SIGTERM (`capsnet train`
    then finishes at the next batch and keeps its last finished epoch); if it
    is still running `grace` seconds later, SIGKILL. `on_tick` is called every
    `every` seconds while it runs (to copy partial results out). Call `poll()`
    until it returns True; then `returncode` and `stopped` (whether it was
    asked to stop) hold the outcome.
    """

    def __init__(self, command, log_path, env, stop_at=None, grace=30.0, every=None, on_tick=None):
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self.stop_at, self.grace, self.every, self.on_tick = stop_at, grace, every, on_tick
        self.stopped, self.kill_at, self.last_tick = False, None, time.monotonic()
        self.returncode = None
        self.log = open(log_path, "w")
        try:
            # A session of its own, so that stopping it also stops the processes it started
            # (bench's workers, which would otherwise go on using the GPU). Then neither
            # Ctrl-C nor a kill of this command reaches it: `wait_all` stops it instead.
            self.process = subprocess.Popen(
                command, stdout=self.log, stderr=subprocess.STDOUT, env=env, cwd=REPO, start_new_session=True
            )
        except BaseException:
            self.log.close()
            raise

    def poll(self):
        """Stop, kill or tick as due; returns whether the process has ended."""
        if self.returncode is not None:
            return True
        if self.process.poll() is not None:
            self.returncode = self.process.returncode
            self.log.close()
            return True
        now = time.monotonic()
        if self.stop_at is not None and not self.stopped and now >= self.stop_at:
            self._signal(signal.SIGTERM)
            self.stopped, self.kill_at = True, now + self.grace
        elif self.stopped and now >= self.kill_at:
            self._signal(signal.SIGKILL)
        if self.on_tick and self.every and now - self.last_tick >= self.every:
            self.on_tick()
            self.last_tick = now
        return False

    def _signal(self, number):
        try:
            os.killpg(self.process.pid, number)
        except ProcessLookupError:  # ended in the meantime
            pass


def wait_all(supervised, interval=0.5, on_end=None):
    """Poll every Supervised process until all have ended, calling `on_end(process)`
    for each as soon as it ends, while the others run on. If this command is
    interrupted meanwhile (Ctrl-C, SIGTERM), stop them all before going on."""
    pending = list(supervised)
    try:
        while pending:
            ended = [s for s in pending if s.poll()]  # a list: poll every one each round
            for s in ended:
                pending.remove(s)
                if on_end:
                    on_end(s)
            if pending and not ended:
                time.sleep(interval)
    except BaseException:
        stop_all(supervised)
        raise


def stop_all(supervised, grace=5.0):
    """SIGTERM to every process group still running, SIGKILL `grace` seconds later."""
    running = [s for s in supervised if not s.poll()]
    for s in running:
        s._signal(signal.SIGTERM)
    deadline = time.monotonic() + grace
    while any(s.process.poll() is None for s in running) and time.monotonic() < deadline:
        time.sleep(0.1)
    for s in running:
        s._signal(signal.SIGKILL)
        s.process.wait()
        s.poll()


def run_until(command, log_path, env, stop_at=None, grace=30.0, every=None, on_tick=None):
    """Run `command` to its end as a `Supervised` process (see there for the arguments).

    Returns:
        (exit code, whether it was asked to stop).
    """
    process = Supervised(command, log_path, env, stop_at, grace, every, on_tick)
    wait_all([process])
    return process.returncode, process.stopped


def last_lines(path, count=5, keep=lambda line: True):
    """The last `count` lines of a text file that `keep` accepts (progress bars left out)."""
    try:
        lines = Path(path).read_text(errors="replace").replace("\r", "\n").splitlines()
    except OSError:
        return []
    return [line for line in lines if line.strip() and keep(line)][-count:]
