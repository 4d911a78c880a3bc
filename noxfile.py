"""Sessions: tests per backend, all backends, agreement, portability, lint, bench, gpu.

`nox -s NAME` builds one virtual environment per session and installs the
project with the right extra. `nox --no-venv -s NAME` runs the same sessions in
the current environment, which must already have all three backends
(`pip install torch==2.13.0 && pip install -e ".[all-cpu,test]"`): that is what
`.ci/run` does, so the backends are installed once, not once per session.
"""

import tempfile

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


def pytest(session, backend):
    # The slowest tests are listed at the end, to keep CI's time in view.
    env = {"KERAS_BACKEND": backend}
    with tempfile.TemporaryDirectory(prefix="capsnet-jax-cache-") as cache:
        if backend == "jax":
            # Many tests compile the same model afresh (in-process and in subprocesses):
            # a compilation cache shared by the run's processes saves the repeats
            # (docs: the suite's time). A new folder each run, so nothing stale is reused.
            env.update(
                JAX_COMPILATION_CACHE_DIR=cache,
                JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="0",
                JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES="0",
            )
        session.run("python", "-m", "pytest", "--durations=12", *session.posargs, env=env)


@nox.session
@nox.parametrize("backend", BACKENDS, ids=BACKENDS)
def tests(session, backend):
    """The pytest suite on one backend."""
    install(session, EXTRA[backend])
    pytest(session, backend)


@nox.session
def test_all_backends(session):
    """The pytest suite under each backend in turn; fails if any fails."""
    install(session, "all-cpu")
    failed = []
    for backend in BACKENDS:
        session.log(f"=== KERAS_BACKEND={backend} ===")
        try:
            pytest(session, backend)
        except nox.command.CommandFailed:
            failed.append(backend)
    if failed:
        session.error(f"tests failed on: {', '.join(failed)}")


@nox.session
def lint(session):
    """ruff over the whole project."""
    if session.venv_backend != "none":
        session.install("ruff>=0.5")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


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
    """The GPU run (tools/gpu_run.py, README "GPU runs"); no arguments: its CPU smoke test.

    On a GPU machine use the CUDA builds already installed: `nox --no-venv -s gpu --
    all --budget 560` (a venv of its own would get the CPU build of torch); where
    there is no nox (the lent GPU machine): `python3 -m tools.gpu_run all --budget 560`.
    """
    install(session, "all-cpu")
    session.run("python", "-m", "tools.gpu_run", *(session.posargs or ["all", "--smoke"]))
