"""Resume a training run that died in native code, from its last checkpoint.

A framework can kill the process outside Python's reach (TensorFlow 2.21 on CPU
now and then corrupts its heap: SIGSEGV or SIGABRT, no traceback; see the
docs' Known problems). `capsnet train --restarts N` then trains in a child
process, and this supervisor, which imports no framework, starts it again with
`--resume` when it was killed by such a signal and its save folder holds a
checkpoint. Checkpoints inside epochs (`--checkpoint-minutes`) bound what a
crash costs, and an exact resume (`capsnet.exact_resume`) makes the restarted
run end with the weights of a run that never crashed.
"""

import os
import signal
import subprocess
import sys
from pathlib import Path

# Signals a framework's native code dies of; Ctrl-C, SIGTERM and SIGKILL are not crashes.
NATIVE_CRASHES = (signal.SIGSEGV, signal.SIGABRT, signal.SIGBUS, signal.SIGILL, signal.SIGFPE)
# Set in the child: a supervised run does not supervise itself again.
SUPERVISED = "CAPSNET_SUPERVISED"
PR_SET_PDEATHSIG = 1  # Linux's prctl option: a signal for the child when its parent dies


def supervising():
    """Whether this process is already a supervised child."""
    return os.environ.get(SUPERVISED) == "1"


def supervise(command, save_dir, restarts, echo=print):
    """Run `command` (an argv list: a `capsnet ... train ...` command) in a child
    process; each time it dies of a `NATIVE_CRASHES` signal while `save_dir`
    holds a checkpoint, run it again with `--resume`, at most `restarts` times.

    The child runs in a process group of its own, so a Ctrl-C reaches it once,
    passed on by the supervisor (as SIGTERM is), and stops it gracefully as
    before; where the kernel allows, the child dies with the supervisor.

    Returns:
        The exit code to leave with: the child's, or 128 + the signal that
        killed it, as a shell reports it.
    """
    command = [str(part) for part in command]
    # The child imports the capsnet this process runs, wherever it was started from.
    root = str(Path(__file__).resolve().parents[1])
    search_path = os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))
    environment = {**os.environ, SUPERVISED: "1", "PYTHONPATH": search_path}
    checkpoint = Path(save_dir) / "checkpoint.keras"
    child = None

    def pass_on(signum, frame):
        if child is not None and child.poll() is None:
            child.send_signal(signum)

    previous = {sig: signal.signal(sig, pass_on) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        attempt = 0
        while True:
            child = subprocess.Popen(command, env=environment, process_group=0, preexec_fn=_die_with_parent)
            code = child.wait()
            crash = -code if code < 0 and -code in NATIVE_CRASHES else None
            if crash is None or attempt == restarts or not checkpoint.is_file():
                return 128 - code if code < 0 else code
            attempt += 1
            echo(
                f"note: training died in native code ({signal.Signals(crash).name}); resuming from "
                f"{checkpoint} (restart {attempt} of {restarts})"
            )
            if "--resume" not in command:
                command = [*command, "--resume"]
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _die_with_parent():
    """In the child, before it runs: ask Linux to kill it when the supervisor dies
    (kill -9 of the supervisor must not leave a training run behind). Elsewhere
    nothing happens."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass


def program_command(argv):
    """The argv that runs the command line again with `argv` (its arguments)."""
    return [sys.executable, "-m", "capsnet", *argv]
