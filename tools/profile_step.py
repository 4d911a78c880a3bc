"""Where a training step's time goes: its ops under the framework's own profiler.

    python -m tools.profile_step --backend jax --precision float32 --batch-size 100 --out DIR

Builds the model `capsnet bench` times (`capsnet.commands.bench.training_step`),
warms it up, then runs `--steps` steps under the backend plug-in's profiler
(`profile()`: JAX's trace, torch.profiler, TensorFlow's XPlane) and writes the
ops that took longest, as GPU kernels where there is a GPU, into
`DIR/profile-<backend>-<precision>-b<batch>[-jit].md` and `.json`, the raw
trace under `DIR/trace-.../` (or `--traces`). Exit code 2 on bad input, with one line.
"""

import argparse
import json
import sys
import time
from pathlib import Path


def parser():
    p = argparse.ArgumentParser(prog="python -m tools.profile_step", description=__doc__.split("\n")[0])
    p.add_argument("--backend", required=True, choices=["jax", "torch", "tensorflow"])
    p.add_argument("--model", default="capsnet", help="model family (capsnet)")
    p.add_argument("--precision", default="float32")
    p.add_argument("--batch-size", type=int, default=100)
    p.add_argument("--routings", type=int, default=3)
    p.add_argument("--steps", type=int, default=5, help="profiled steps (5)")
    p.add_argument("--warmup", type=int, default=3, help="steps first, not profiled (3)")
    p.add_argument("--no-fast-paths", action="store_true")
    p.add_argument("--jit", action="store_true", help="jit_compile on (torch.compile on torch)")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--traces", type=Path, help="where the profiler's raw files go (default: --out)")
    return p


def main(argv=None):
    args = parser().parse_args(argv)
    if min(args.batch_size, args.steps, args.routings) < 1 or args.warmup < 0:
        print("Error: --batch-size, --steps and --routings must be >= 1, --warmup >= 0", file=sys.stderr)
        return 2
    if args.out.exists() and not args.out.is_dir():
        print(f"Error: --out {args.out} is a file; give a folder", file=sys.stderr)
        return 2
    from capsnet import backends

    try:
        backends.select(args.backend)
        if args.precision not in backends.PRECISIONS:
            raise backends.BackendError(
                f"unknown --precision {args.precision!r}; choose from {', '.join(backends.PRECISIONS)}"
            )
        from capsnet.models import family_names

        if args.model not in family_names():
            raise backends.BackendError(
                f"unknown --model {args.model!r}; choose from {', '.join(family_names())}"
            )
    except backends.BackendError as error:
        print(f"Error: {error}", file=sys.stderr)
        return 2
    plugin = backends.setup(args.precision, fast_paths=not args.no_fast_paths)
    from capsnet.commands.bench import training_step

    _, _, _, step = training_step(
        model=args.model, batch_size=args.batch_size, routings=args.routings, jit=True if args.jit else "auto"
    )
    for _ in range(args.warmup):
        step()

    def run_steps():
        for _ in range(args.steps):
            step()

    plugin.sync()
    started = time.perf_counter()
    run_steps()
    plugin.sync()
    step_ms = (time.perf_counter() - started) / args.steps * 1e3
    name = f"{args.backend}-{args.precision}-b{args.batch_size}" + ("-jit" if args.jit else "")
    if args.model != "capsnet":
        name = f"{args.model}-{name}"
    args.out.mkdir(parents=True, exist_ok=True)
    rows = plugin.profile(run_steps, (args.traces or args.out) / f"trace-{name}")
    for row in rows:
        row["ms_per_step"] = round(row["total_ms"] / args.steps, 3)
    record = {
        "backend": args.backend,
        "model": args.model,
        "precision": args.precision,
        "batch_size": args.batch_size,
        "jit": args.jit,
        "fast_paths": backends.environment(plugin, args.precision)["fast_paths"],
        "devices": plugin.devices(),
        "versions": plugin.versions(),
        "steps": args.steps,
        "step_ms_unprofiled": round(step_ms, 2),
        "ops": rows,
    }
    (args.out / f"profile-{name}.json").write_text(json.dumps(record, indent=2) + "\n")
    text = markdown(record)
    (args.out / f"profile-{name}.md").write_text(text)
    print(text)
    return 0


def markdown(record):
    """The op table as Markdown, with the step's unprofiled time for scale."""
    lines = [
        f"# {record['backend']} {record['precision']}, batch {record['batch_size']}"
        + (", jit" if record["jit"] else ""),
        "",
        f"Step: {record['step_ms_unprofiled']} ms without the profiler; "
        f"devices: {', '.join(record['devices'])}; fast paths: {', '.join(record['fast_paths']) or 'none'}.",
        "",
        "| where | op | calls per step | ms per step |",
        "|---|---|---|---|",
    ]
    steps = record["steps"]
    for row in record["ops"]:
        op = row["op"].replace("|", "/")[:90]
        lines.append(f"| {row['where']} | `{op}` | {row['calls'] / steps:g} | {row['ms_per_step']} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
