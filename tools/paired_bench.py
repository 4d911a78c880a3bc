"""Paired A/B training speed: variants in their own processes, taking turns.

This machine's speed drifts by 10-30% within minutes, more than most changes
worth measuring, so two `capsnet bench` runs one after the other can rank two
builds either way. Here every variant builds the same model in a process of its
own, warms up, and then the variants take turns: each round runs `--steps`
training steps in each variant (the order alternates between rounds). Drift
then hits every variant alike, and the ratio of the medians is what to quote.

    python -m tools.paired_bench --backend torch --precision float32 \\
        --variant plain:--no-fast-paths --variant fast

A variant is `NAME[:OPTIONS]`, OPTIONS comma-separated from:
`--no-fast-paths`; `--no-setup` (skip `capsnet.backends.setup`, as a Python
user who builds and compiles a model does: float32, whatever
`compile_for_training` installs by itself); `ENV=VALUE` (an environment variable for its process, e.g.
`TF_NUM_INTEROP_THREADS=1`); `precision=P` (instead of `--precision`, to pair
float32 with mixed_bfloat16); `run=FILE.py` (executed after the backend's setup:
a script that registers another implementation with `capsnet.fast_ops`, to
time an old one against a new one). Prints one line per variant and writes
`--out` (JSON: every step time) when given.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from capsnet.atomic import atomic_write

WORKER = r"""
import json, sys, time
from capsnet import backends, fast_ops
precision, fast_paths, script, batch_size, routings, setup, model = sys.argv[1:8]
if setup == "1":
    backends.setup(precision, fast_paths=fast_paths == "1")
if script:
    exec(compile(open(script).read(), script, "exec"), {"__file__": script})
from capsnet.commands.bench import training_step
step = training_step(model=model, batch_size=int(batch_size), routings=int(routings))[-1]
for _ in range(3):
    step()
print(json.dumps({"fast_paths": fast_ops.registered()}), flush=True)
for line in sys.stdin:
    times = []
    for _ in range(int(line)):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    print(json.dumps(times), flush=True)
"""


def parse_variant(text):
    """`NAME[:OPTIONS]` -> (name, environment, fast_paths, script, precision or None, setup)."""
    name, _, options = text.partition(":")
    environment, fast_paths, script, precision, setup = {}, True, "", None, True
    for option in filter(None, options.split(",")):
        if option == "--no-fast-paths":
            fast_paths = False
        elif option == "--no-setup":
            setup = False
        elif option.startswith("precision="):
            precision = option[len("precision=") :]
        elif option.startswith("run="):
            script = str(Path(option[4:]).resolve())
            if not Path(script).is_file():
                raise argparse.ArgumentTypeError(f"variant {name}: no file {option[4:]}")
        elif "=" in option:
            key, value = option.split("=", 1)
            environment[key] = value
        else:
            raise argparse.ArgumentTypeError(f"variant {name}: unknown option {option!r}")
    return name, environment, fast_paths, script, precision, setup


def start(variant, args):
    """Start `variant`'s worker; returns (process, its fast paths, its precision) once it is warm."""
    name, environment, fast_paths, script, precision, setup = variant
    precision = precision or args.precision
    env = {**os.environ, "KERAS_BACKEND": args.backend, "TF_CPP_MIN_LOG_LEVEL": "3", **environment}
    command = [sys.executable, "-c", WORKER, precision, "1" if fast_paths else "0", script]
    log = tempfile.TemporaryFile(mode="w+")  # not a pipe: a chatty worker must never block on it
    process = subprocess.Popen(
        [*command, str(args.batch_size), str(args.routings), "1" if setup else "0", args.model],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
    )
    ready = process.stdout.readline()
    if not ready:
        process.wait()
        log.seek(0)
        last = (log.read().strip().splitlines() or ["no output"])[-1]
        sys.exit(f"error: variant {name} failed to start: {last}")
    return process, json.loads(ready)["fast_paths"], precision


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tools.paired_bench", description=__doc__.split("\n")[0])
    parser.add_argument("--backend", required=True, choices=["jax", "torch", "tensorflow"])
    parser.add_argument("--precision", default="float32")
    parser.add_argument("--variant", action="append", required=True, type=parse_variant)
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--steps", type=int, default=2, help="steps per variant per round")
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--routings", type=int, default=3)
    parser.add_argument("--model", default="capsnet", help="model family (capsnet)")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    if len(args.variant) < 2:
        parser.error("give at least two --variant")
    if len({variant[0] for variant in args.variant}) < len(args.variant):
        parser.error("give each --variant its own name")
    workers = {variant[0]: start(variant, args) for variant in args.variant}
    times = {name: [] for name in workers}
    names = list(workers)
    for round_ in range(args.rounds):
        for name in names if round_ % 2 == 0 else names[::-1]:
            process = workers[name][0]
            process.stdin.write(f"{args.steps}\n")
            process.stdin.flush()
            times[name] += json.loads(process.stdout.readline())
    for process, _, _ in workers.values():
        process.stdin.close()
        process.wait()
    base = statistics.median(times[names[0]])
    result = {}
    for name in names:
        median = statistics.median(times[name])
        _, fast_paths, precision = workers[name]
        result[name] = {
            "precision": precision,
            "fast_paths": fast_paths,
            "median_step_s": round(median, 4),
            "train_img_per_s": round(args.batch_size / median, 1),
            f"speed_vs_{names[0]}": round(base / median, 3),
            "step_s": [round(t, 4) for t in times[name]],
        }
        print(
            f"{args.backend} {precision} {name}: {args.batch_size / median:.1f} img/s "
            f"(median of {len(times[name])} steps), {base / median:.3f}x {names[0]}"
        )
    if args.out:
        record = {
            "command": "python -m tools.paired_bench " + " ".join(argv or sys.argv[1:]),
            "results": result,
        }
        atomic_write(args.out, lambda path: Path(path).write_text(json.dumps(record, indent=2) + "\n"))


if __name__ == "__main__":
    main()
