"""Do JAX, PyTorch and TensorFlow compute the same CapsNet? (`nox -s agree`)

One set of weights and one batch of real MNIST digits go to every backend,
each in its own process with TF32 off. Every pair of backends is compared on:
forward outputs (training and evaluation models), the loss, the gradient of
every weight, and the weights and losses over 1 and 10 Adam steps (Adam
epsilon 1e-4, and Keras's default 1e-7: see BOUNDS), for CapsNet with 1 and
3 routing iterations and for Efficient-CapsNet. The measured maxima are printed, written to
agree.json / agree.md, and checked against the bounds below.

    python -m checks.agreement [--backends jax,torch,tensorflow] [--out DIR]
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
BOUNDS = {
    "forward max abs": 1e-5,
    "loss rel": 1e-5,
    "gradient rel": 1e-4,
    "weights after 1 step rel": 1e-4,
    "weights after 10 steps rel": 1e-4,
    "loss curve max abs": 1e-4,
    # Keras's default Adam epsilon (1e-7): Adam divides each update by
    # sqrt(v) + epsilon, so for near-zero gradients (ReLU-gated conv1 and decoder
    # units) a float32 summation-order difference dg moves the update by about
    # lr * dg / epsilon. Over 10 steps that is ~3e-4 between any two backends
    # (docs/backends.md); with epsilon 1e-4 (the row above) it is ~3e-7.
    "weights after 10 steps rel, Adam eps 1e-7": 1e-3,
}
# Looser bounds for one model. Efficient-CapsNet's batch normalisation cancels
# most of the gradient of each conv bias and beta before it (see `compare`);
# with Keras's default Adam epsilon, 1e-7, the float32 rounding left in those
# gradients becomes steps of normal size, measured at 1e-3 over 10 steps.
VARIANT_BOUNDS = {"efficient-capsnet": {"weights after 10 steps rel, Adam eps 1e-7": 5e-3}}


def bound(variant, figure):
    """The bound on `figure` for model `variant`."""
    return VARIANT_BOUNDS.get(variant, {}).get(figure, BOUNDS[figure])


# Adam epsilon for the strict training rows; see the last bound.
STRICT_EPSILON = 1e-4
# Each model compared: name -> (model family, build options, whether the
# training rows compare each weight on its own; see `compare`).
VARIANTS = {
    "capsnet r1": ("capsnet", {"routings": 1}, True),
    "capsnet r3": ("capsnet", {"routings": 3}, True),
    "efficient-capsnet": ("efficient-capsnet", {}, False),
}
BATCH = 16
STEPS = 10


def batches():
    """STEPS + 1 fixed batches of real digits: (x, one-hot y)."""
    from capsnet.data import SAMPLE

    with np.load(SAMPLE) as sample:
        x = sample["x_train"][: BATCH * (STEPS + 1)].astype("float32")[..., None] / 255.0
        labels = sample["y_train"][: BATCH * (STEPS + 1)]
    y = np.eye(10, dtype="float32")[labels]
    return [(x[i : i + BATCH], y[i : i + BATCH]) for i in range(0, len(x), BATCH)]


def build(family, options):
    """The model to compare, without random shifts."""
    from capsnet import models

    return models.build(family, (28, 28, 1), 10, shift_pixels=0, **options)


def _shared_weights(weights_file, model):
    """The initial weights every backend starts from: the first backend's, saved."""
    from keras import ops

    if not weights_file.exists():
        np.savez(weights_file, *[ops.convert_to_numpy(w) for w in model.weights])
    with np.load(weights_file) as stored:
        return [stored[f"arr_{i}"] for i in range(len(stored.files))]


def worker(weights_dir, out_file):
    """On the active backend: forward, loss, gradients and training results."""
    import keras
    from keras import ops

    import capsnet
    from capsnet import backends

    plugin = backends.setup("float32", seed=0)
    data = batches()
    results = {}
    for variant, (family, options, _) in VARIANTS.items():
        models = build(family, options)
        weights = _shared_weights(Path(weights_dir) / f"{family}.npz", models.train)
        models.train.set_weights(weights)
        x, y = data[0]
        prefix = f"{variant}/"
        lengths, recon = models.train([x, y])
        eval_lengths, eval_recon = models.evaluate(x)
        for name, value in (
            ("lengths", lengths),
            ("recon", recon),
            ("eval_lengths", eval_lengths),
            ("eval_recon", eval_recon),
        ):
            results[prefix + name] = ops.convert_to_numpy(value)

        train = models.train
        non_trainable = [v.value for v in train.non_trainable_variables]

        def loss_of(*trainable, train=train, non_trainable=non_trainable, x=x, y=y):
            (out_lengths, _), _, extra = train.stateless_call(
                list(trainable), non_trainable, [x, y], return_losses=True
            )
            return ops.mean(capsnet.margin_loss(y, out_lengths)) + sum(extra)

        loss, grads = plugin.gradients(loss_of, [ops.convert_to_numpy(v) for v in train.trainable_variables])
        results[prefix + "loss"] = np.float64(loss)
        for i, g in enumerate(grads):
            results[f"{prefix}grad/{i}"] = g

        for tag, epsilon in (("", STRICT_EPSILON), ("default_eps/", None)):
            train.set_weights(weights)
            results.update(_adam_steps(train, data[1:], epsilon, prefix + tag))
    np.savez(out_file, **results)
    print(json.dumps({"backend": keras.backend.backend(), **plugin.versions()}))


def _adam_steps(train, data, epsilon, prefix):
    """Loss curve and weights after steps 1 and STEPS of Adam on `data`."""
    from keras import ops

    from capsnet.training import compile_for_training

    compile_for_training(train)
    if epsilon is not None:
        train.optimizer.epsilon = epsilon
    results, curve = {}, []
    for step, (bx, by) in enumerate(data, start=1):
        curve.append(float(train.train_on_batch([bx, by], [by, bx], return_dict=True)["loss"]))
        if step in (1, STEPS):
            for i, w in enumerate(train.trainable_variables):
                results[f"{prefix}weights{step}/{i}"] = ops.convert_to_numpy(w)
    results[prefix + "loss_curve"] = np.array(curve)
    return results


def _relative(a, b):
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(a), 1e-30))


def _weights_difference(a, b, key, n_weights, per_weight):
    """Relative difference of the weights saved under `key`: the largest over
    the weights one by one, or over all of them as one vector."""
    if per_weight:
        return max(_relative(a[f"{key}/{i}"], b[f"{key}/{i}"]) for i in range(n_weights))
    stack = [np.concatenate([r[f"{key}/{i}"].ravel() for i in range(n_weights)]) for r in (a, b)]
    return _relative(*stack)


def compare(a, b):
    """The measured figures for one pair of backends' results.

    Efficient-CapsNet's training rows compare all weights as one vector: in
    training mode each batch normalisation cancels, up to its ReLU, the
    gradient of the conv bias and the beta before it, so those gradients are
    mostly float32 rounding (to about 2e-3 of themselves between TensorFlow
    and the others), which Adam scales up to a step of normal size. The
    gradient row still checks every weight on its own (inference mode).
    """
    figures = {}
    for variant, (_, _, per_weight) in VARIANTS.items():
        p = f"{variant}/"
        forward = max(
            float(np.max(np.abs(a[p + k] - b[p + k])))
            for k in ("lengths", "recon", "eval_lengths", "eval_recon")
        )
        n_weights = len([k for k in a.files if k.startswith(p + "grad/")])

        def weights(key, n_weights=n_weights, per_weight=per_weight):
            return _weights_difference(a, b, key, n_weights, per_weight)

        row = {
            "forward max abs": forward,
            "loss rel": abs(float(a[p + "loss"]) - float(b[p + "loss"])) / abs(float(a[p + "loss"])),
            "gradient rel": max(_relative(a[f"{p}grad/{i}"], b[f"{p}grad/{i}"]) for i in range(n_weights)),
            "weights after 1 step rel": weights(f"{p}weights1"),
            "weights after 10 steps rel": weights(f"{p}weights{STEPS}"),
            "loss curve max abs": max(
                float(np.max(np.abs(a[p + tag + "loss_curve"] - b[p + tag + "loss_curve"])))
                for tag in ("", "default_eps/")
            ),
            "weights after 10 steps rel, Adam eps 1e-7": weights(f"{p}default_eps/weights{STEPS}"),
        }
        figures[variant] = row
    return figures


def report(pairs):
    """Markdown table of every pair, routing setting and figure."""
    lines = ["| pair | model | " + " | ".join(BOUNDS) + " |", "|---|---|" + "---|" * len(BOUNDS)]
    for pair, by_variant in pairs.items():
        for variant, row in by_variant.items():
            cells = [f"{row[k]:.1e}{'' if row[k] <= bound(variant, k) else ' FAIL'}" for k in BOUNDS]
            lines.append(f"| {pair} | {variant} | " + " | ".join(cells) + " |")
    lines.append("| bound | | " + " | ".join(f"{v:.0e}" for v in BOUNDS.values()) + " |")
    for variant, bounds in VARIANT_BOUNDS.items():
        cells = [f"{bounds[k]:.0e}" if k in bounds else "" for k in BOUNDS]
        lines.append(f"| bound | {variant} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="jax,torch,tensorflow")
    parser.add_argument("--out", default=".")
    parser.add_argument("--work", help="Keep the raw per-backend results in this folder.")
    parser.add_argument("--worker", nargs=2, metavar=("WEIGHTS_DIR", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker(*args.worker)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)  # before the minutes of work, not after

    names = args.backends.split(",")
    with tempfile.TemporaryDirectory() as scratch:
        tmp = args.work or scratch
        Path(tmp).mkdir(parents=True, exist_ok=True)
        versions = {}
        for name in names:
            print(f"running {name} ...", flush=True)
            done = run_on_backend(
                name, ["-m", "checks.agreement", "--worker", tmp, f"{tmp}/{name}.npz"], cwd=ROOT
            )
            if done.returncode != 0:
                print(done.stderr[-3000:], file=sys.stderr)
                sys.exit(f"the {name} worker failed")
            versions[name] = json.loads(done.stdout.strip().splitlines()[-1])
        results = {name: np.load(f"{tmp}/{name}.npz") for name in names}
        pairs = {f"{a} vs {b}": compare(results[a], results[b]) for a, b in itertools.combinations(names, 2)}
    table = report(pairs)
    print(table)
    (out / "agree.json").write_text(
        json.dumps(
            {"bounds": BOUNDS, "variant_bounds": VARIANT_BOUNDS, "versions": versions, "pairs": pairs},
            indent=2,
        )
    )
    (out / "agree.md").write_text(table + "\n")
    failed = [
        (pair, variant, k)
        for pair, rows in pairs.items()
        for variant, row in rows.items()
        for k, v in row.items()
        if v > bound(variant, k)
    ]
    if failed:
        sys.exit(f"over the bound: {failed}")
    print("all backends agree within the bounds")


if __name__ == "__main__":
    main()
