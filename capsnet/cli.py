#!/usr/bin/env python
"""capsnet command line: train, test, manipulate, predict, info and bench.

The backend is chosen (``--backend`` or ``KERAS_BACKEND``) before Keras is
imported, so every import of keras, capsnet's models or a backend plug-in
happens inside a command.

    KERAS_BACKEND=jax capsnet train --dataset sample --epochs 1
    capsnet --backend torch test --weights result/trained_model.keras

(`python cli.py ...` in a checkout and `python -m capsnet ...` are the same.)
This module only parses: each command builds its typed config
(`capsnet.commands.configs`) and hands it to `capsnet.commands.*`, where the
backend is set up (`capsnet.backends.setup`).
"""

import functools
import json
import logging
import math
import os
import re
import sys
from pathlib import Path

import click

from capsnet import backends
from capsnet import models as families
from capsnet.commands.configs import (
    BenchConfig,
    EvaluateConfig,
    ExportConfig,
    ManipulateConfig,
    PredictConfig,
)
from capsnet.crash_restarts import program_command, supervise, supervising
from capsnet.data import dataset_names
from capsnet.models.capsnet import CLASS_CAPSULES
from capsnet.models.image_sizes import DECODER_TYPES, PAPER_SIDE
from capsnet.paper import LAM_RECON
from capsnet.schedules import LR_SCHEDULES

DATASETS = dataset_names()  # the data registry's, in its order
PRECISION_HELP = "; ".join(f"{name}: {what}" for name, what in backends.PRECISIONS.items())
WEIGHTS_HELP = f"A .keras file, or a shipped preset: {', '.join(families.all_presets())}."
MODEL_HELP = "; ".join(f"{name}: {families.get_family(name).summary}" for name in families.family_names())


def _recipe_help(name):
    """'[default: ...]' of a training setting, for each model family (its recipe)."""
    values = ", ".join(
        f"{families.get_family(family).recipe.as_options()[name]:g} for {family}"
        for family in families.family_names()
    )
    return f"[default: {values}]"


def _family_recipes():
    """family name -> its recipe names (`--recipe`), the default first."""
    recipes = {}
    for name in families.family_names():
        family = families.get_family(name)
        default = family.recipe_name()
        recipes[name] = sorted(family.recipes, key=lambda recipe: recipe != default)
    return recipes


RECIPE_NAMES = sorted({name for names in _family_recipes().values() for name in names})


class FiniteFloat(click.FloatRange):
    """A FloatRange that also refuses NaN and infinity (which pass its bounds checks)."""

    name = "finite float"

    def convert(self, value, param, ctx):
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return number


BATCH_SIZES = click.IntRange(1, 65536)
SEEDS = click.IntRange(0, 2**32 - 1)


class InputError(click.ClickException):
    """Printed as one line, 'Error: ...', with exit code 2."""

    exit_code = 2


# The library's messages name a function's arguments (`pass path=PATH ...`); the
# command line's name its options. Exact library words -> option words, one entry each.
OPTION_WORDS = {
    "path=PATH": "--data PATH",
    "name='sample'": "--dataset sample",
    "validation_split=FRACTION": "--validation-split",
    "validation_split=": "--validation-split ",
    "image_size=(H, W)": "--image-size HxW",
    "strict=True": "--strict",
    "weights=PATH": "--weights PATH",
    "resume=True": "--resume",
    "save_dir=DIR": "--save-dir DIR",
    "save_dir=": "--save-dir ",
    "out=DIR": "--out DIR",
    "out=": "--out ",
    "lr=LR": "--lr",
    "precision='float32'": "--precision float32",
    "invert=True": "--invert",
    "primary_kernel_size=": "--primary-kernel-size ",
}


def in_option_words(message):
    """`message` with the library's argument words (`OPTION_WORDS`) as the command line's options.

    Longest words first ("validation_split=FRACTION" before "validation_split="), and
    only as words of their own: not inside "my_path=PATH" or a path "/x/path=PATH".
    """
    words = "|".join(re.escape(word) for word in sorted(OPTION_WORDS, key=len, reverse=True))
    return re.sub(rf"(?<![\w./\\-])({words})", lambda match: OPTION_WORDS[match.group(1)], message)


def reports_input_errors(command):
    """Turn the library's input errors into one-line CLI errors, in option words."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        from capsnet.errors import CapsNetInputError

        try:
            return command(*args, **kwargs)
        except (CapsNetInputError, backends.BackendError) as error:
            raise InputError(in_option_words(str(error))) from None

    return wrapper


def choose_backend(explicit):
    """--backend, else KERAS_BACKEND, else the first installed backend."""
    name = explicit or os.environ.get("KERAS_BACKEND")
    if name is None:
        found = backends.installed()
        if not found:
            raise InputError(
                f"no backend installed; install one with: {backends.INSTALL_HINT.format(name='jax')}"
            )
        name = found[0]
    try:
        backends.select(name)
    except backends.BackendError as error:
        raise InputError(str(error)) from None
    return name


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--backend",
    metavar="[jax|torch|tensorflow]",
    help="Keras backend (default: $KERAS_BACKEND, else the first installed).",
)
@click.pass_context
def cli(ctx, backend):
    """CapsNet with dynamic routing on JAX, PyTorch or TensorFlow."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    ctx.call_on_close(show_notes())
    ctx.obj = {"backend": choose_backend(backend)}


class _NoteHandler(logging.Handler):
    def emit(self, record):
        click.echo(f"note: {in_option_words(record.getMessage())}", err=True)


def show_notes():
    """Print the library's notes (conversions made for the user) as 'note: ...' on
    stderr while a command runs; returns the function that stops it."""
    log = logging.getLogger("capsnet")
    handler, propagate = _NoteHandler(), log.propagate
    log.addHandler(handler)
    log.propagate = False  # shown once, not again by a root handler (absl's)

    def stop():
        log.removeHandler(handler)
        log.propagate = propagate

    return stop


class ImageSize(click.ParamType):
    """HxW (or one number for a square) -> (height, width)."""

    name = "HxW"

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        parts = str(value).lower().split("x")
        try:
            size = tuple(int(p) for p in parts) * (2 if len(parts) == 1 else 1)
        except ValueError:
            size = ()
        if len(size) != 2 or min(size) < 1:
            self.fail(f"{value!r} is not a size; give HxW in pixels, e.g. 32x32", param, ctx)
        return size


FOLDER_OPTIONS = (
    click.option("--image-size", type=ImageSize(), help="Class folders: resize every image to HxW."),
    click.option(
        "--channels",
        type=click.Choice(["1", "3"]),
        callback=lambda ctx, param, value: int(value) if value else None,
        help="Class folders: grey or colour (default: from the images).",
    ),
    click.option(
        "--validation-split",
        type=FiniteFloat(0, 1, min_open=True, max_open=True),
        help="Class folders without test/ or val/: hold out this fraction of each class.",
    ),
    click.option(
        "--strict", is_flag=True, help="Class folders: refuse unreadable image files (default: skip them)."
    ),
    click.option(
        "--match-classes-by-index",
        is_flag=True,
        help="Class folders whose names differ from the model's classes (--weights, --resume, test): "
        "take the data's k-th class as the model's k-th class anyway.",
    ),
)


GENERATED_OPTIONS = (
    click.option(
        "--epoch-size",
        type=click.IntRange(min=1),
        help="Generated datasets (multimnist, mnist-translated, affnist-generated): training "
        "examples drawn afresh each epoch (default 60,000).",
    ),
    click.option(
        "--test-size",
        type=click.IntRange(min=1),
        help="Generated datasets: fixed test examples made from MNIST test digits "
        "(default 10,000; MultiMNIST in the paper: 10M).",
    ),
)


def class_capsules_option(help):
    """`--class-capsules`, for train and bench: the kinds of CapsNet's class capsules."""
    return click.option(
        "--class-capsules",
        type=click.Choice(CLASS_CAPSULES),
        default=CLASS_CAPSULES[0],
        show_default=True,
        help=help,
    )


def large_image_options(command):
    """`--stem-blocks` and `--decoder-type`, for train and bench: what capsule
    models add for images above the paper's size."""
    command = click.option(
        "--decoder-type",
        type=click.Choice(DECODER_TYPES),
        help=f"Capsule models' decoder: dense (the paper's, one unit per pixel) or deconv (transposed "
        f"convolutions). Default: dense up to {PAPER_SIDE}x{PAPER_SIDE} pixels, else deconv.",
    )(command)
    return click.option(
        "--stem-blocks",
        type=click.IntRange(min=0),
        help=f"CapsNet: stride-2 3x3 convolutions (64 filters) before conv1. Default: as many as bring "
        f"the shorter side to {PAPER_SIDE} pixels or less (0 up to {PAPER_SIDE}x{PAPER_SIDE}, 3 at 224x224).",
    )(command)


def data_options(subset_help=None):
    """--dataset and --data (and --subset, described by `subset_help`) for the commands that read data."""

    def decorate(command):
        if subset_help:
            command = click.option("--subset", type=click.IntRange(min=1), help=subset_help)(command)
        for option in reversed(GENERATED_OPTIONS):
            command = option(command)
        for option in reversed(FOLDER_OPTIONS):
            command = option(command)
        command = click.option(
            "--data",
            type=click.Path(path_type=Path),
            help="An .npz (x_train, y_train, x_test, y_test), a folder of IDX files, or class folders "
            "of images (DIR/train/<class>/*.png and DIR/test/<class>/, or DIR/<class>/ with "
            "--validation-split); no download.",
        )(command)
        return click.option(
            "--dataset",
            type=click.Choice(DATASETS),
            default="mnist",
            show_default=True,
            help="Which dataset ('sample' is a bundled 5,000/1,000-image MNIST cut).",
        )(command)

    return decorate


@cli.command()
@click.option(
    "--model",
    type=click.Choice(families.family_names()),
    default="capsnet",
    show_default=True,
    help=f"{MODEL_HELP}. Each brings its paper's recipe as the defaults below.",
)
@click.option("--epochs", type=click.IntRange(min=1), help=_recipe_help("epochs"))
@click.option("--batch-size", type=BATCH_SIZES, help=_recipe_help("batch_size"))
@click.option("--lr", type=FiniteFloat(min=0, min_open=True), help=_recipe_help("lr"))
@click.option(
    "--lr-decay",
    type=FiniteFloat(0, 1, min_open=True),
    help="Learning rate multiplier per epoch (per --lr-decay-steps steps with --lr-schedule "
    "step-exponential). " + _recipe_help("lr_decay"),
)
@click.option(
    "--recipe",
    type=click.Choice(RECIPE_NAMES),
    help="A named recipe for the training settings left out: "
    + "; ".join(f"{family}: {', '.join(names)}" for family, names in _family_recipes().items())
    + ". capsnet's paper: the authors' schedule (x0.96 every 2,000 steps, floor 1e-6, batch 128, "
    "640 epochs, about 300,000 steps). [default: each family's first]",
)
@click.option(
    "--lr-schedule",
    type=click.Choice(LR_SCHEDULES),
    help="epoch-exponential: x--lr-decay per epoch; step-exponential: x--lr-decay every "
    "--lr-decay-steps steps, continuously; cosine: half a cosine down to --min-lr over the run. "
    "[default: the recipe's]",
)
@click.option(
    "--lr-decay-steps",
    type=click.IntRange(min=1),
    help="Steps per --lr-decay (step-exponential; default 2,000, the authors'), or the cosine's "
    "length (default: the whole run).",
)
@click.option(
    "--min-lr",
    type=FiniteFloat(min=0),
    help="The learning rate never goes below this. [default: the recipe's; 0, or 1e-6 for paper]",
)
@click.option(
    "--lam-recon",
    type=FiniteFloat(min=0),
    default=LAM_RECON,
    show_default=True,
    help="Weight of the reconstruction loss (0 switches it off).",
)
@click.option("--routings", type=click.IntRange(min=1), default=3, show_default=True)
@class_capsules_option(
    "CapsNet's class capsules: per-capsule (the paper's, one matrix per primary capsule and class, "
    "growing with the image) or shared (one per primary capsule type and class, with coordinate "
    "addition: the same weights at any image size; --lr then defaults to 1e-4, see the docs' Large images)."
)
@large_image_options
@click.option(
    "--primary-kernel-size",
    type=click.IntRange(min=1),
    help="Efficient-CapsNet: side of the primary capsules' depthwise kernel. Default: the whole grid "
    "its backbone leaves (the paper's, 16 capsules); smaller, or with --primary-strides, a grid of "
    "positions with 16 capsules each (7 at stride 3 on MultiMNIST's 13x13 grid: 144 capsules).",
)
@click.option(
    "--primary-strides",
    type=click.IntRange(min=1),
    help="Efficient-CapsNet: the stride of --primary-kernel-size. [default: 1]",
)
@click.option(
    "--shift-pixels",
    type=click.IntRange(min=0),
    help="Random shifts of up to this many pixels each way (0: none). Default: 2; 0 for "
    "multimnist, whose pairs come shifted.",
)
@click.option("--save-dir", type=click.Path(path_type=Path), default=Path("result"), show_default=True)
@click.option("--weights", type=click.Path(path_type=Path), help="Start from this model. " + WEIGHTS_HELP)
@data_options("Use the first N training images.")
@click.option("--seed", type=SEEDS, help="Seed for initialisation, shuffling and shifts.")
@click.option(
    "--precision",
    type=click.Choice(list(backends.PRECISIONS)),
    default="float32",
    show_default=True,
    help=PRECISION_HELP,
)
@click.option(
    "--resume",
    is_flag=True,
    help="Continue the interrupted run in --save-dir, with its recipe (--epochs, --batch-size and "
    "the learning-rate schedule) unless given again.",
)
@click.option(
    "--checkpoint-every",
    type=click.IntRange(min=1),
    help="Also write checkpoint.keras every N training steps inside an epoch (--resume continues at the "
    "next step).",
)
@click.option(
    "--checkpoint-minutes",
    type=click.FloatRange(min=0),
    default=5.0,
    show_default=True,
    help="Also write checkpoint.keras inside an epoch once this many minutes have passed since the last "
    "one (0: only at epochs' ends and --checkpoint-every).",
)
@click.option(
    "--jit/--no-jit",
    default=None,
    help="Compile the training step or not (default: Keras's auto: XLA on jax, tf.function on tensorflow "
    "with XLA on GPUs only, eager torch; --jit on torch is torch.compile).",
)
@click.option(
    "--restarts",
    type=click.IntRange(min=0),
    help="Train in a child process and resume it from its last checkpoint when it dies in native code "
    "(SIGSEGV, SIGABRT, ...), at most N times (default: 3 on tensorflow, 0 elsewhere).",
)
@click.option(
    "--steps-per-execution",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Training steps per compiled call (Keras's steps_per_execution): fewer calls from the host, "
    "the same weights; jax and tensorflow (torch runs 1). Checkpoints and Ctrl-C act between calls.",
)
@click.option(
    "--data-on-device/--data-on-host",
    default=None,
    help="Hold the stored images on the device and cut each batch there, or feed batches from host "
    "memory (default: on the device on a GPU when the data take <= 2 GiB; MultiMNIST and placed "
    "digits are drawn on the host).",
)
@click.option(
    "--save-classifier",
    is_flag=True,
    help="Also write classifier.keras: the capsules without decoder and shifts, as the presets are.",
)
@click.option(
    "--distribute",
    type=click.Choice(["none", "data-parallel"]),
    default="none",
    show_default=True,
    help="data-parallel: split each global batch over all replicas (jax: keras.distribution; "
    "tensorflow: tf.distribute; torch: one process per device, started by torchrun --nproc-per-node N).",
)
@click.option(
    "--coordinator-address",
    envvar="CAPSNET_COORDINATOR_ADDRESS",
    help="Multi-host JAX: host:port of process 0 (also $CAPSNET_COORDINATOR_ADDRESS).",
)
@click.option(
    "--num-processes",
    type=click.IntRange(min=1),
    envvar="CAPSNET_NUM_PROCESSES",
    help="Multi-host JAX: number of processes (also $CAPSNET_NUM_PROCESSES).",
)
@click.option(
    "--process-id",
    type=click.IntRange(min=0),
    envvar="CAPSNET_PROCESS_ID",
    help="Multi-host JAX: this process's index (also $CAPSNET_PROCESS_ID).",
)
@click.pass_context
@reports_input_errors
def train(ctx, **options):
    """Train a CapsNet; writes trained_model.keras, checkpoints, log.csv/png, run.json."""
    restarts = options.pop("restarts")
    if restarts is None:
        restarts = backends.RESTARTS_AFTER_NATIVE_CRASH.get(ctx.obj["backend"], 0)
    # Only a program run can start itself again (not a call of `cli` from Python),
    # and torchrun's processes are restarted by torchrun.
    if restarts and PROGRAM_ARGV is not None and not supervising() and options["distribute"] == "none":
        command = program_command(PROGRAM_ARGV)
        ctx.exit(
            supervise(command, options["save_dir"], restarts, echo=lambda line: click.echo(line, err=True))
        )
    from capsnet.commands.train import run, settle_options

    given = {name for name in options if _given(ctx, name)}
    run(settle_options(options, given))


def _given(ctx, name):
    """Whether the user set option `name` (on the command line or through its environment variable)."""
    source = ctx.get_parameter_source(name)
    return source in (click.core.ParameterSource.COMMANDLINE, click.core.ParameterSource.ENVIRONMENT)


@cli.command()
@click.option("--weights", type=click.Path(path_type=Path), required=True, help=WEIGHTS_HELP)
@data_options("Evaluate on the first N test images.")
@click.option("--batch-size", type=BATCH_SIZES, default=100, show_default=True)
@click.option("--save-dir", type=click.Path(path_type=Path), default=Path("result"), show_default=True)
@reports_input_errors
def test(**options):
    """Test accuracy and error; writes real_and_recon.png."""
    from capsnet.commands.evaluate import test_model

    result = test_model(EvaluateConfig(**options))
    wrote = f"; wrote {result['figure']}" if result["figure"] else " (no decoder: no reconstructions)"
    click.echo("| class | images | correct | accuracy |\n|---|---|---|---|")
    for row in result["per_class"]:
        click.echo(f"| {row['name']} | {row['images']} | {row['correct']} | {row['accuracy']:.2%} |")
    if "one_right" in result:
        click.echo(
            f"both digits right {result['accuracy']:.2%} (error {result['error']:.2%}), at least one "
            f"right {result['one_right']:.2%}, on {result['images']} pairs{wrote}"
        )
        return
    click.echo(
        f"test accuracy {result['accuracy']:.2%} (error {result['error']:.2%}) on "
        f"{result['images']} images{wrote}"
    )


@cli.command()
@click.option("--weights", type=click.Path(path_type=Path), required=True, help=WEIGHTS_HELP)
@click.option(
    "--digit", type=click.IntRange(min=0), default=5, show_default=True, help="Class to manipulate."
)
@data_options()
@click.option("--save-dir", type=click.Path(path_type=Path), default=Path("result"), show_default=True)
@reports_input_errors
def manipulate(**options):
    """Offset each of the 16 dimensions of one class capsule; writes manipulate-D.png."""
    from capsnet.commands.evaluate import manipulate_latent

    click.echo(f"wrote {manipulate_latent(ManipulateConfig(**options))}")


@cli.command()
@click.option("--weights", type=click.Path(path_type=Path), required=True, help=WEIGHTS_HELP)
@click.argument("inputs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--invert", is_flag=True, help="Invert dark-on-light images to MNIST's light-on-dark.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@reports_input_errors
def predict(weights, inputs, invert, as_json):
    """Classify image files (PNG/JPEG/BMP/GIF, any size), .npy arrays, or folders of them.

    Results are printed as they come, a batch of images at a time, so a folder
    of any size runs in bounded memory."""
    from capsnet.commands.evaluate import predict_files

    results = predict_files(PredictConfig(weights, tuple(inputs), invert))
    if as_json:
        _echo_json_list(results)
        return
    for r in results:
        # Capsule lengths, or the CNN baseline's probabilities: the result names which.
        key, word = next((k, w) for k, w in families.SCORE_WORDS.items() if k in r)
        scores = ", ".join(f"{name} {v:.3f}" for name, v in r[f"{key}_by_class"].items())
        if "classes" in r:
            names = list(r[f"{key}_by_class"])
            both = " and ".join(f"{names[c]} ({word} {r[key][c]:.3f})" for c in r["classes"])
            click.echo(f"{r['input']}: classes {both}  {key}: {scores}")
            continue
        label = f"{r['class_name']} ({r['class']})" if "class_name" in r else str(r["class"])
        click.echo(f"{r['input']}: class {label} ({word} {r[key][r['class']]:.3f})  {key}: {scores}")


def _echo_json_list(items):
    """A JSON list written item by item (`items` may be a generator), indented as
    json.dumps(indent=2) would; nothing is printed before the first item exists."""
    opened = False
    for item in items:
        text = json.dumps(item, indent=2, allow_nan=False).replace("\n", "\n  ")
        click.echo(("[\n  " if not opened else ",\n  ") + text, nl=False)
        opened = True
    click.echo("\n]" if opened else "[]")


@cli.command()
@click.option("--weights", type=click.Path(path_type=Path), help="Describe this model. " + WEIGHTS_HELP)
@reports_input_errors
def info(weights):
    """Backend, versions, devices, model summary and parameter count."""
    import capsnet
    from capsnet.model_files import load_capsnet

    plugin = backends.setup()
    env = backends.environment(plugin)
    click.echo(f"backend: {env['backend']}")
    click.echo("versions: " + ", ".join(f"{k} {v}" for k, v in env["versions"].items()))
    click.echo("devices: " + "; ".join(env["devices"]))
    click.echo(f"precision: {env['precision']} (TF32 {'on' if env['tf32'] else 'off'}; --precision on train)")
    for precision in backends.PRECISIONS:
        computed, reason = plugin.compute_precision(precision)
        if reason:
            click.echo(f"{precision} computes in {computed} here: {reason}")
    click.echo("fast paths: " + (", ".join(env["fast_paths"]) or "none"))
    presets = families.all_presets()
    click.echo("presets (--weights NAME): " + "; ".join(f"{k}: {what}" for k, (_, what) in presets.items()))
    models = load_capsnet(weights) if weights else capsnet.build_capsnet()
    click.echo(f"model: {families.family_of_model(models.train).name}")
    models.train.summary(print_fn=lambda line, **_: click.echo(line))
    click.echo(f"parameters: {models.train.count_params():,}")


@cli.command()
@click.option("--weights", type=click.Path(path_type=Path), required=True, help=WEIGHTS_HELP)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["onnx", "tf_saved_model", "openvino"]),
    default="onnx",
    show_default=True,
)
@click.option(
    "--output",
    type=click.Path(path_type=Path),
    help="Where to write (default: NAME.onnx, NAME_saved_model/ or NAME.xml, after the weights' name).",
)
@click.option(
    "--reconstruction", is_flag=True, help="Also output the decoder's reconstruction of the longest capsule."
)
@reports_input_errors
def export(weights, fmt, output, reconstruction):
    """Export for other runtimes: image batch in, class capsule lengths out."""
    import keras

    from capsnet.commands.export import export_elsewhere, export_model, writer_backend

    config = ExportConfig(weights, fmt, output, reconstruction)
    writer = writer_backend(fmt, keras.backend.backend())
    if writer is not None and writer != keras.backend.backend():
        written = export_elsewhere(config, writer, note=lambda line: click.echo(f"note: {line}", err=True))
    else:
        written = export_model(config)
    click.echo("wrote " + ", ".join(map(str, written)))


def bench_options(command):
    """Options shared by bench and its per-backend worker."""
    options = [
        click.option(
            "--model", type=click.Choice(families.family_names()), default="capsnet", show_default=True
        ),
        click.option("--batch-size", type=BATCH_SIZES, default=100, show_default=True),
        click.option("--routings", type=click.IntRange(min=1), default=3, show_default=True),
        click.option(
            "--steps",
            type=click.IntRange(min=1),
            default=10,
            show_default=True,
            help="Timed training and evaluation steps (the median is reported).",
        ),
        click.option(
            "--warmup",
            type=click.IntRange(min=1),
            default=3,
            show_default=True,
            help="Untimed steps first (compilation happens here).",
        ),
        click.option(
            "--images",
            type=click.IntRange(min=0),
            default=0,
            show_default=True,
            help="Also time a fit() epoch over this many images (60000: a full MNIST epoch); "
            "fit() runs two and the second is timed.",
        ),
        click.option(
            "--steps-per-execution",
            type=click.IntRange(min=1),
            default=1,
            show_default=True,
            help="Training steps per compiled call in the fit() epoch of --images (Keras's "
            "steps_per_execution; jax and tensorflow, torch runs 1).",
        ),
        click.option(
            "--jit/--no-jit", default=None, help="Force jit_compile on or off (default: Keras's auto)."
        ),
        click.option(
            "--data-on-device/--data-on-host",
            default=None,
            help="Cut the fit() epoch's batches from images held on the device, or from host memory "
            "(default: on the device on a GPU, as train does).",
        ),
        click.option(
            "--fast-paths/--no-fast-paths",
            default=True,
            show_default=True,
            help="Use the backend plug-in's measured fast ops.",
        ),
        click.option(
            "--data", type=click.Path(path_type=Path), help="Images to use (default: the bundled sample)."
        ),
        click.option(
            "--matmul-size",
            type=click.IntRange(min=16),
            default=2048,
            show_default=True,
            help="Side of the square matrix product that measures the matmul peak.",
        ),
        click.option(
            "--image-size",
            type=ImageSize(),
            help="Time the model on random images of HxW pixels instead of --data (e.g. 224x224).",
        ),
        click.option(
            "--channels",
            type=click.IntRange(min=1),
            default=1,
            show_default=True,
            help="With --image-size: channels of the random images.",
        ),
        click.option(
            "--num-classes",
            type=click.IntRange(min=2),
            default=10,
            show_default=True,
            help="With --image-size: classes of the model.",
        ),
        class_capsules_option("CapsNet's class capsules (see train --class-capsules)."),
        large_image_options,
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _worker_args(options, params):
    """`options` (a command's, by name) as the same command line's arguments;
    `params`: the command's click parameters, for each on/off switch's names."""
    switches = {
        param.name: (param.opts[0], param.secondary_opts[0]) for param in params if param.secondary_opts
    }
    args = []
    for name, value in options.items():
        flag = "--" + name.replace("_", "-")
        if isinstance(value, bool) or value is None:
            if value is not None:
                on, off = switches.get(name, (flag, flag.replace("--", "--no-", 1)))
                args.append(on if value else off)
        elif isinstance(value, tuple):  # --image-size
            args += [flag, "x".join(map(str, value))]
        else:
            args += [flag, str(value)]
    return args


@cli.command()
@click.option("--backends", "names", help="Comma-separated backends (default: all installed).")
@click.option(
    "--precision",
    "precisions",
    default="float32",
    show_default=True,
    help="Comma-separated precisions, measured side by side on each backend "
    f"({', '.join(backends.PRECISIONS)}), e.g. float32,mixed_bfloat16.",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=Path("."),
    show_default=True,
    help="Folder for bench.json and bench.png.",
)
@bench_options
@reports_input_errors
@click.pass_context
def bench(ctx, names, precisions, out, **options):
    """Training/evaluation speed per backend and precision, each in its own process."""
    from capsnet.commands import bench as benchmark

    names = _bench_backends(names)
    precisions = _bench_precisions(precisions)
    runs = [(name, precision) for name in names for precision in precisions]
    results = benchmark.run_all(runs, _worker_args(options, ctx.command.params), out)
    failed = {name: r["error"] for name, r in results.items() if "error" in r}
    if failed and all(results[name].get("exit_code") == 2 for name in failed):
        # Every failing worker refused the options (its one line, 'Error: ...'): so does bench.
        (error, *_) = failed.values()
        raise InputError(error.split("Error: ", 1)[-1])
    click.echo(benchmark.table(results))
    figure = "" if len(failed) == len(results) else " and bench.png"
    click.echo(f"wrote bench.json{figure} to {out}")
    if failed:
        raise click.ClickException(
            "bench failed on " + "; ".join(f"{name} ({error})" for name, error in failed.items())
        )


def _bench_precisions(requested):
    """--precision of bench: a comma-separated list of known precisions."""
    names = [n.strip() for n in requested.split(",") if n.strip()]
    unknown = [n for n in names if n not in backends.PRECISIONS]
    if unknown or not names:
        raise InputError(
            f"unknown precision {', '.join(unknown) or repr(requested)} in --precision; "
            f"choose from {', '.join(backends.PRECISIONS)}"
        )
    return names


def _bench_backends(requested):
    """The backends to benchmark: --backends, else every installed one."""
    installed = backends.installed()
    names = [n.strip() for n in requested.split(",") if n.strip()] if requested else installed
    for name in names:
        if name not in backends.NAMES:
            raise InputError(
                f"unknown backend {name!r} in --backends; choose from {', '.join(backends.NAMES)}"
            )
        if name not in installed:
            raise InputError(
                f"backend {name!r} is not installed; "
                f"install it with: {backends.INSTALL_HINT.format(name=name)}"
            )
    return names


@cli.command("bench-worker", hidden=True)
@click.option("--precision", type=click.Choice(list(backends.PRECISIONS)), default="float32")
@bench_options
@reports_input_errors
def bench_worker(**options):
    """One backend's measurements, printed as one JSON line."""
    from capsnet.commands.bench import worker

    click.echo(json.dumps(worker(BenchConfig(**options))))


# The arguments of this process when it runs as the command line (`main`), so
# that `train --restarts` can start it again; None when `cli` is called from Python.
PROGRAM_ARGV = None


def main():
    global PROGRAM_ARGV
    PROGRAM_ARGV = sys.argv[1:]
    cli(prog_name="capsnet")


if __name__ == "__main__":
    sys.exit(main())
