"""`capsnet train`: build or load a model, fit it, and write the run's files."""

import contextlib
import csv
import json
import math
import os
import sys
from dataclasses import asdict, replace
from pathlib import Path

import click
import keras

from capsnet import backends, exact_resume, plots, schedules, step_schedules, training
from capsnet import data as datasets
from capsnet import models as families
from capsnet import save_dir as save_dirs
from capsnet.atomic import atomic_write_text
from capsnet.commands.class_match import check_class_names
from capsnet.commands.configs import TrainConfig
from capsnet.commands.progress import reading_images
from capsnet.data import device_examples
from capsnet.errors import CapsNetInputError
from capsnet.model_files import atomic_save, check_input_shape, load_capsnet, start_from
from capsnet.models.capsnet import SHARED_CLASS_CAPSULES_LR
from capsnet.models.capsule_views import classes_layer, digits_per_image

# Architecture options that a saved model (--weights, --resume) already fixes.
FIXED_BY_SAVED_MODEL = (
    "routings",
    "shift_pixels",
    "lam_recon",
    "class_capsules",
    "stem_blocks",
    "decoder_type",
    "primary_kernel_size",
    "primary_strides",
)
RECIPE_OPTIONS = ("epochs", "batch_size", "lr", "lr_decay", "lr_schedule", "lr_decay_steps", "min_lr")
# What `_check_schedule` and `capsnet.step_schedules.per_step` take, in order.
SCHEDULE_OPTIONS = ("lr_schedule", "lr", "lr_decay", "lr_decay_steps", "min_lr")
DEFAULT_SHIFT_PIXELS = 2  # the paper's: up to 2 pixels each way


def settle_options(options, given):
    """The `TrainConfig` of `capsnet train`'s options.

    Args:
        options: option name -> value, None for the training settings the
            user left out (they come from the family's recipe).
        given: the names of the options the user set.

    With --weights or --resume the saved model's family is trained (read from
    the file), and the options its architecture fixes are refused unless they
    restate it (`--model` its family; with --resume, the values its run.json
    recorded): the same command plus --resume continues a run.
    """
    options = dict(options)
    saved = options["weights"] or (options["resume"] and Path(options["save_dir"]) / "checkpoint.keras")
    source = "--resume" if options["resume"] else "--weights"
    saved_family = saved and families.family_of_file(saved)
    if saved_family and "model" in given and options["model"] != saved_family.name:
        raise CapsNetInputError(
            f"--model cannot change a saved model: --weights and --resume train the saved "
            f"architecture ({saved_family.name}); leave --model out, or train a new model without {source}"
        )
    family = saved_family or families.get_family(options["model"])
    options["model"] = family.name
    for option, why in family.not_accepted.items():
        if option in given:
            flag = "--" + option.replace("_", "-")
            takers = [n for n in families.family_names() if families.get_family(n).accepts(option)]
            raise CapsNetInputError(
                f"{flag} applies to --model {', '.join(takers)} only: {why}; leave {flag} out"
            )
    recorded = _recorded_options(Path(options["save_dir"])) if options["resume"] else {}
    if options.get("recipe") is None and recorded.get("recipe") in family.recipes:
        options["recipe"] = recorded["recipe"]
    if options.get("recipe") is not None and options["recipe"] not in family.recipes:
        raise CapsNetInputError(
            f"--recipe {options['recipe']}: --model {family.name} has the recipes {', '.join(family.recipes)}"
        )
    chosen = family.recipe_named(options.get("recipe"))
    options["recipe"] = options.get("recipe") or family.recipe_name()
    recipe = chosen.as_options()
    shared = "SharedCapsuleLayer" in families.layer_classes_of_file(saved) if saved else None
    if shared or (not saved and options.get("class_capsules") == "shared"):
        recipe["lr"] = SHARED_CLASS_CAPSULES_LR
    recipe.update(_plausible_recipe(recorded))  # the interrupted run's, where the command line gives none
    options.update({name: recipe[name] for name in RECIPE_OPTIONS if options.get(name) is None})
    _check_schedule(*(options[name] for name in SCHEDULE_OPTIONS))
    if recorded and options["lr_schedule"] != recorded.get("lr_schedule", schedules.DEFAULT_LR_SCHEDULE):
        # The per-step schedules live in the optimizer, the per-epoch one in a variable of it.
        raise CapsNetInputError(
            f"--lr-schedule cannot change on --resume: {options['save_dir']} trains with "
            f"{recorded.get('lr_schedule', schedules.DEFAULT_LR_SCHEDULE)}; leave --lr-schedule and "
            f"--recipe out, or train a new model"
        )
    fixed = [
        name
        for name in FIXED_BY_SAVED_MODEL
        if name in given and not (name in recorded and recorded[name] == options[name])
    ]
    if saved and fixed:
        flags = ", ".join("--" + name.replace("_", "-") for name in fixed)
        raise CapsNetInputError(
            f"{flags} cannot change a saved model: with {source} the model's own value is used; "
            f"leave {flags} out, or train a new model without {source}"
        )
    return TrainConfig(**options)


def _check_schedule(lr_schedule, lr, lr_decay, lr_decay_steps, min_lr):
    """Refuse settings that do not make a schedule, with the option to change."""
    if lr_schedule not in schedules.LR_SCHEDULES:
        raise CapsNetInputError(
            f"--lr-schedule {lr_schedule!r}: choose one of {', '.join(schedules.LR_SCHEDULES)}"
        )
    if min_lr >= lr:
        raise CapsNetInputError(f"--min-lr {min_lr:g} is not below --lr {lr:g}; lower --min-lr")
    if lr_decay_steps is not None and lr_schedule == "epoch-exponential":
        raise CapsNetInputError(
            "--lr-decay-steps applies to --lr-schedule step-exponential or cosine; leave it out, "
            "or choose one of those"
        )
    if not 0 < lr_decay <= 1:
        raise CapsNetInputError(f"--lr-decay {lr_decay:g} is not in (0, 1]; use e.g. 0.9")


def _recorded_options(save_dir):
    """The options `save_dir/run.json` recorded (the saved model's architecture
    among them), or {} where there is no readable record."""
    try:
        recorded = json.loads((save_dir / "run.json").read_text())["options"]
    except (OSError, ValueError, KeyError, TypeError):
        return {}
    return recorded if isinstance(recorded, dict) else {}


def _plausible_recipe(recorded):
    """The training settings (`RECIPE_OPTIONS`) among `recorded` that a run can
    use, so a resumed run keeps its learning-rate schedule and batch size; a
    hand-edited record must not break the run."""

    def plausible(name, value):
        if name == "lr_schedule":
            return value in schedules.LR_SCHEDULES
        kinds = (int,) if name in ("epochs", "batch_size", "lr_decay_steps") else (int, float)
        if not isinstance(value, kinds) or isinstance(value, bool):
            return False
        top = 1 if name == "lr_decay" else math.inf
        bottom_ok = value >= 0 if name == "min_lr" else value > 0
        return bottom_ok and value <= top and value < math.inf

    return {name: recorded[name] for name in RECIPE_OPTIONS if plausible(name, recorded.get(name))}


def run(config):
    """Train as `config` (a `TrainConfig`) says; see `capsnet train --help`.

    The data is validated first, then the save folder is checked and locked
    for this run (`capsnet.save_dir.claim`) before any model is built. With
    several processes (torchrun), only the chief (rank 0) claims the folder,
    prints and writes files.
    """
    plugin = backends.setup(config.precision, config.seed)
    data = datasets.load(
        config.dataset,
        config.data,
        config.subset,
        folders=config.folder_options(config.seed),
        progress=reading_images,
        generated=config.generated_options(),
    )
    scope, group = _distribution(config, plugin)
    try:
        on_device = _data_on_device(config, plugin, data, group)
        claim = save_dirs.claim if group.chief else contextlib.nullcontext
        with claim(Path(config.save_dir)) as save_dir:
            _train(config, plugin, data, save_dir, scope, group, on_device)
    finally:
        group.close()


def _data_on_device(config, plugin, data, group):
    """Whether training holds `data` on the device (`capsnet.data.device_examples`):
    as --data-on-device/--data-on-host say, else on a GPU where the stored arrays
    fit `AUTO_LIMIT_BYTES`; never for data drawn afresh each epoch or for several
    replicas (each would need its own share of the arrays)."""
    if config.distribute != "none" or group.replicas > 1:
        if config.data_on_device:
            raise CapsNetInputError(
                "--data-on-device holds the data on one device; drop it or --distribute data-parallel"
            )
        return False
    splits = (data.train_examples(data.num_classes), data.test_examples(data.num_classes))
    return device_examples.held_on_device(config.data_on_device, plugin.on_gpu(), *splits)


def _train(config, plugin, data, save_dir, scope, group, on_device):
    echo = click.echo if group.chief else lambda *args, **kwargs: None
    with scope:
        models, resumed = _models(config, data, save_dir)
    initial_epoch = resumed["epoch"] if resumed else 0
    check_input_shape(models, data.input_shape)
    num_classes = _check_classes(models, data)
    if config.weights or config.resume:
        check_class_names(
            classes_layer(models.train).class_names, data.class_names, num_classes,
            config.match_classes_by_index, what=f"--data {config.data or config.dataset}",
        )  # fmt: skip
    if initial_epoch >= config.epochs:
        if group.chief:
            _finish_interrupted_final_save(models, save_dir)
        echo(f"{save_dir} already finished {initial_epoch} epochs; raise --epochs to train more")
        return
    group.prepare(models.train)

    run_file = save_dir / "run.json"
    earlier = json.loads(run_file.read_text()) if config.resume and run_file.is_file() else {}
    earlier_times = earlier.get("epoch_times_s", [])[:initial_epoch]
    epoch_times = []
    record = {
        **backends.environment(plugin, config.precision),
        "command": " ".join(["capsnet", *map(_portable, sys.argv[1:])]),
        "options": {
            **{k: _portable(v) if isinstance(v, Path) else v for k, v in asdict(config).items()},
            # on --resume and --weights the saved model's, not the defaults
            **families.family_of_model(models.train).architecture(models.train),
        },
        "train_images": data.num_train,
        "test_images": data.num_test,
        "replicas": group.replicas,
        # what ran; "options" holds what was asked
        "steps_per_execution": models.train.steps_per_execution,
        "jit_compile": bool(models.train.jit_compile),
        "data_on_device": on_device,
        "epoch_times_s": earlier_times,
    }

    def write_record(_epochs_done=None):
        record["epoch_times_s"] = earlier_times + [round(seconds, 3) for seconds in epoch_times]
        atomic_write_text(run_file, json.dumps(record, indent=2))

    within = f" from step {resumed['step'] + 1}" if resumed and resumed["step"] else ""
    echo(
        f"training on {data.num_train} images ({keras.backend.backend()}, {group.replicas} replica(s)), "
        f"epochs {initial_epoch + 1}-{config.epochs}{within}, saving to {save_dir}"
    )
    try:
        training.fit(
            models.train,
            data,
            save_dir,
            epochs=config.epochs,
            batch_size=config.batch_size,
            lr=config.lr,
            lr_decay=config.lr_decay,
            lr_schedule=config.lr_schedule,
            min_lr=config.min_lr,
            num_classes=num_classes,
            epoch_times=epoch_times,
            resumed=resumed,
            sync=plugin.sync,
            on_epoch_saved=write_record,
            group=group,
            seed=config.seed,
            save_classifier=config.save_classifier,
            checkpoint_every=config.checkpoint_every,
            checkpoint_minutes=config.checkpoint_minutes or None,
            data_on_device=on_device,
        )
    except KeyboardInterrupt:
        _report_interruption(save_dir, group.chief)
    except CapsNetInputError:
        echo("", err=True)  # end the progress bar's line before the one-line error
        raise

    if not group.chief:
        return
    record["final"] = _last_row(save_dir / "log.csv")
    write_record()
    plots.training_curves(save_dir / "log.csv", save_dir / "log.png")
    final = record["final"]
    classifier = "classifier.keras, " if config.save_classifier else ""
    click.echo(
        f"test accuracy {training.accuracy_in(final):.2%} after epoch {final['epoch']}; wrote "
        f"trained_model.keras, best_model.keras, {classifier}log.csv, log.png and run.json to {save_dir}"
    )


def _models(config, data, save_dir):
    """The models to train, and the checkpoint state they resume from (None: a new run)."""
    if config.resume:
        state = training.read_checkpoint_state(save_dir)
        checkpoint = save_dir / "checkpoint.keras"
        models = training.load_for_resume(checkpoint, learning_rate(config, data), **_compiled(config))
        training.check_resumed_step(models, state, checkpoint)
        # Before group.prepare, which offsets each process's random generators.
        exact_resume.restore_seed_states(models.train, state["seeds"])
        return models, state
    if config.weights:
        models = load_capsnet(config.weights)
        family = families.family_of_model(models.train)
        if models.manipulate is None and family.decoder:
            # A preset keeps no decoder: its capsule layers go on, with a new decoder.
            check_input_shape(models, data.input_shape, f"--data {config.data or config.dataset}")
            full = build_model(replace(config, model=family.name), data)
            models = start_from(models, full, source=str(config.weights))
    else:
        models = build_model(config, data)
        classes_layer(models.train).class_names = list(data.class_names) if data.class_names else None
    training.compile_for_training(models.train, learning_rate(config, data), **_compiled(config))
    return models, None


def _compiled(config):
    """How the training step is compiled: `jit_compile` (Keras's "auto" unless
    --jit/--no-jit), and the steps per compiled call, as asked where the backend
    can run them."""
    return {
        "jit_compile": "auto" if config.jit is None else config.jit,
        "steps_per_execution": backends.steps_per_execution(config.steps_per_execution),
    }


def learning_rate(config, data):
    """The optimizer's learning rate: `config.lr`, or the per-step schedule it names."""
    total_steps = schedules.steps_per_epoch(data.num_train, config.batch_size) * config.epochs
    return step_schedules.per_step(*(getattr(config, name) for name in SCHEDULE_OPTIONS), total_steps)


def build_model(config, data):
    """A new model of family `config.model` for images and classes like `data`'s
    (two digits per image for MultiMNIST pairs)."""
    family = families.get_family(config.model)
    # Options come from the command line, and digits_per_image from the data.
    options = {name: getattr(config, name, None) for name in family.options}
    if data.digits_per_image > 1 and not family.accepts("digits_per_image"):
        raise CapsNetInputError(
            f"--model {family.name} names one class per image, and the images of --dataset "
            f"{config.dataset} hold {data.digits_per_image}; use a capsule model"
        )
    if "shift_pixels" in options and options["shift_pixels"] is None:
        options["shift_pixels"] = 0 if data.digits_per_image > 1 else DEFAULT_SHIFT_PIXELS
    if data.digits_per_image > 1 and options.get("shift_pixels"):
        raise CapsNetInputError(
            f"--shift-pixels {options['shift_pixels']}: the pairs of --dataset {config.dataset} come "
            f"shifted, and each digit's own image must move with them; leave --shift-pixels out"
        )
    if "digits_per_image" in options:
        options["digits_per_image"] = data.digits_per_image
    return family.build(data.input_shape, data.num_classes, **options)


def _distribution(config, plugin):
    """(scope to build the model in, the `ProcessGroup` of this process) for --distribute.

    One process drives every replica on jax and tensorflow (`data_parallel`);
    on torch each replica is a process that torchrun started (`process_group`).
    """
    if config.distribute == "none":
        return contextlib.nullcontext(), training.OneProcess()
    cluster = None
    if config.coordinator_address or config.num_processes:
        if not (config.coordinator_address and config.num_processes and config.process_id is not None):
            raise CapsNetInputError(
                "multi-host training needs all of --coordinator-address, --num-processes and --process-id"
            )
        cluster = {
            "job_addresses": config.coordinator_address,
            "num_processes": config.num_processes,
            "process_id": config.process_id,
        }
    group = plugin.process_group(cluster)
    if group is None:
        scope, replicas = plugin.data_parallel(cluster)
        group = training.OneProcess(replicas)
    else:
        scope = contextlib.nullcontext()
    if config.batch_size % group.replicas:
        group.close()
        raise CapsNetInputError(
            f"--batch-size {config.batch_size} does not split over {group.replicas} replicas; "
            f"use a multiple of {group.replicas}"
        )
    return scope, group


def _check_classes(models, data):
    num_classes = models.evaluate.outputs[0].shape[-1]
    per_image = digits_per_image(models.train)
    if per_image != data.digits_per_image:
        raise CapsNetInputError(
            f"the model names {per_image} digit(s) per image but the data has {data.digits_per_image} "
            f"per image; train a new model on it (leave out --weights and --resume)"
        )
    if data.num_classes > num_classes:
        raise CapsNetInputError(
            f"the data has {data.num_classes} classes but the model has {num_classes} class capsules; "
            f"train a new model (leave out --weights)"
        )
    return num_classes


def _finish_interrupted_final_save(models, save_dir):
    """A run killed while writing trained_model.keras: its checkpoint is that model."""
    final = save_dir / "trained_model.keras"
    if not final.is_file():
        atomic_save(models.train, final, optimizer=False)
        click.echo(f"wrote {final}, which the interrupted run had not finished saving")


def _report_interruption(save_dir, chief=True):
    if not chief:
        raise SystemExit(130)
    try:
        state = training.read_checkpoint_state(save_dir)
    except CapsNetInputError:
        state = {"epoch": 0, "step": 0}
    steps = f" and {state['step']} step(s) of the next" if state["step"] else ""
    click.echo(
        f"\ninterrupted; {save_dir / 'checkpoint.keras'} holds {state['epoch']} finished epoch(s){steps}: "
        f"continue with the same command plus --resume",
        err=True,
    )
    raise SystemExit(130)


def _portable(path):
    """A path for run.json that names no folder of this machine: relative to the
    working folder when inside it, else the file name alone."""
    if not os.path.isabs(path):
        return str(path)
    path = Path(path)
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return path.name


def _last_row(log_csv):
    with open(log_csv) as f:
        last = list(csv.DictReader(f))[-1]
    return {k: int(v) + 1 if k == "epoch" else float(v) for k, v in last.items()}
