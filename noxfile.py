"""Sessions: tests per backend, all backends, agreement, portability, lint, docs, bench, gpu.

`nox -s NAME` builds one virtual environment per session and installs the
project with the right extra. `nox --no-venv -s NAME` runs the same sessions in
the current environment, which must already have all three backends
(`pip install torch==2.13.0 && pip install -e ".[all-cpu,test,docs]"`): that is what
`.ci/run` does, so the backends are installed once, not once per session.
"""

import functools
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import nox

BACKENDS = ["jax", "torch", "tensorflow"]
EXTRA = {"jax": "jax", "torch": "torch", "tensorflow": "tensorflow-cpu"}
nox.options.sessions = ["test_all_backends", "lint"]


def install(session, *extras):
    """Install the project with `extras`; under --no-venv, use what is installed."""
    if session.venv_backend == "none":
        return
    if {"torch", "all", "all-cpu"} & set(extras):
        # The CPU wheel; a bare resolve would pull several GB of CUDA packages.
        session.install("torch==2.13.0")
    session.install("-e", f".[{','.join(extras + ('test',))}]")


def jax_cache_environment(cache):
    """Variables that give JAX processes one compilation cache in the fresh folder
    `cache`: many tests and checks compile the same model afresh (in-process and
    in subprocesses), and the cache saves the repeats; nothing stale is reused."""
    return {
        "JAX_COMPILATION_CACHE_DIR": cache,
        "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0",
        "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES": "0",
    }


def pytest_environment(backend, cache):
    """The environment of one backend's pytest run; `cache`: a fresh folder for JAX's
    compilation cache."""
    env = {"KERAS_BACKEND": backend}
    if backend == "jax":
        env.update(jax_cache_environment(cache))
    return env


# The slowest tests are listed at the end, to keep CI's time in view.
PYTEST_ARGS = ("-m", "pytest", "--durations=12")


def pytest(session, backend):
    with tempfile.TemporaryDirectory(prefix="capsnet-jax-cache-") as cache:
        session.run("python", *PYTEST_ARGS, *session.posargs, env=pytest_environment(backend, cache))


@nox.session
@nox.parametrize("backend", BACKENDS, ids=BACKENDS)
def tests(session, backend):
    """The pytest suite on one backend."""
    install(session, EXTRA[backend])
    pytest(session, backend)


# Runs side by side keep to one OpenMP thread each (torch's intra-op pool, MKL).
# Five runs share two cores in CI; torch's pool of two would spin at each parallel
# region for a core that another run holds. Five torch trainings at once took 0.63x
# the time with one thread each; TensorFlow with TF_NUM_INTRAOP_THREADS=1 gained nothing
# (docs/known-problems.md, "CI time").
ONE_THREAD_EACH = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def run_together(session, commands):
    """Run `commands` ({label: (python's argv, environment(scratch folder) -> extra
    variables)}) at once, each one's output printed whole as it ends; returns the
    labels of those that failed.

    Runs of different lengths one after another leave a core idle while a run's
    single-threaded parts (imports, compilation, subprocesses) go on; side by side
    they keep both busy (docs/known-problems.md, "CI time": 37.7 minutes in turn,
    32.8 together).
    """
    # The session's virtual environment first (none under --no-venv: the current one).
    path = os.pathsep.join([*(session.bin_paths or []), os.environ.get("PATH", "")])
    python = shutil.which("python", path=path)
    with tempfile.TemporaryDirectory(prefix="capsnet-runs-") as folder:
        running = {}
        for label, (argv, env) in commands.items():
            log = open(Path(folder) / f"{label}.log", "w+")
            scratch = str(Path(folder) / f"{label}-scratch")
            process = subprocess.Popen(
                [python, *argv],
                env={**os.environ, "PATH": path, **ONE_THREAD_EACH, **env(scratch)},
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            running[label] = (process, log, time.monotonic())
        failed = []
        try:
            while running:
                for label, (process, log, started) in list(running.items()):
                    if process.poll() is None:
                        continue
                    log.seek(0)
                    minutes = (time.monotonic() - started) / 60
                    session.log(f"=== {label}: exit code {process.returncode}, {minutes:.1f} minutes ===")
                    print(log.read(), flush=True)
                    log.close()
                    del running[label]
                    if process.returncode != 0:
                        failed.append(label)
                time.sleep(1)
        finally:
            for process, log, _ in running.values():
                process.kill()  # this session was stopped: no run left behind
                log.close()
    return failed


def rotating_environment(backend, cache):
    """`pytest_environment` for one of three suites run together: each runs the
    `one_backend` tests whose home is its backend (tests/rotation.py)."""
    return {**pytest_environment(backend, cache), "CAPSNET_TEST_ROTATION": "1"}


def suites(session):
    """The pytest suite under each backend, as `run_together` commands; together
    they run each `one_backend` test once."""
    return {
        f"KERAS_BACKEND={backend}": (
            [*PYTEST_ARGS, *session.posargs],
            functools.partial(rotating_environment, backend),
        )
        for backend in BACKENDS
    }


@nox.session
def test_all_backends(session):
    """The pytest suite under each backend, the three at once; fails if any fails."""
    install(session, "all-cpu")
    failed = run_together(session, suites(session))
    if failed:
        session.error(f"tests failed on: {', '.join(failed)}")


@nox.session
def ci(session):
    """What `.ci/run` checks before lint and docs, all at once: the suite under each
    backend, `agree` and `portability`; fails if any fails."""
    install(session, "all-cpu")
    checks = {
        # Their JAX processes (one per run or inspection) compile the same steps.
        "agree": (["-m", "checks.agreement"], jax_cache_environment),
        "portability": (["-m", "checks.portability"], jax_cache_environment),
    }
    failed = run_together(session, {**suites(session), **checks})
    if failed:
        session.error(f"failed: {', '.join(failed)}")


@nox.session
def lint(session):
    """ruff over the whole project."""
    if session.venv_backend != "none":
        session.install("ruff>=0.5")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def docs(session):
    """The documentation site, built into site/; --strict: a broken link or reference fails."""
    if session.venv_backend != "none":
        session.install("-e", ".[docs]")
    # Material's banner about its successor is not a warning about these pages.
    env = {"NO_MKDOCS_2_WARNING": "1"}
    session.run("mkdocs", "build", "--strict", "--site-dir", "site", *session.posargs, env=env)


@nox.session
def agree(session):
    """Cross-backend numerical agreement; writes agree.json and agree.md."""
    install(session, "all-cpu")
    session.run("python", "-m", "checks.agreement", *session.posargs)


@nox.session
def portability(session):
    """Train on each backend, load every model on every backend, resume across."""
    install(session, "all-cpu")
    session.run("python", "-m", "checks.portability", *session.posargs)


@nox.session
def bench(session):
    """Training/evaluation speed per backend; writes bench.json and bench.png."""
    install(session, "all-cpu")
    session.run("python", "cli.py", "bench", *session.posargs)


@nox.session
def gpu(session):
    """The GPU run (tools/gpu_run.py, docs/gpu-runs.md); no arguments: its CPU smoke test.

    On a GPU machine use the CUDA builds already installed: `nox --no-venv -s gpu --
    all --budget 560` (a venv of its own would get the CPU build of torch); where
    there is no nox (the lent GPU machine): `python3 -m tools.gpu_run all --budget 560`.
    """
    install(session, "all-cpu")
    session.run("python", "-m", "tools.gpu_run", *(session.posargs or ["all", "--smoke"]))
