"""`capsnet train`: build or load a model, fit it, and write the run's files."""

import csv
import json
import sys
from pathlib import Path

import click

from capsnet import data as datasets
from capsnet import plots, training
from capsnet import save_dir as save_dirs
from capsnet.errors import CapsNetInputError
from capsnet.model import build_capsnet
from capsnet.model_files import atomic_save, atomic_write_text, check_input_shape, load_capsnet


def run(options, backend, setup_backend, environment):
    """Train as the options say; see `cli.py train --help`.

    The data is validated first, then the save folder is checked and locked
    for this run (`capsnet.save_dir.claim`) before any model is built.
    """
    plugin = setup_backend(options["precision"], options["seed"])
    data = datasets.load(options["dataset"], options["data"], options["subset"])
    with save_dirs.claim(options["save_dir"]) as save_dir:
        _train(options, backend, plugin, environment, data, save_dir)


def _train(options, backend, plugin, environment, data, save_dir):
    scope, replicas = _distribution(options, plugin)
    with scope:
        models, initial_epoch, best = _models(options, data, save_dir)
    check_input_shape(models, data.input_shape)
    n_class = _check_classes(models, data)
    if initial_epoch >= options["epochs"]:
        _finish_interrupted_final_save(models, save_dir)
        click.echo(f"{save_dir} already finished {initial_epoch} epochs; raise --epochs to train more")
        return

    run_file = save_dir / "run.json"
    earlier = json.loads(run_file.read_text()) if options["resume"] and run_file.is_file() else {}
    earlier_times = earlier.get("epoch_times_s", [])[:initial_epoch]
    epoch_times = []
    record = {
        **environment(plugin),
        "command": " ".join(sys.argv),
        "options": {k: str(v) if isinstance(v, Path) else v for k, v in options.items()},
        "train_images": len(data.x_train),
        "test_images": len(data.x_test),
        "replicas": replicas,
        "epoch_times_s": earlier_times,
    }

    def write_record(_epochs_done=None):
        record["epoch_times_s"] = earlier_times + epoch_times
        atomic_write_text(run_file, json.dumps(record, indent=2))

    click.echo(
        f"training on {len(data.x_train)} images ({backend}, {replicas} replica(s)), "
        f"epochs {initial_epoch + 1}-{options['epochs']}, saving to {save_dir}"
    )
    try:
        training.fit(
            models.train,
            data,
            save_dir,
            epochs=options["epochs"],
            batch_size=options["batch_size"],
            lr=options["lr"],
            lr_decay=options["lr_decay"],
            n_class=n_class,
            epoch_times=epoch_times,
            initial_epoch=initial_epoch,
            best_val_accuracy=best,
            sync=plugin.sync,
            on_epoch_saved=write_record,
        )
    except KeyboardInterrupt:
        _report_interruption(save_dir)
    except CapsNetInputError:
        click.echo("", err=True)  # end the progress bar's line before the one-line error
        raise

    record["final"] = _last_row(save_dir / "log.csv")
    write_record()
    plots.training_curves(save_dir / "log.csv", save_dir / "log.png")
    final = record["final"]
    click.echo(
        f"test accuracy {final['val_length_accuracy']:.2%} after epoch {final['epoch']}; wrote "
        f"trained_model.keras, best_model.keras, log.csv, log.png and run.json to {save_dir}"
    )


def _models(options, data, save_dir):
    """The models to train and the (finished epochs, best accuracy) to start from."""
    if options["resume"]:
        state = training.read_checkpoint_state(save_dir)
        checkpoint = save_dir / "checkpoint.keras"
        models = training.load_for_resume(checkpoint)
        training.check_resumed_step(models, state, checkpoint)
        return models, state["epoch"], state["best_val_accuracy"]
    if options["weights"]:
        models = load_capsnet(options["weights"])
    else:
        models = build_capsnet(
            input_shape=data.input_shape,
            n_class=data.n_class,
            routings=options["routings"],
            shift_pixels=options["shift_pixels"],
            lam_recon=options["lam_recon"],
            seed=options["seed"],
        )
    training.compile_for_training(models.train, options["lr"])
    return models, 0, None


def _distribution(options, plugin):
    """(scope to build the model in, replicas) for --distribute."""
    import contextlib

    if options["distribute"] == "none":
        return contextlib.nullcontext(), 1
    cluster = None
    if options["coordinator_address"] or options["num_processes"]:
        if not (
            options["coordinator_address"] and options["num_processes"] and options["process_id"] is not None
        ):
            raise CapsNetInputError(
                "multi-host training needs all of --coordinator-address, --num-processes and --process-id"
            )
        cluster = {
            "job_addresses": options["coordinator_address"],
            "num_processes": options["num_processes"],
            "process_id": options["process_id"],
        }
    scope, replicas = plugin.data_parallel(cluster)
    if options["batch_size"] % replicas:
        raise CapsNetInputError(
            f"--batch-size {options['batch_size']} does not split over {replicas} devices; "
            f"use a multiple of {replicas}"
        )
    return scope, replicas


def _check_classes(models, data):
    n_class = models.evaluate.outputs[0].shape[-1]
    if data.n_class > n_class:
        raise CapsNetInputError(
            f"the data has {data.n_class} classes but the model has {n_class} class capsules; "
            f"train a new model (leave out --weights)"
        )
    return n_class


def _finish_interrupted_final_save(models, save_dir):
    """A run killed while writing trained_model.keras: its checkpoint is that model."""
    final = save_dir / "trained_model.keras"
    if not final.is_file():
        atomic_save(models.train, final)
        click.echo(f"wrote {final}, which the interrupted run had not finished saving")


def _report_interruption(save_dir):
    try:
        done = training.read_checkpoint_state(save_dir)["epoch"]
    except CapsNetInputError:
        done = 0
    click.echo(
        f"\ninterrupted; {save_dir / 'checkpoint.keras'} holds {done} finished epoch(s): "
        f"continue with the same command plus --resume",
        err=True,
    )
    raise SystemExit(130)


def _last_row(log_csv):
    with open(log_csv) as f:
        last = list(csv.DictReader(f))[-1]
    return {k: int(v) + 1 if k == "epoch" else float(v) for k, v in last.items()}
