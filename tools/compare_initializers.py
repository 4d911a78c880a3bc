"""Which initial W for DigitCaps learns faster: Glorot-uniform or N(0, 0.1)?

Trains the paper's CapsNet (3 routings, reconstruction, 2-pixel shifts, Adam
lr 1e-3) for a fixed number of steps from each initializer and seed, then
reports accuracy on the first test images. Writes results.json and results.md
into --out.

    python tools/compare_initializers.py --data ../shared/data/mnist.npz \\
        --steps 200 --batch-size 32 --seeds 0 1 2 --out results/initializers/glorot-vs-normal
"""

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

INITIALIZERS = {
    "glorot_uniform": lambda keras, seed: keras.initializers.GlorotUniform(seed=seed),
    "normal_0.1": lambda keras, seed: keras.initializers.RandomNormal(stddev=0.1, seed=seed),
}


def run_one(data, name, seed, steps, batch_size, n_test):
    import keras
    import numpy as np

    import capsnet
    from capsnet import backends
    from capsnet.data import one_hot
    from capsnet.data.batches import as_float
    from capsnet.training import compile_for_training

    backends.setup("float32", seed=seed)
    models = capsnet.build_capsnet(seed=seed, digit_initializer=INITIALIZERS[name](keras, seed))
    compile_for_training(models.train)
    order = np.random.default_rng(seed).permutation(len(data.x_train))[: steps * batch_size]
    started = time.perf_counter()
    for step in range(steps):
        index = order[step * batch_size : (step + 1) * batch_size]
        x, y = as_float(data.x_train[index]), one_hot(data.y_train[index], data.num_classes)
        models.train.train_on_batch([x, y], [y, x])
    seconds = time.perf_counter() - started
    lengths, _ = models.evaluate.predict(as_float(data.x_test[:n_test]), batch_size=100, verbose=0)
    accuracy = float(np.mean(np.argmax(lengths, 1) == data.y_test[:n_test]))
    return {"initializer": name, "seed": seed, "test_accuracy": accuracy, "train_seconds": seconds}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="an .npz in keras.datasets.mnist layout")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--test-images", type=int, default=1000)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()

    import keras

    from capsnet import backends
    from capsnet.atomic import atomic_write_text
    from capsnet.data import load

    data = load(path=args.data)
    runs = []
    for seed in args.seeds:
        for name in INITIALIZERS:
            runs.append(run_one(data, name, seed, args.steps, args.batch_size, args.test_images))
            print(json.dumps(runs[-1]), flush=True)
    summary = {}
    for name in INITIALIZERS:
        accuracies = [r["test_accuracy"] for r in runs if r["initializer"] == name]
        summary[name] = {"mean": sum(accuracies) / len(accuracies), "runs": accuracies}
    record = {
        "command": "python " + " ".join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]]),
        "backend": keras.backend.backend(),
        "versions": {
            "python": platform.python_version(),
            "keras": keras.__version__,
            **backends.active().versions(),
        },
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "steps": args.steps,
        "batch_size": args.batch_size,
        "test_images": args.test_images,
        "runs": runs,
        "summary": summary,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.out / "results.json", json.dumps(record, indent=2) + "\n")
    lines = [
        "| DigitCaps W initializer | " + " | ".join(f"seed {s}" for s in args.seeds) + " | mean |",
        "|---|" + "---|" * (len(args.seeds) + 1),
    ]
    for name, row in summary.items():
        cells = " | ".join(f"{a:.1%}" for a in row["runs"])
        lines.append(f"| {name} | {cells} | **{row['mean']:.1%}** |")
    atomic_write_text(args.out / "results.md", "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
