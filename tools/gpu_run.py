"""One prepared command that measures every GPU claim (issue 12); see docs/gpu-runs.md.

    python -m tools.gpu_run prepare                     # CPU machine: fill .whl/ to carry
    python3 -m tools.gpu_run all --budget 560 --archive $OUT/gpu.tar.gz  # GPU machine
    python -m tools.gpu_run all --smoke                 # CPU smoke test (1.5-2 min a backend)

Parts, run in the order given: setup, info, bench, profile, mnist, ablation,
fashion, multimnist, affnist (`all` is all nine, in that order), and prepare;
also paper (the authors' recipe on MNIST, `capsnet train --recipe paper`),
multimnist-efficient (Efficient-CapsNet with 144 primary capsules on 300,000
fresh MultiMNIST pairs an epoch) and large (the large-images sweep, `tools.large_images_sweep`), not in `all`.
Every part writes into the results folder (default results/gpu-<device>/) as
soon as it finishes, skips what an earlier command
finished, and stops before --budget runs out, so the same command run again
continues. Exit codes: 0 done or stopped by the budget (rerun to continue), 1 a
measurement failed, 2 bad input.
"""

import argparse
import importlib.util
import math
import signal
import sys
from pathlib import Path

from tools.gpu import bench, device, info, large_images, prepare, profile, setup, summary, training
from tools.gpu.context import REPO, Budget, Settings, UsageError, say

NAMES = ("jax", "torch", "tensorflow")
ALL = ("setup", "info", "bench", "profile", "mnist", "ablation", "fashion", "multimnist", "affnist")
# Not in `all`: the authors' 640 epochs take about 40 minutes at today's JAX epoch
# on an H100; Efficient-CapsNet's MultiMNIST run is for the preset, not a paper's
# figure; the large-images sweep comes after the paper's figures.
EXTRA = ("paper", "multimnist-efficient", "large")
PARTS = ("prepare", *ALL, *EXTRA, "all")
TRAINING = {
    "mnist": training.mnist_runs,
    "paper": training.paper_recipe_runs,
    "ablation": training.ablation_runs,
    "fashion": training.fashion_runs,
    "multimnist": training.multimnist_runs,
    "multimnist-efficient": training.efficient_multimnist_runs,
    "affnist": training.affnist_runs,
}
DATA_FILES = {
    "mnist": "mnist.npz",
    "paper": "mnist.npz",
    "ablation": "mnist.npz",
    "fashion": "fashion_mnist.npz",
    "multimnist": "mnist.npz",
    "multimnist-efficient": "mnist.npz",
    "affnist": "mnist.npz",
}
# Defaults on the GPU and under --smoke (tiny, a few steps, for a CPU).
DEFAULTS = {
    "batches": ([100, 256, 512, 1024], [8]),
    "precisions": (["float32", "fast", "mixed_bfloat16"], ["float32"]),
    "epoch_images": (60_000, 32),
    "steps": (10, 2),
    "warmup": (3, 1),
    "epochs": (50, 1),
    "ablation_epochs": (50, 1),
    "batch_size": (100, 50),
}


class Parser(argparse.ArgumentParser):
    """argparse whose errors are one line, `Error: ...`, exit code 2."""

    def error(self, message):
        raise UsageError(message)


def parser():
    p = Parser(
        prog="python -m tools.gpu_run", description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    p.add_argument("parts", nargs="+", metavar="PART", help=f"one or more of: {', '.join(PARTS)}")
    p.add_argument("--smoke", action="store_true", help="tiny CPU run of every part (few steps, 1 epoch)")
    p.add_argument(
        "--budget", type=float, help="seconds this command may take; parts stop before (default: none)"
    )
    p.add_argument("--out", type=Path, help="results folder (default results/gpu-<device>)")
    p.add_argument(
        "--archive", type=Path, help="also pack the results folder into this .tar.gz after each part"
    )
    p.add_argument("--work", type=Path, help="checkpoints and models (default result/gpu-work, git-ignored)")
    p.add_argument("--backends", help="comma-separated (default: those of jax, torch, tensorflow installed)")
    p.add_argument("--data-dir", type=Path, default=REPO / ".whl", help="mnist.npz, fashion_mnist.npz (.whl)")
    p.add_argument("--wheels-dir", type=Path, default=REPO / ".whl", help="Keras wheels to install (.whl)")
    p.add_argument("--site", type=Path, default=Path("/tmp/capsnet-site"), help="where setup installs them")
    p.add_argument("--batches", help="bench batch sizes (default 100,256,512,1024)")
    p.add_argument("--precisions", help="bench precisions (default float32,fast,mixed_bfloat16)")
    p.add_argument("--epoch-images", type=int, help="images in bench's timed fit() epoch (default 60000)")
    p.add_argument("--steps", type=int, help="bench's timed steps (default 10)")
    p.add_argument("--warmup", type=int, help="bench's untimed steps first (default 3)")
    p.add_argument("--train-backend", help="backend of the training runs (default: fastest in bench)")
    p.add_argument("--precision", default="float32", help="precision of the training runs (float32)")
    p.add_argument("--batch-size", type=int, help="batch size of the training runs (default 100)")
    p.add_argument("--epochs", type=int, help="epochs of mnist and fashion (default 50)")
    p.add_argument("--ablation-epochs", type=int, help="epochs of each ablation run (default 50)")
    p.add_argument(
        "--together",
        action="store_true",
        help="train the runs of mnist, ablation and fashion side by side on the one GPU\n"
        "(as many as would end in the budget even if they took turns)",
    )
    p.add_argument(
        "--jit", action="store_true", help="bench compiled (torch.compile on torch): rows of their own"
    )
    p.add_argument(
        "--cuda-graphs",
        action="store_true",
        help="with --jit: torch.compile replays its graphs as CUDA graphs\n"
        "(TORCHINDUCTOR_CUDAGRAPHS=1), rows of their own",
    )
    p.add_argument(
        "--bench-reserve", type=float, default=0.0, help="seconds of --budget bench leaves to later parts (0)"
    )
    p.add_argument("--seed", type=int, default=1, help="seed of the training runs (1)")
    p.add_argument(
        "--steps-per-execution",
        type=int,
        default=1,
        help="training steps per compiled call of the training runs (1; jax and tensorflow)",
    )
    p.add_argument(
        "--data-on-host",
        action="store_true",
        help="bench and train from batches cut in host memory, not on the device (train's default on\n"
        "a GPU): the baseline of the device-resident data, bench rows of their own",
    )
    p.add_argument("--shared", type=Path, default=REPO.parent / "shared", help="prepare: wheels/ and data/")
    p.add_argument(
        "--fashion-idx",
        type=Path,
        default=Path("/usr/share/datasets/fashion-mnist"),
        help="prepare: Fashion-MNIST's four IDX files",
    )
    return p


def settings_from(argv):
    """Parse and check the command line; raises UsageError on bad input."""
    from capsnet.backends import PRECISIONS

    args = parser().parse_args(argv)
    unknown = [part for part in args.parts if part not in PARTS]
    if unknown:
        raise UsageError(f"unknown part {', '.join(unknown)}; choose from {', '.join(PARTS)}")
    expanded = [p for part in args.parts for p in (ALL if part == "all" else [part])]
    parts = sorted(dict.fromkeys(expanded), key=lambda part: part != "prepare")  # prepare first
    pick = 1 if args.smoke else 0
    value = {
        name: getattr(args, name) if getattr(args, name) is not None else d[pick]
        for name, d in DEFAULTS.items()
    }
    batches = _numbers(args.batches, "--batches") if args.batches else value["batches"]
    precisions = (
        _names(args.precisions, "--precisions", PRECISIONS) if args.precisions else value["precisions"]
    )
    installed = [n for n in NAMES if importlib.util.find_spec(n) is not None]
    backends = _names(args.backends, "--backends", NAMES) if args.backends else installed
    missing = [b for b in backends if b not in installed]
    if missing or not backends:
        raise UsageError(f"backend {', '.join(missing) or '(none)'} is not installed here; pass --backends")
    if args.precision not in PRECISIONS:
        raise UsageError(f"unknown --precision {args.precision!r}; choose from {', '.join(PRECISIONS)}")
    if args.train_backend and args.train_backend not in backends:
        raise UsageError(
            f"--train-backend {args.train_backend!r} is not among --backends {','.join(backends)}"
        )
    if args.budget is not None and not (math.isfinite(args.budget) and args.budget > 0):
        raise UsageError(f"--budget {args.budget} is not a positive number of seconds")
    if args.cuda_graphs and not args.jit:
        raise UsageError("--cuda-graphs needs --jit (CUDA graphs replay torch.compile's graphs)")
    if args.cuda_graphs and backends != ["torch"]:
        raise UsageError("--cuda-graphs is for torch.compile only; add --backends torch")
    if not (math.isfinite(args.bench_reserve) and args.bench_reserve >= 0):
        raise UsageError(f"--bench-reserve {args.bench_reserve} is not a number of seconds >= 0")
    if args.steps_per_execution < 1:
        raise UsageError(f"--steps-per-execution {args.steps_per_execution} is too small")
    for name in ("epoch_images", "steps", "warmup", "epochs", "ablation_epochs", "batch_size"):
        if value[name] < (0 if name == "epoch_images" else 1):
            raise UsageError(f"--{name.replace('_', '-')} {value[name]} is too small")
    name = device.gpu_name()
    smoke_root = REPO / "result" / "gpu-smoke"
    out = args.out or (smoke_root if args.smoke else REPO / "results") / f"gpu-{device.slug(name)}"
    work = args.work or (smoke_root / "work" if args.smoke else REPO / "result" / "gpu-work")
    return Settings(
        parts=parts,
        out=out.resolve(),
        work=work.resolve(),
        archive=args.archive.resolve() if args.archive else None,
        budget=Budget(args.budget),
        backends=backends,
        smoke=args.smoke,
        data_dir=args.data_dir.resolve(),
        wheels_dir=args.wheels_dir.resolve(),
        site=args.site.resolve(),
        device_name=name,
        batches=batches,
        precisions=precisions,
        epoch_images=value["epoch_images"],
        steps=value["steps"],
        warmup=value["warmup"],
        train_backend=args.train_backend,
        precision=args.precision,
        batch_size=value["batch_size"],
        epochs=value["epochs"],
        epochs_given=args.epochs is not None,
        ablation_epochs=value["ablation_epochs"],
        seed=args.seed,
        shared=args.shared.resolve(),
        fashion_idx=args.fashion_idx,
        margin=5.0 if args.smoke else Settings.margin,
        together=args.together,
        bench_reserve=args.bench_reserve,
        jit=args.jit,
        cuda_graphs=args.cuda_graphs,
        steps_per_execution=args.steps_per_execution,
        data_on_host=args.data_on_host,
    )


def _numbers(text, option):
    try:
        numbers = [int(n) for n in text.split(",") if n.strip()]
    except ValueError:
        numbers = []
    if not numbers or min(numbers) < 1:
        raise UsageError(f"{option} {text!r} is not a comma-separated list of positive whole numbers")
    return numbers


def _names(text, option, known):
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in known]
    if unknown or not names:
        raise UsageError(
            f"unknown {option} {', '.join(unknown) or repr(text)}; choose from {', '.join(known)}"
        )
    return names


def check_inputs(settings):
    """Refuse, before any work, what the requested parts will lack."""
    device_parts = [p for p in settings.parts if p != "prepare"]
    if device_parts and "prepare" not in settings.parts:
        setup.check(settings)
    if settings.smoke:
        return
    for part, name in DATA_FILES.items():
        path = settings.data_dir / name
        if part in settings.parts and "prepare" not in settings.parts and not path.is_file():
            raise UsageError(
                f"{path} not found (part {part}); run `python -m tools.gpu_run prepare` and carry it"
            )


def run_part(settings, part):
    """Run one part; returns "done", "incomplete" (budget) or "failed"."""
    if part == "prepare":
        return prepare.run(settings)
    if part == "setup":
        return setup.run(settings)
    if not settings.budget.allows(settings.margin):
        say(f"{part}: not started: time budget; rerun to continue")
        return "incomplete"
    if part == "info":
        return info.run(settings)
    if part == "bench":
        return bench.run(settings)
    if part == "profile":
        return profile.run(settings)
    if part == "large":
        return large_images.run(settings)
    if settings.smoke:
        prepare.smoke_data(settings.work / "smoke.npz")
    if settings.together:  # every training part's runs at once, when the first one comes
        first = next(p for p in settings.parts if p in TRAINING)
        if part != first:
            return "done (with " + first + ")"
        runs = [run for p in settings.parts if p in TRAINING for run in TRAINING[p](settings)]
        return training.run_all(settings, runs, together=True)
    return training.run_all(settings, TRAINING[part](settings))


def main(argv=None):
    try:
        settings = settings_from(sys.argv[1:] if argv is None else argv)
        check_inputs(settings)
        if (
            "setup" not in settings.parts
            and "prepare" not in settings.parts
            and setup.keras_missing(settings)
        ):
            settings.parts.insert(0, "setup")
        say(f"parts {' '.join(settings.parts)} on {settings.device_name}; results in {settings.out}")
        statuses = {}
        for part in settings.parts:
            statuses[part] = run_part(settings, part)
            settings.write_archive()
            if part == "setup" and statuses[part] == "failed":
                break
    except UsageError as error:
        print(f"Error: {error}", file=sys.stderr)
        return 2
    summary.write(settings)
    say("status: " + ", ".join(f"{part} {status}" for part, status in statuses.items()))
    for name in ("bench-summary.md", "training.md"):
        if (settings.out / name).is_file():
            print((settings.out / name).read_text(), flush=True)
    if "incomplete" in statuses.values():
        say("some parts stopped for the time budget: run the same command again to continue")
    return 1 if "failed" in statuses.values() else 0


def _exit_on_sigterm(number, frame):
    # a SystemExit unwinds through wait_all, which stops the runs it watches
    sys.exit(128 + number)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    signal.signal(signal.SIGHUP, _exit_on_sigterm)
    sys.exit(main())
