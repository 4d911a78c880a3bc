"""One `.keras` file, every backend (`nox -s portability`).

For each registered model family:
1. On each backend, train through the CLI (`train --data F --epochs 1`) on a cut
   of the bundled sample: its first 1,000 training and 1,000 test images in
   batches of 100, or for the 35M-parameter CNN baseline, whose images cost 20
   times a CapsNet's on a CPU, 20 of each in batches of 10 (its steps and
   validation took most of this check's time with 200 and 1,000).
2. Load each of those models under each backend (3 x 3) and predict the cut's
   test images: the class scores (capsule lengths, or the CNN's probabilities)
   must equal the training backend's to 1e-5, with the same predicted class for
   every image.
3. Resume each run's training (`--resume`) on the next backend: the saved
   Adam state (iterations and moments) must carry over, so the optimizer
   continues from step 10 (1,000 training images / batch 100; step 2 for the
   CNN) rather than step 0.

    python -m checks.portability [--backends jax,torch,tensorflow] [--out DIR]
"""

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

from capsnet.fresh_process import run_on_backend
from capsnet.models import family_names

ROOT = Path(__file__).resolve().parent.parent
BOUND = 1e-5
# Every registered model family.
MODELS = family_names()
# (training and test images, batch size) per family: 10 steps an epoch, 2 for the CNN.
SIZES = {"cnn-baseline": (20, 10)}
DEFAULT_SIZE = (1000, 100)


def images_of(run):
    """How many images the run folder `run` (work/<model>/<backend>) trains and predicts."""
    return SIZES.get(Path(run).parent.name, DEFAULT_SIZE)[0]


def batch_of(run):
    """The batch size the run folder `run` trains with."""
    return SIZES.get(Path(run).parent.name, DEFAULT_SIZE)[1]


def cut_of(run):
    """The .npz the run folder `run` trains and predicts from: its family's cut."""
    return Path(run).parent / "data.npz"


def write_cut(path, images):
    """The sample's first `images` training and test images, as an .npz at `path`."""
    from capsnet.data import SAMPLE

    path.parent.mkdir(parents=True, exist_ok=True)
    with np.load(SAMPLE) as sample:
        np.savez(path, **{key: sample[key][:images] for key in sample.files})
    return path


def _run(backend, *args):
    done = run_on_backend(backend, args, cwd=ROOT)
    if done.returncode != 0:
        print(done.stdout[-2000:], done.stderr[-3000:], file=sys.stderr)
        sys.exit(f"{backend}: {' '.join(map(str, args[:4]))} failed")
    return done.stdout


def inspect_worker(out_file, predict, optimizer):
    """Under the active backend, in one process: the class scores of the sample's
    first `images_of(run)` test images from each run in `predict` (its
    trained_model.keras), and the optimizer's step count and moments digest from
    each run in `optimizer` (its checkpoint.keras).
    Writes them to the .npz `out_file`, keyed "lengths <run>" and "optimizer <run>"."""
    from keras import ops

    from capsnet import backends
    from capsnet.commands.evaluate import lengths_and_reconstructions
    from capsnet.data.batches import as_float
    from capsnet.model_files import load_capsnet
    from capsnet.training import load_for_resume

    backends.setup("float32")
    found = {}
    for run in predict:
        model = load_capsnet(Path(run) / "trained_model.keras")
        with np.load(cut_of(run)) as cut:
            x_test = as_float(cut["x_test"])
        found[f"lengths {run}"] = lengths_and_reconstructions(model, x_test, batch_of(run))[0]
    for run in optimizer:
        state = load_for_resume(Path(run) / "checkpoint.keras").train.optimizer
        moments = sum(float(np.abs(ops.convert_to_numpy(v)).sum()) for v in state.variables[2:])
        found[f"optimizer {run}"] = np.array([int(state.iterations), moments])
    np.savez(out_file, **found)


def _inspect(backend, out_file, predict=(), optimizer=()):
    """`inspect_worker` on `backend`, in a process of its own; returns its dict."""
    args = ["-m", "checks.portability", "--inspect-worker", out_file]
    _run(backend, *args, "--predict", *predict, "--optimizer", *optimizer)
    with np.load(out_file) as found:
        return dict(found)


def _train(backend, run, *options):
    sizes = ("--data", cut_of(run), "--batch-size", batch_of(run))
    _run(backend, "cli.py", "train", *sizes, "--save-dir", run, *options)


def check(names, work):
    """Train each model on each backend in `work`, load each on every backend,
    resume each on the next backend. Returns (loads, resumes), keyed by model.

    One process per backend inspects every run at once (start-up, not the work,
    is what a process costs here)."""
    runs = {(model, name): work / model / name for model in MODELS for name in names}
    for model in MODELS:  # one cut per family, which its runs share
        first_run = runs[(model, names[0])]
        write_cut(cut_of(first_run), images_of(first_run))
    for (model, name), run in runs.items():
        print(f"training {model} on {name} ...", flush=True)
        _train(name, run, "--model", model, "--epochs", "1", "--seed", "0")
    resumed_on = {key: names[(names.index(key[1]) + 1) % len(names)] for key in runs}

    def resumed_here(backend):
        return [run for key, run in runs.items() if resumed_on[key] == backend]

    before = {}
    for backend in names:
        before[backend] = _inspect(backend, work / f"{backend}.npz", runs.values(), resumed_here(backend))

    loads, resumes = {}, {}
    for (model, trained_on), run in runs.items():
        reference = before[trained_on][f"lengths {run}"]
        for loaded_on in names:
            got = before[loaded_on][f"lengths {run}"]
            loads[f"{model}: {trained_on} -> {loaded_on}"] = {
                "max abs diff": float(np.max(np.abs(reference - got))),
                "same class": bool(np.array_equal(reference.argmax(1), got.argmax(1))),
            }
    for key, run in runs.items():
        print(f"resuming {key[0]} from {key[1]} on {resumed_on[key]} ...", flush=True)
        _train(resumed_on[key], run, "--subset", 2 * batch_of(run), "--epochs", "2", "--resume")
    for backend in names:
        after = _inspect(backend, work / f"{backend}-after.npz", optimizer=resumed_here(backend))
        for key, run in runs.items():
            if resumed_on[key] != backend:
                continue
            steps = images_of(run) // batch_of(run)
            (steps_before, moments), (steps_after, _) = (
                before[backend][f"optimizer {run}"],
                after[f"optimizer {run}"],
            )
            resumes[f"{key[0]}: {key[1]} -> {backend}"] = {
                "iterations before": int(steps_before),
                "iterations after": int(steps_after),
                "moments carried": bool(moments > 0),
                "ok": bool(steps_before == steps and steps_after == steps + 2 and moments > 0),
            }
    return loads, resumes


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="jax,torch,tensorflow")
    parser.add_argument("--out", default=".")
    parser.add_argument("--work", help="Keep the trained runs in this folder.")
    parser.add_argument("--inspect-worker", help=argparse.SUPPRESS)
    parser.add_argument("--predict", nargs="*", default=[], help=argparse.SUPPRESS)
    parser.add_argument("--optimizer", nargs="*", default=[], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.inspect_worker:
        return inspect_worker(args.inspect_worker, args.predict, args.optimizer)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)  # before the minutes of work, not after

    with tempfile.TemporaryDirectory() as scratch:
        loads, resumes = check(args.backends.split(","), Path(args.work or scratch))

    lines = [
        "| model: trained on -> loaded on | max abs diff of class scores | same class, every image |",
        "|---|---|---|",
    ]
    lines += [f"| {k} | {v['max abs diff']:.1e} | {v['same class']} |" for k, v in loads.items()]
    lines += [
        "",
        "| model: trained on -> continued on | optimizer step before | after 1 more epoch (2 steps) "
        "| Adam moments carried |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {k} | {v['iterations before']} | {v['iterations after']} | {v['moments carried']} |"
        for k, v in resumes.items()
    ]
    print("\n".join(lines))
    (out / "portability.json").write_text(json.dumps({"loads": loads, "resumes": resumes}, indent=2))
    (out / "portability.md").write_text("\n".join(lines) + "\n")
    bad = [k for k, v in loads.items() if v["max abs diff"] > BOUND or not v["same class"]]
    bad += [k for k, v in resumes.items() if not v["ok"]]
    if bad:
        sys.exit(f"not portable: {bad}")
    print("every model loads, predicts and resumes on every backend")


if __name__ == "__main__":
    main()
