"""Memory under load: peak resident memory of `predict` over a folder of images
and of two trainings in two folders at once.

    python -m tools.under_load --backend torch --images 10000 --out DIR

Writes `--images` PNG digits (the bundled sample's test digits, repeated) into a
folder, runs `capsnet predict --weights efficient-capsnet-mnist FOLDER` over a
tenth of them and over all of them (bounded memory: the two peaks should match),
then starts two `capsnet train --dataset sample --epochs 1` runs into two
folders at the same moment. Each command runs in a process of its own; its peak
resident memory is the kernel's (`os.wait4`'s `ru_maxrss`, the process and none
of its children). Prints a Markdown table, writes `DIR/under-load.json`.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def parser():
    p = argparse.ArgumentParser(prog="python -m tools.under_load", description=__doc__.split("\n")[0])
    p.add_argument("--backend", default="torch", choices=["jax", "torch", "tensorflow"])
    p.add_argument("--images", type=int, default=10_000, help="images in the predicted folder (10000)")
    p.add_argument("--train-images", type=int, default=1000, help="--subset of each training run (1000)")
    p.add_argument("--out", type=Path, required=True)
    return p


def write_pictures(folder, count):
    """`count` PNG files of the sample's test digits, 1,000 to a subfolder."""
    from PIL import Image

    from capsnet.data import SAMPLE

    with np.load(SAMPLE) as sample:
        digits = sample["x_test"]
    for index in range(count):
        part = folder / f"part-{index // 1000:03d}"
        part.mkdir(parents=True, exist_ok=True)
        Image.fromarray(digits[index % len(digits)]).save(part / f"{index:06d}.png")


def start(backend, *args):
    """A `cli.py` command on `backend`; its output is discarded, its errors kept in a
    temporary file (a pipe nobody reads while we wait could fill and stop it)."""
    command = [sys.executable, str(ROOT / "cli.py"), "--backend", backend, *map(str, args)]
    errors = tempfile.TemporaryFile("w+")
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=errors, text=True)
    process.errors = errors
    return process


def finish(process, started):
    """Wait for `process`: its exit code, wall seconds and peak resident memory (MB)."""
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    process.errors.seek(0)
    if process.returncode != 0:
        print(process.errors.read()[-2000:], file=sys.stderr)
    process.errors.close()
    return {
        "exit_code": process.returncode,
        "seconds": round(time.monotonic() - started, 1),
        "peak_rss_mb": round(usage.ru_maxrss / 1024),  # Linux reports KiB
    }


def measure(args, work):
    rows = {}
    folder, tenth = work / "pictures", work / "tenth"
    write_pictures(folder, args.images)
    write_pictures(tenth, max(1, args.images // 10))
    for name, target, count in (("predict", tenth, args.images // 10), ("predict", folder, args.images)):
        started = time.monotonic()
        process = start(args.backend, "predict", "--weights", "efficient-capsnet-mnist", target)
        rows[f"{name} over {count:,} images"] = finish(process, started)
    started = time.monotonic()
    runs = [
        start(
            args.backend,
            "train",
            "--dataset",
            "sample",
            "--subset",
            args.train_images,
            "--epochs",
            "1",
            "--seed",
            seed,
            "--save-dir",
            work / f"run-{seed}",
        )  # fmt: skip
        for seed in (1, 2)
    ]
    for seed, process in zip((1, 2), runs, strict=True):
        row = finish(process, started)
        row["wrote trained_model.keras"] = (work / f"run-{seed}" / "trained_model.keras").is_file()
        rows[f"train run {seed} of 2 at once"] = row
    return rows


def main(argv=None):
    args = parser().parse_args(argv)
    if args.images < 10 or args.train_images < 100:
        print("Error: --images must be >= 10 and --train-images >= 100", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="capsnet-load-") as work:
        rows = measure(args, Path(work))
    record = {
        "backend": args.backend,
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "command": " ".join(["python -m tools.under_load", *(argv or sys.argv[1:])]),
        "rows": rows,
    }
    (args.out / "under-load.json").write_text(json.dumps(record, indent=2) + "\n")
    print("| run | exit code | seconds | peak resident memory |\n|---|---|---|---|")
    for name, row in rows.items():
        print(f"| {name} | {row['exit_code']} | {row['seconds']} | {row['peak_rss_mb']:,} MB |")
    return 0 if all(row["exit_code"] == 0 for row in rows.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
