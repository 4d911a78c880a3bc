"""The large-images sweep of docs/large-images.md: `capsnet bench` on random
images from 28x28 to 224x224 pixels and 10 to 1,000 classes, for the paper's
CapsNet, its large-image defaults (stem and deconv decoder), the shared class
capsules and Efficient-CapsNet, then one table and one plot of them all.

    python -m tools.large_images_sweep --run     # bench the cases without a record, then report
    python -m tools.large_images_sweep           # the table and sweep.png from the records

Records: `results/bench-cpu/large-images/<case>/bench.json` (one bench each,
torch, batch 16, 3 timed steps after a warm one), so a sweep cut short keeps
what it measured and a rerun measures only what is missing. `--backend` and
`--records` sweep another backend into another folder; on a GPU the same
sweep is the `large` part of `python -m tools.gpu_run`.
"""

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RECORDS = ROOT / "results" / "bench-cpu" / "large-images"
BATCH_SIZE = 16
# 3 timed steps after a warm one: a 224x224 step takes seconds on a CPU.
TIMING = ["--steps", "3", "--warmup", "1"]

# case -> its bench options, in the order of the table.
CASES = {
    "paper-28x28x1-k10": "--image-size 28x28 --channels 1 --num-classes 10",
    "per-capsule-stem0-dense-64x64x3-k100": (
        "--image-size 64x64 --channels 3 --num-classes 100 --stem-blocks 0 --decoder-type dense"
    ),
    "per-capsule-64x64x3-k100": "--image-size 64x64 --channels 3 --num-classes 100",
    "shared-64x64x3-k100": "--image-size 64x64 --channels 3 --num-classes 100 --class-capsules shared",
    "per-capsule-224x224x3-k100": "--image-size 224x224 --channels 3 --num-classes 100",
    "shared-224x224x3-k100": "--image-size 224x224 --channels 3 --num-classes 100 --class-capsules shared",
    "per-capsule-224x224x3-k1000": "--image-size 224x224 --channels 3 --num-classes 1000",
    "shared-224x224x3-k1000": "--image-size 224x224 --channels 3 --num-classes 1000 --class-capsules shared",
    "efficient-dense-128x128x3-k100": (
        "--model efficient-capsnet --image-size 128x128 --channels 3 --num-classes 100 --decoder-type dense"
    ),
    "efficient-128x128x3-k100": (
        "--model efficient-capsnet --image-size 128x128 --channels 3 --num-classes 100"
    ),
}


def bench_arguments(case, out, backend="torch", batch_size=BATCH_SIZE, timing=TIMING):
    """The `capsnet bench` arguments that measure `case` on `backend` into `out`."""
    where = ["--backends", backend, "--batch-size", str(batch_size), "--out", str(out)]
    return ["bench", *where, *timing, *CASES[case].split()]


def bench(case, records=RECORDS, backend="torch", batch_size=BATCH_SIZE):
    """Run `capsnet bench` for `case` into `records/case/` (bench.json, bench.png)."""
    out = records / case
    out.mkdir(parents=True, exist_ok=True)
    arguments = bench_arguments(case, out, backend, batch_size)
    subprocess.run([sys.executable, "-m", "capsnet", *arguments], check=True, cwd=ROOT)


def read_records(records=RECORDS):
    """case -> the bench result of its record's (one) worker, for the cases that
    have one; a worker that failed (out of memory, say) has no row."""
    found = {}
    for case in CASES:
        path = records / case / "bench.json"
        if path.is_file():
            result = next(iter(json.loads(path.read_text()).values()))
            if "error" not in result:
                found[case] = result
    return found


def describe(result):
    """The model of one bench result in words: family, class capsules, stem, decoder."""
    built = result.get("architecture", {})
    if result["model"] != "capsnet":
        return f"{result['model']}, {built.get('decoder_type')} decoder"
    stem = built.get("stem_blocks") or 0
    return f"capsnet, {built.get('class_capsules')}, stem {stem}, {built.get('decoder_type')} decoder"


def table(results):
    """The sweep as a Markdown table, one row per case."""
    rows = [
        "| input | classes | model | parameters | class capsules' | peak memory | train img/s | eval img/s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for result in results.values():
        shape = "x".join(map(str, result["input_shape"]))
        rows.append(
            f"| {shape} | {result['num_classes']} | {describe(result)} | {result['params']:,} "
            f"| {result['class_capsule_params']:,} | {result['peak_memory_mb']:,.0f} MB "
            f"| {result['train_img_per_s']} | {result['eval_img_per_s']} |"
        )
    return "\n".join(rows)


def where_measured(results):
    """ "torch CPU, batch 16"-like words for the plot's title, from the records."""
    first = next(iter(results.values()))
    device = "GPU" if first.get("peak_memory_kind") == "device" else "CPU"
    return f"{first.get('backend', 'torch')} {device}, batch {first.get('batch_size', BATCH_SIZE)}"


def plot(results, path):
    """Training speed against peak memory, one labelled point per case."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(9, 5.5))
    for case, result in results.items():
        x, y = result["peak_memory_mb"] / 1024, result["train_img_per_s"]
        axes.scatter(x, y, color="tab:blue" if "shared" in case else "tab:orange")
        axes.annotate(case, (x, y), fontsize=7, xytext=(4, 3), textcoords="offset points")
    kind = next(iter(results.values())).get("peak_memory_kind", "host RSS")
    axes.set(xscale="log", yscale="log", xlabel=f"peak memory, GB ({kind})", ylabel="training images / s")
    axes.set_title(f"capsnet bench, {where_measured(results)} (blue: shared class capsules)")
    axes.grid(True, which="both", alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", action="store_true", help="bench the cases that have no record yet")
    parser.add_argument("--backend", default="torch", help="the backend to bench (torch)")
    parser.add_argument("--batch-size", type=int, default=BATCH_SIZE, help=f"({BATCH_SIZE})")
    parser.add_argument("--records", type=Path, default=RECORDS, help="the records' folder")
    args = parser.parse_args(argv)
    if args.run:
        for case in CASES:
            if not (args.records / case / "bench.json").is_file():
                bench(case, args.records, args.backend, args.batch_size)
    results = read_records(args.records)
    if not results:
        sys.exit(f"no records in {args.records}; run with --run")
    print(table(results))
    plot(results, args.records / "sweep.png")
    print(f"wrote {args.records / 'sweep.png'}")


if __name__ == "__main__":
    main()
