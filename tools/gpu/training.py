"""Parts `mnist`, `ablation`, `fashion`, `multimnist` and `affnist`: the papers'
training runs, resumable; also `paper` (the authors' recipe) and
`multimnist-efficient` (Efficient-CapsNet on MultiMNIST).

Each run is `capsnet train` with the paper's settings (Adam lr 0.001 decayed
0.9 per epoch, batch 100, 2-pixel shifts; 3 routings with reconstruction
unless the run says otherwise). Its checkpoints live in `--work/<run>/`; its
small results (log.csv with the test accuracy of every epoch, run.json,
log.png, status.json, the end of train.log, and once finished its test figure) are copied into
`<results>/<run>/` every minute and when it ends.

Before the time budget runs out the run gets SIGTERM: `capsnet train` stops
at the next batch and keeps its last finished epoch. The next command finds
its checkpoint and continues with `--resume` (while the machine still holds
`--work`: a GPU machine stays only 30 s after a call, so chain the calls).
"""

import csv
import json
import shutil
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from capsnet.paper import LAM_RECON as RECONSTRUCTION
from tools.gpu import summary
from tools.gpu.context import Supervised, last_lines, run_until, say, wait_all

PAPER = {"lr": 0.001, "lr_decay": 0.9, "shift_pixels": 2}
# `capsnet train --recipe paper`'s epochs (capsnet.models.registry.PAPER_RECIPE).
PAPER_RECIPE_EPOCHS = 640
# Seconds a run needs at least (start, compilation, one epoch) to be worth starting.
MIN_START_S = 120.0
# A training epoch also tests on the 10,000 test images: about this much longer than
# the bench's 60,000-image fit() epoch (evaluation runs about 3x faster than training).
EPOCH_WITH_TEST = 1.2
SHOWN = ("training on", "epoch ", "test accuracy", "Error", "interrupted", "already finished", "note:")


@dataclass(frozen=True)
class TrainRun:
    """One training run: its name (folder), data file, length and architecture."""

    name: str
    data: Path
    epochs: int
    routings: int = 3
    lam_recon: float = RECONSTRUCTION
    # A generated dataset made from `data` (multimnist: pairs, shifted by the data,
    # so no shifts in the model), and the figure its test writes.
    dataset: str | None = None
    # The file whose presence says the run was tested (None: the test's test.txt).
    figure: str | None = "real_and_recon.png"
    sizes: tuple = ()  # the generated dataset's --epoch-size / --test-size
    model: str = "capsnet"
    # The model's random shifts in training; 0 where the dataset already moves the digits.
    shift_pixels: int = PAPER["shift_pixels"]
    # Datasets the finished model is also tested on, each into <results>/<run>/<dataset>/.
    also_tested_on: tuple = ()
    # A named recipe of `capsnet train --recipe` (its batch size and schedule), in
    # place of the paper's settings above (PAPER and --batch-size).
    recipe: str | None = None
    # The learning rate's multiplier per epoch (PAPER's unless the run sets its own).
    lr_decay: float = PAPER["lr_decay"]
    # More `capsnet train` options that shape the model, for a new run (a saved model keeps them).
    architecture: tuple = ()


def mnist_runs(settings):
    return [TrainRun("mnist", _data(settings, "mnist.npz"), settings.epochs)]


def ablation_runs(settings):
    """Routing 1 vs 3, with and without reconstruction. The `mnist` run is the
    3-routing run with reconstruction when it has the same length."""
    data, epochs = _data(settings, "mnist.npz"), settings.ablation_epochs
    runs = [
        TrainRun("ablation-r1-recon", data, epochs, 1, RECONSTRUCTION),
        TrainRun("ablation-r1-norecon", data, epochs, 1, 0.0),
        TrainRun("ablation-r3-norecon", data, epochs, 3, 0.0),
    ]
    if epochs != settings.epochs:
        runs.append(TrainRun("ablation-r3-recon", data, epochs, 3, RECONSTRUCTION))
    if settings.smoke:  # one run exercises the code: 1 routing and no reconstruction
        return [runs[1]]
    return runs


def paper_recipe_runs(settings):
    """The authors' recipe (`capsnet train --recipe paper`: batch 128, x0.96 every
    2,000 steps, floored at 1e-6, 640 epochs, about 300,000 steps) on MNIST. Its
    epochs are the recipe's unless --epochs is given (the smoke test's 1)."""
    epochs = settings.epochs if settings.smoke or settings.epochs_given else PAPER_RECIPE_EPOCHS
    return [TrainRun("mnist-paper-recipe", _data(settings, "mnist.npz"), epochs, recipe="paper")]


def fashion_runs(settings):
    return [TrainRun("fashion", _data(settings, "fashion_mnist.npz"), settings.epochs)]


def multimnist_runs(settings):
    """The paper's Section 6: CapsNet (3 routings) on pairs of overlapping digits,
    60,000 fresh pairs an epoch, tested on 10,000 fixed pairs of test digits."""
    data = _data(settings, "mnist.npz")
    sizes = ("--epoch-size", 100, "--test-size", 50) if settings.smoke else ()
    run = TrainRun("multimnist", data, settings.epochs, dataset="multimnist", sizes=sizes, shift_pixels=0)
    return [replace(run, figure="multimnist.png")]


def efficient_multimnist_runs(settings):
    """Efficient-CapsNet on the same pairs, toward the `efficient-capsnet-multimnist`
    preset's target (<= 10% both-right error; a CPU's 1.8M pairs reached 9.82%).
    Its authors train on about 90M pairs (150 epochs of 37,500 batches of 16,
    Efficient-CapsNet's config.json); here 300,000 fresh pairs an epoch, the
    learning rate x0.95 per epoch, so 50 epochs see 15M pairs. With 144 primary
    capsules (a 7x7 kernel at stride 3), which learned twice as fast per pair as
    the paper's 16 on a CPU (docs/multimnist.md)."""
    data = _data(settings, "mnist.npz")
    sizes = ("--epoch-size", 100, "--test-size", 50) if settings.smoke else ("--epoch-size", 300_000)
    run = TrainRun(
        "multimnist-efficient-capsnet",
        data,
        settings.epochs,
        dataset="multimnist",
        figure="multimnist.png",
        sizes=sizes,
        model="efficient-capsnet",
        shift_pixels=0,
        lr_decay=0.95,
        architecture=("--primary-kernel-size", 7, "--primary-strides", 3),
    )
    return [run]


def affnist_runs(settings):
    """The paper's Section 5.2: CapsNet (3 routings) and the CNN baseline trained on
    translated MNIST (digits at random places on 40x40, 60,000 fresh placings an
    epoch), each tested on the translated test set and then on generated affNIST
    (affine transformations never seen in training)."""
    data = _data(settings, "mnist.npz")
    # In --smoke, a step each: the CNN baseline costs 24 GFLOP a training image at 40x40.
    sizes = ("--epoch-size", 10, "--test-size", 10) if settings.smoke else ()
    tested = ("affnist-generated",)
    # The paper's training set is the placement alone: no shifts in the model on top.
    capsnet = TrainRun(
        "translated-capsnet", data, settings.epochs, dataset="mnist-translated", sizes=sizes, shift_pixels=0
    )
    cnn = replace(capsnet, name="translated-cnn", model="cnn-baseline", lam_recon=0.0, figure=None)
    return [replace(run, also_tested_on=tested) for run in (capsnet, cnn)]


def _seeded(settings, runs):
    """`runs` under --seed: seed 1 (the default) keeps the names, another seed
    gets folders of its own (`mnist-seed2`, ...)."""
    if settings.seed == 1:
        return runs
    return [replace(run, name=f"{run.name}-seed{settings.seed}") for run in runs]


def _data(settings, name):
    return settings.work / "smoke.npz" if settings.smoke else settings.data_dir / name


def run_all(settings, runs, together=False):
    """Train the runs while the budget allows; returns the worst status.

    One after the other, or with `together` all at once on the one GPU (as many
    as `_fit_together` expects to finish even if they took turns). A JAX step at
    batch 100 on the H100 took 12 ms, far above its 1.2 GFLOP per image at the
    GPU's rate, so runs side by side may well overlap; not measured yet.
    """
    runs = _seeded(settings, runs)
    if not together:
        statuses = []
        for train_run in runs:
            statuses.append(train(settings, train_run))
            write_table(settings)
            settings.write_archive()
            if statuses[-1] == "incomplete":
                break
        return _worst(statuses)
    trainings, statuses = [], []
    for train_run in _fit_together(settings, runs):
        started = start(settings, train_run, shared_device=True)
        if isinstance(started, str):
            statuses.append(started)
        else:
            trainings.append(started)

    def collect(training):
        statuses.append(finish(settings, training))
        write_table(settings)
        settings.write_archive()

    for training in trainings:
        if training.process is None:  # only its test is left
            collect(training)
    # each run is collected and tested as soon as it ends, while the others train on
    running = {t.process: t for t in trainings if t.process is not None}
    wait_all(list(running), on_end=lambda process: collect(running[process]))
    left_out = len(runs) - len(statuses)
    return _worst(statuses + ["incomplete"] * left_out)


def _worst(statuses):
    return next((s for s in ("failed", "incomplete") if s in statuses), "done")


def _fit_together(settings, runs):
    """The first runs whose training, if the GPU ran them strictly one after another,
    ends inside the budget (at least the first run; all of them without a bench
    figure for this backend, precision and batch size to estimate from)."""
    chosen, seconds = [], MIN_START_S + settings.margin
    for train_run in runs:
        work = settings.work / train_run.name
        measured = (_backend(settings, work), settings.precision, settings.batch_size)
        epoch_s = summary.epoch_seconds(settings.out, settings.device_name, *measured)
        left = max(train_run.epochs - _epochs_done(work), 0)
        needed = seconds + left * EPOCH_WITH_TEST * (epoch_s or 0.0)
        if chosen and not settings.budget.allows(needed):
            say(f"{train_run.name}: not started: after the runs before it, it would not end in the budget")
            continue
        chosen.append(train_run)
        seconds = needed
    return chosen


def train(settings, train_run):
    """Train (or continue) one run to its end and collect its results; returns a status."""
    started = start(settings, train_run)
    if isinstance(started, str):
        return started
    if started.process is not None:
        wait_all([started.process])
    return finish(settings, started)


@dataclass
class Training:
    """A run being trained: where, on which backend, and its process (None: only its test is left)."""

    run: TrainRun
    backend: str
    work: Path
    results: Path
    process: Supervised | None = None


def start(settings, train_run, shared_device=False):
    """Start (or continue) one run's training in the background.

    Returns a `Training`, or a status when there is nothing to wait for:
    "done" (finished and tested) or "incomplete" (no time left to start it).
    `shared_device`: other runs train on the same GPU at the same time.
    """
    work, results = settings.work / train_run.name, settings.out / train_run.name
    done = _epochs_done(work)
    tested = _tested(results, train_run) or not _tests_figure(settings, train_run)
    if done >= train_run.epochs and (work / "trained_model.keras").is_file() and tested:
        say(f"{train_run.name}: already finished ({done} epochs)")
        return "done"
    if done == 0 and (results / "log.csv").is_file():
        aside = _set_aside(results)
        say(
            f"{train_run.name}: no checkpoint in {work} (a fresh machine?); starting again, kept {aside.name}"
        )
    training = Training(train_run, _backend(settings, work), work, results)
    if done >= train_run.epochs and (work / "trained_model.keras").is_file():
        return training
    if not settings.budget.allows((0 if settings.smoke else MIN_START_S) + settings.margin):
        say(f"{train_run.name}: not started: time budget; rerun to continue")
        return "incomplete"
    say(f"{train_run.name}: {training.backend} {settings.precision}, epochs {done + 1}-{train_run.epochs}")
    training.process = Supervised(
        settings.capsnet(training.backend, "train", *_train_args(settings, train_run, work, resume=done > 0)),
        work / "train.log",
        settings.environment(training.backend, shared_device=shared_device),
        stop_at=settings.budget.stop_at(settings.margin),
        grace=30,
        every=60,
        on_tick=lambda: _collect(settings, train_run, work, results, training.backend),
    )
    return training


def finish(settings, training):
    """Collect a run whose training process has ended, then test it; returns a status."""
    train_run, work, results, backend = training.run, training.work, training.results, training.backend
    if training.process is not None:
        for line in last_lines(work / "train.log", 4, keep=lambda line: line.startswith(SHOWN)):
            say(f"{train_run.name}: {line}")
        _collect(settings, train_run, work, results, backend)
        if training.process.stopped:
            say(
                f"{train_run.name}: stopped after {_epochs_done(work)} epochs: time budget; rerun to continue"
            )
            return "incomplete"
        if training.process.returncode != 0:
            code = training.process.returncode
            say(f"{train_run.name}: train failed (exit {code}); see {results / 'train.log'}")
            return "failed"
    return _test(settings, train_run, work, results, backend)


def _train_args(settings, train_run, work, resume):
    if train_run.recipe:  # the recipe's batch size and schedule (the smoke test's small batch)
        args = ["--recipe", train_run.recipe, "--epochs", train_run.epochs]
        args += ["--batch-size", settings.batch_size] if settings.smoke else []
    else:
        args = ["--epochs", train_run.epochs, "--batch-size", settings.batch_size, "--lr", PAPER["lr"]]
        args += ["--lr-decay", train_run.lr_decay]
    args += [
        "--data",
        train_run.data,
        "--save-dir",
        work,
        "--steps-per-execution",
        settings.steps_per_execution,
    ]
    args += ["--data-on-host"] if settings.data_on_host else []
    args += ["--seed", settings.seed, "--precision", settings.precision, *_dataset_args(train_run)]
    if resume:  # a saved model fixes its architecture; train refuses those options with --resume
        return [*args, "--resume"]
    if train_run.model != "capsnet":
        args += ["--model", train_run.model]
    if train_run.model == "capsnet":  # Efficient-CapsNet routes by self-attention
        args += ["--routings", train_run.routings]
    if train_run.model != "cnn-baseline":  # the CNN has no decoder
        args += ["--lam-recon", train_run.lam_recon]
    return [*args, *train_run.architecture, "--shift-pixels", train_run.shift_pixels]


def _dataset_args(train_run, dataset=None):
    dataset = dataset or train_run.dataset
    return ["--dataset", dataset, *train_run.sizes] if dataset else []


def _test(settings, train_run, work, results, backend):
    """Test the finished model once on its own test set (test.txt, and
    real_and_recon.png where it has a decoder), then on each of `also_tested_on`
    (<dataset>/test.txt); in --smoke only mnist and the affnist runs are tested."""
    if not _tests_figure(settings, train_run):
        return "done"
    for dataset, folder, marks in _tests_of(results, train_run):
        if all(mark.is_file() for mark in marks):
            continue  # tested by an earlier call
        if not settings.budget.allows(60 + settings.margin):
            say(f"{train_run.name}: trained; its tests wait for the next call (time budget)")
            return "incomplete"
        if not _test_on(settings, train_run, work, folder, backend, dataset):
            return "failed"
    return "done"


def _test_on(settings, train_run, work, folder, backend, dataset):
    """`capsnet test` of the finished model on `dataset` (None: its own), into
    `folder`; its output becomes folder/test.txt only when it succeeds."""
    folder.mkdir(parents=True, exist_ok=True)
    args = ["test", "--weights", work / "trained_model.keras", "--data", train_run.data]
    args += [*_dataset_args(train_run, dataset), "--save-dir", folder]
    output = folder / "test.txt.partial"
    code, _ = run_until(
        settings.capsnet(backend, *args),
        output,
        settings.environment(backend),
        stop_at=settings.budget.stop_at(settings.margin),
        grace=10,
    )
    for line in last_lines(output, 1, keep=lambda line: line.startswith(SHOWN)):
        say(f"{train_run.name}{f' on {dataset}' if dataset else ''}: {line}")
    if code != 0:
        say(f"{train_run.name}: test failed (exit {code}); see {output}")
        return False
    output.replace(folder / "test.txt")
    return True


def _tests_of(results, train_run):
    """`(dataset, folder, marks)` of each test of the finished run: its own test set
    (dataset None) into `results`, then each of `also_tested_on` into a folder of
    its name; `marks`: the files whose presence says that test is done."""
    own = [results / "test.txt", results / (train_run.figure or "test.txt")]
    others = [(name, results / name, [results / name / "test.txt"]) for name in train_run.also_tested_on]
    return [(None, results, own), *others]


def _tested(results, train_run):
    """Whether every test of the finished run has its result in `results`."""
    return all(mark.is_file() for _, _, marks in _tests_of(results, train_run) for mark in marks)


def _tests_figure(settings, train_run):
    """Whether a finished run is tested (in --smoke, only mnist and the affnist runs are)."""
    return not settings.smoke or train_run.name.split("-")[0] in ("mnist", "translated")


def _backend(settings, work):
    """The backend a run continues on (its run.json's), else --train-backend, else the
    backend with the fastest batch-100 epoch in this run's bench, else the first one."""
    try:
        return json.loads((work / "run.json").read_text())["backend"]
    except (OSError, ValueError, KeyError):
        pass
    if settings.train_backend:
        return settings.train_backend
    fastest = summary.fastest_backend(
        settings.out, settings.device_name, settings.precision, settings.batch_size
    )
    return fastest if fastest in settings.backends else settings.backends[0]


def _epochs_done(work):
    """Finished epochs in `work` (checkpoint.json, the readable copy of the checkpoint's state)."""
    try:
        return int(json.loads((work / "checkpoint.json").read_text())["epoch"])
    except (OSError, ValueError, KeyError, TypeError):
        return 0


def _set_aside(results):
    number = 1
    while (aside := results.with_name(f"{results.name}-earlier-{number}")).exists():
        number += 1
    results.rename(aside)
    return aside


def _collect(settings, train_run, work, results, backend):
    """Copy the run's small files into the results folder, plot, and write status.json."""
    results.mkdir(parents=True, exist_ok=True)
    for name in ("log.csv", "run.json", "checkpoint.json"):
        if (work / name).is_file():
            shutil.copyfile(work / name, results / name)
    lines = last_lines(work / "train.log", 200)  # the command's output, progress bars split off
    (results / "train.log").write_text("\n".join(lines) + "\n")
    rows = _log_rows(results / "log.csv")
    if rows:
        from capsnet import plots  # numpy and matplotlib only: no Keras in this process

        plots.training_curves(results / "log.csv", results / "log.png")
    # log.csv's accuracy column: length_accuracy for capsule models, accuracy for the CNN.
    accuracies = [r.get("val_length_accuracy") or r.get("val_accuracy") for r in rows]
    errors = [1 - float(a) for a in accuracies if a]
    try:
        seconds = json.loads((work / "run.json").read_text()).get("epoch_times_s", [])
    except (OSError, ValueError):
        seconds = []
    status = {
        **{k: str(v) if isinstance(v, Path) else v for k, v in asdict(train_run).items()},
        "data": train_run.data.name,
        "backend": backend,
        "precision": settings.precision,
        "batch_size": settings.batch_size if settings.smoke or not train_run.recipe else None,
        **({} if train_run.recipe else {"lr": PAPER["lr"], "lr_decay": train_run.lr_decay}),
        "seed": settings.seed,
        "epochs_done": _epochs_done(work),
        "finished": (work / "trained_model.keras").is_file() and _epochs_done(work) >= train_run.epochs,
        "test_error_per_epoch": [round(e, 5) for e in errors],
        "last_test_error": round(errors[-1], 5) if errors else None,
        "best_test_error": round(min(errors), 5) if errors else None,
        "median_epoch_s": sorted(seconds)[len(seconds) // 2] if seconds else None,
    }
    (results / "status.json").write_text(json.dumps(status, indent=2) + "\n")
    settings.write_archive()


def _log_rows(path):
    try:
        with open(path) as f:
            return list(csv.DictReader(f))
    except OSError:
        return []


def _run_order(path):
    """The parts' order (mnist, ablation, fashion, multimnist, affnist), then runs set aside."""
    name = path.parent.name
    order = ("mnist", "ablation", "fashion", "multimnist", "translated")
    first = name.split("-")[0]
    rank = order.index(first) if first in order else len(order)
    return (len(order) if "-earlier-" in name else rank, name)


def write_table(settings):
    """training.md: one row per run in the results folder, from its status.json."""
    lines = [
        f"# capsnet training runs on {settings.device_name}",
        "",
        "| run | data | model | backend | precision | routings | reconstruction | epochs | last test error "
        "| best test error | median epoch s | finished |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for path in sorted(settings.out.glob("*/status.json"), key=_run_order):
        s = json.loads(path.read_text())
        last = f"{s['last_test_error']:.2%}" if s["last_test_error"] is not None else "-"
        best = f"{s['best_test_error']:.2%}" if s["best_test_error"] is not None else "-"
        lines.append(
            f"| {path.parent.name} | {s['data']} | {s.get('model', 'capsnet')} | {s['backend']} "
            f"| {s['precision']} | {s['routings'] if s.get('model', 'capsnet') == 'capsnet' else '-'} "
            f"| {'yes' if s['lam_recon'] else 'no'} | {s['epochs_done']}/{s['epochs']} | {last} | {best} "
            f"| {s['median_epoch_s'] or '-'} | {'yes' if s['finished'] else 'no'} |"
        )
    lines += ["", "Test error: 1 - val_length_accuracy of log.csv (the full test set, after every epoch)."]
    others = [
        f"- {path.parent.parent.name} on {path.parent.name}: {line}"
        for path in sorted(settings.out.glob("*/*/test.txt"), key=lambda p: _run_order(p.parent))
        for line in last_lines(path, 1, keep=lambda line: line.startswith("test accuracy"))
    ]
    if others:
        lines += ["", "The finished models tested on other test sets:", "", *others]
    (settings.out / "training.md").write_text("\n".join(lines) + "\n")
