"""One `.keras` file, every backend (`nox -s portability`).

For each model (CapsNet and Efficient-CapsNet):
1. On each backend, train through the CLI: `train --dataset sample --epochs 1`.
2. Load each of those models under each backend (3 x 3) and predict the
   sample's 1,000 test images: lengths must equal the training backend's to
   1e-5, with the same predicted class for every image.
3. Resume each run's training (`--resume`) on the next backend: the saved
   Adam state (iterations and moments) must carry over, so the optimizer
   continues from step 10 (1,000 training images / batch 100) rather than step 0.

    python -m checks.portability [--backends jax,torch,tensorflow] [--out DIR]
"""

import argparse
import itertools
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

from capsnet.fresh_process import run_on_backend

ROOT = Path(__file__).resolve().parent.parent
BOUND = 1e-5
# Each model's `train` options; 1,000 images in batches of 100 make 10 steps an epoch for both.
TRAIN_IMAGES, BATCH = 1000, 100
STEPS = TRAIN_IMAGES // BATCH
MODELS = {
    "capsnet": ("--model", "capsnet", "--batch-size", str(BATCH)),
    "efficient-capsnet": ("--model", "efficient-capsnet", "--batch-size", str(BATCH)),
}


def _run(backend, *args):
    done = run_on_backend(backend, args, cwd=ROOT)
    if done.returncode != 0:
        print(done.stdout[-2000:], done.stderr[-3000:], file=sys.stderr)
        sys.exit(f"{backend}: {' '.join(map(str, args[:4]))} failed")
    return done.stdout


def predict_worker(out_file, *model_files):
    """Lengths of the sample's test images under the active backend, per model."""
    from capsnet import backends
    from capsnet.batches import as_float
    from capsnet.data import load
    from capsnet.model_files import load_capsnet

    backends.setup("float32")
    x_test = as_float(load("sample").x_test)
    results = {
        Path(f).parent.name: load_capsnet(f).evaluate.predict(x_test, verbose=0)[0] for f in model_files
    }
    np.savez(out_file, **results)


def optimizer_worker(model_file):
    """Print the optimizer's step count and a digest of its moments."""
    from keras import ops

    from capsnet import backends
    from capsnet.training import load_for_resume

    backends.setup("float32")
    optimizer = load_for_resume(model_file).train.optimizer
    moments = sum(float(np.abs(ops.convert_to_numpy(v)).sum()) for v in optimizer.variables[2:])
    print(json.dumps({"iterations": int(optimizer.iterations), "moments_abs_sum": moments}))


def _check_model(names, work, options):
    """Train one model per backend in `work`, load each on every backend, resume each on the next."""
    for name in names:
        print(f"training {options[1]} on {name} ...", flush=True)
        _run(
            name,
            "cli.py",
            "train",
            *options,
            "--dataset",
            "sample",
            "--subset",
            str(TRAIN_IMAGES),
            "--epochs",
            "1",
            "--seed",
            "0",
            "--save-dir",
            work / name,
        )
    models = [work / name / "trained_model.keras" for name in names]
    lengths = {}
    for name in names:
        _run(name, "-m", "checks.portability", "--predict-worker", work / f"{name}.npz", *models)
        lengths[name] = dict(np.load(work / f"{name}.npz"))

    loads = {}
    for trained_on, loaded_on in itertools.product(names, names):
        reference, got = lengths[trained_on][trained_on], lengths[loaded_on][trained_on]
        loads[f"{trained_on} -> {loaded_on}"] = {
            "max abs diff": float(np.max(np.abs(reference - got))),
            "same class": bool(np.array_equal(reference.argmax(1), got.argmax(1))),
        }

    resumes = {}
    for trained_on, resumed_on in zip(names, names[1:] + names[:1], strict=True):
        run = work / trained_on
        before = _optimizer_state(resumed_on, run)
        _run(
            resumed_on,
            "cli.py",
            "train",
            "--dataset",
            "sample",
            "--subset",
            str(2 * BATCH),
            "--batch-size",
            str(BATCH),
            "--epochs",
            "2",
            "--resume",
            "--save-dir",
            run,
        )
        after = _optimizer_state(resumed_on, run)
        resumes[f"{trained_on} -> {resumed_on}"] = {
            "iterations before": before["iterations"],
            "iterations after": after["iterations"],
            "moments carried": before["moments_abs_sum"] > 0,
            "ok": before["iterations"] == STEPS
            and after["iterations"] == STEPS + 2
            and before["moments_abs_sum"] > 0,
        }
    return loads, resumes


def _optimizer_state(backend, run):
    output = _run(backend, "-m", "checks.portability", "--optimizer-worker", run / "checkpoint.keras")
    return json.loads(output.strip().splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="jax,torch,tensorflow")
    parser.add_argument("--out", default=".")
    parser.add_argument("--work", help="Keep the trained runs in this folder.")
    parser.add_argument("--predict-worker", nargs="+", help=argparse.SUPPRESS)
    parser.add_argument("--optimizer-worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.predict_worker:
        return predict_worker(*args.predict_worker)
    if args.optimizer_worker:
        return optimizer_worker(args.optimizer_worker)

    names = args.backends.split(",")
    loads, resumes = {}, {}
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(args.work or scratch)
        for model, options in MODELS.items():
            model_loads, model_resumes = _check_model(names, work / model, options)
            loads.update({f"{model}: {k}": v for k, v in model_loads.items()})
            resumes.update({f"{model}: {k}": v for k, v in model_resumes.items()})

    lines = [
        "| model: trained on -> loaded on | max abs diff of lengths | same class, all 1,000 |",
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
    out = Path(args.out)
    (out / "portability.json").write_text(json.dumps({"loads": loads, "resumes": resumes}, indent=2))
    (out / "portability.md").write_text("\n".join(lines) + "\n")
    bad = [k for k, v in loads.items() if v["max abs diff"] > BOUND or not v["same class"]]
    bad += [k for k, v in resumes.items() if not v["ok"]]
    if bad:
        sys.exit(f"not portable: {bad}")
    print("every model loads, predicts and resumes on every backend")


if __name__ == "__main__":
    main()
