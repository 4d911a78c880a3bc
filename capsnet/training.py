"""Training with checkpoints that survive interruption and can be resumed.

Files written into `save_dir`:
    checkpoint.keras   the training model after the last finished epoch, or
                       inside an epoch every `checkpoint_every` steps or
                       `checkpoint_minutes`, with optimizer state and, inside the
                       same zip, its state `capsnet_checkpoint.json` ({"epoch",
                       "step", "optimizer_step", "best_val_accuracy", "log",
                       "seeds", "metrics", "epoch_seconds"}; see
                       `capsnet.exact_resume`): one atomic rename commits both
    checkpoint.json    a readable copy of that state (resume trusts the zip's)
    best_model.keras   the model with the best validation accuracy so far, without
                       optimizer state (the same file as trained_model.keras when
                       the last epoch was the best: a hard link, not a copy)
    trained_model.keras  the final model, without optimizer state
    classifier.keras   with save_classifier: the capsules alone, as presets are
                       made (no decoder, no shifts)
    log.csv            one row per finished epoch, rewritten after each checkpoint
                       from the rows the checkpoint carries (so a resumed run
                       mends a row that a kill or Ctrl-C kept out of it)
"""

import csv
import functools
import io
import json
import math
import signal
import time
import warnings
import zipfile
from pathlib import Path

import keras
import numpy as np

from capsnet import backends, exact_resume, fast_ops, losses, metrics, schedules
from capsnet import models as families
from capsnet.atomic import atomic_write, atomic_write_text
from capsnet.data import device_examples
from capsnet.data.batches import Batches, Examples, FollowEpochs
from capsnet.data.examples import ClassExamples
from capsnet.epoch_timer import EpochTimer
from capsnet.errors import CapsNetInputError
from capsnet.model_files import atomic_save, link_or_copy, load_capsnet
from capsnet.models.capsule_views import digits_per_image
from capsnet.step_schedules import LogLearningRate

# The accuracy's column in Keras's logs and log.csv: a capsule model's training
# model has several outputs, so Keras prefixes the name of its lengths' layer;
# a model of one output (the CNN baseline) logs the metric's own name.
ACCURACY = "length_accuracy"
VAL_ACCURACY = "val_length_accuracy"
ACCURACY_COLUMNS = (ACCURACY, "accuracy")


def accuracy_in(row, validation=True):
    """The (validation) accuracy in a log row or Keras's logs (a dict), as a float, or None."""
    for name in ACCURACY_COLUMNS:
        value = row.get(f"val_{name}" if validation else name)
        if value not in (None, ""):
            return float(value)
    return None


STATE_ENTRY = "capsnet_checkpoint.json"


def score_loss(train_model):
    """The loss of `train_model`'s class scores: its family's, and the margin loss
    for a model of no registered family (a capsule model built by hand)."""
    family = families.family_of_model(train_model)
    return losses.margin_loss if family is None else family.loss()


def compile_for_training(train_model, lr=1e-3, jit_compile="auto", steps_per_execution=1):
    """Adam and the family's loss of the class scores (a capsule family's margin
    loss on the lengths, with two positives for MultiMNIST pairs; the CNN
    baseline's cross entropy); the reconstruction losses are in the model.

    Registers the backend's measured fast ops first (`capsnet.backends.ensure_fast_paths`),
    unless `capsnet.backends.setup(fast_paths=False)` was called: the layers look
    their ops up when the compiled step is traced, so training is fast without
    any setup call.

    `lr`: a float, or a Keras `LearningRateSchedule` of the step
    (`capsnet.step_schedules.per_step`). `jit_compile`: Keras's setting
    ("auto": XLA for JAX, and for TensorFlow on GPUs only; True on torch means
    torch.compile). `steps_per_execution`: training steps per compiled call of
    `fit` (Keras's; the backend plug-in says how many it can run,
    `capsnet.backends.steps_per_execution`).
    """
    backends.ensure_fast_paths()
    optimizer = keras.optimizers.Adam(learning_rate=lr)
    # A backend's faster update with Keras's arithmetic (backends/) replaces this
    # optimizer's own; its class, its variables and a saved file stay Keras's Adam.
    faster_update = fast_ops.get("adam_update_step", None)
    if faster_update is not None:
        optimizer.update_step = functools.partial(faster_update, optimizer)
    # A reloaded model reports a float32 policy even when its layers are
    # mixed_float16, so Keras would not add loss scaling by itself.
    if any(layer.dtype_policy.name == "mixed_float16" for layer in train_model.layers):
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
    # The class scores' loss; each reconstruction's loss is inside the model.
    reconstructions = len(train_model.outputs) - 1
    train_model.compile(
        optimizer=optimizer,
        loss=[score_loss(train_model)] + [None] * reconstructions,
        metrics=[[metrics.accuracy_metric(digits_per_image(train_model))]] + [[]] * reconstructions,
        jit_compile=jit_compile,
        steps_per_execution=steps_per_execution,
    )
    backends.fuse_training_steps(train_model)


def load_for_resume(path, lr=1e-3, steps_per_execution=1, jit_compile="auto"):
    """A saved training model, compiled, with its Adam state restored, on any backend.

    Keras records the optimizer's backend-specific class (a torch-trained file
    names `keras.src.backend.torch.optimizers.torch_adam.Adam`), which then
    fails to train under TensorFlow. So the model is loaded uncompiled, a
    fresh Adam is built on this backend, and `Model.load_weights` reads the
    file's weights and optimizer variables (iterations, learning rate,
    moments: one layout on every backend) into it. `lr`: the run's learning
    rate or per-step schedule (`compile_for_training`); a float is overwritten
    by the file's, and a schedule goes on from the file's step count.
    `steps_per_execution`, `jit_compile`: as for `compile_for_training`.
    """
    models = load_capsnet(path)
    compile_for_training(models.train, lr, jit_compile=jit_compile, steps_per_execution=steps_per_execution)
    models.train.optimizer.build(models.train.trainable_variables)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        models.train.load_weights(path)
    skipped = [str(w.message) for w in caught if "Skipping variable loading for optimizer" in str(w.message)]
    if skipped:
        raise CapsNetInputError(
            f"{path} holds optimizer state that does not fit Adam for this model; start again "
            f"without resume=True, or continue from its weights with weights=PATH"
        )
    return models


def inputs_and_targets(x, labels, num_classes, train_model=None):
    """Keras fit arrays for the training model: `(x, y)` and `(y, x)` for a capsule
    model (float32 images in [0, 1] and one-hot labels, see
    `capsnet.data.batches.Examples`), `x` and `y` for a `train_model` whose only
    input is the image (the CNN baseline)."""
    return examples_for(train_model, Examples(x, labels, num_classes))[:]


def examples_for(train_model, examples):
    """`examples` as `train_model` takes them: a capsule model's `((x, y), (y, x))`
    (image and label in, lengths and image out), or `(x, y)` for a model whose only
    input is the image (`capsnet.data.examples.ClassExamples`)."""
    if train_model is None or len(train_model.inputs) > 1:
        return examples
    return ClassExamples(examples)


def save_checkpoint(model, path, state):
    """Save `model` with `state` inside the same .keras zip, in one atomic rename.

    A kill at any moment leaves either the previous checkpoint with its state
    or the new one with its own: never weights of one epoch and state of another.
    """

    def write(temporary):
        model.save(temporary)
        with zipfile.ZipFile(temporary, "a") as archive:
            archive.writestr(STATE_ENTRY, json.dumps(state))

    atomic_write(path, write)


def read_checkpoint_state(save_dir):
    """The state saved inside `save_dir/checkpoint.keras`, validated.

    Checkpoints written before the state moved into the zip fall back to
    `checkpoint.json` (without an optimizer step to check).

    Returns:
        {"epoch": finished epochs, "step": steps done in the next epoch (0 at an
        epoch's end), "optimizer_step": int or None, "best_val_accuracy": float or
        None, "log": log.csv's rows of epochs 0..epoch-1, "seeds": the random
        generators' states, "metrics": the unfinished epoch's metric sums,
        "epoch_seconds": its time so far}; what older checkpoints lack is
        0 for "step" and "epoch_seconds", else None.
    """
    checkpoint = Path(save_dir) / "checkpoint.keras"
    fresh = "start again without resume=True (or pass the save_dir=DIR of the interrupted run)"
    if not checkpoint.is_file():
        raise CapsNetInputError(f"nothing to resume in {save_dir} (no checkpoint.keras); {fresh}")
    try:
        with zipfile.ZipFile(checkpoint) as archive:
            raw = archive.read(STATE_ENTRY) if STATE_ENTRY in archive.namelist() else None
    except (zipfile.BadZipFile, OSError):
        raise CapsNetInputError(f"{checkpoint} is damaged (not a readable zip); {fresh}") from None
    where = f"{checkpoint}:{STATE_ENTRY}"
    if raw is None:
        legacy = Path(save_dir) / "checkpoint.json"
        if not legacy.is_file():
            raise CapsNetInputError(f"{checkpoint} carries no training state; {fresh}")
        raw, where = legacy.read_bytes(), str(legacy)
    try:
        state = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        state = None
    problem = _state_problem(state)
    if problem:
        raise CapsNetInputError(f"the checkpoint state {where} is invalid ({problem}); {fresh}")
    return {
        "epoch": state["epoch"],
        "step": state.get("step", 0),
        "optimizer_step": state.get("optimizer_step"),
        "best_val_accuracy": state.get("best_val_accuracy"),
        "log": state.get("log"),
        "seeds": state.get("seeds"),
        "metrics": state.get("metrics"),
        "epoch_seconds": state.get("epoch_seconds", 0.0),
    }


def _state_problem(state):
    """What is wrong with a checkpoint state, or None."""
    if not isinstance(state, dict):
        return "not a JSON object"
    epoch, step = state.get("epoch"), state.get("optimizer_step")
    best = state.get("best_val_accuracy")
    if not _is_count(epoch):
        return f"epoch {epoch!r} is not a count of finished epochs"
    if step is not None and not _is_count(step):
        return f"optimizer_step {step!r} is not a count of steps"
    if not _is_count(state.get("step", 0)):
        return f"step {state['step']!r} is not a count of steps"
    if state.get("step", 0) and not isinstance(state.get("metrics"), list):
        return "a checkpoint inside an epoch carries no metric sums"
    for name in ("seeds", "metrics"):
        if state.get(name) is not None and not isinstance(state[name], list):
            return f"{name} is not a list"
    seconds = state.get("epoch_seconds", 0.0)
    if not isinstance(seconds, (int, float)) or isinstance(seconds, bool) or not 0 <= seconds < math.inf:
        return f"epoch_seconds {seconds!r} is not a time"
    if best is not None and not (isinstance(best, (int, float)) and 0 <= best <= 1):
        return f"best_val_accuracy {best!r} is not an accuracy"
    log = state.get("log")
    rows_ok = isinstance(log, list) and all(
        isinstance(r, dict) and isinstance(r.get("epoch"), int) for r in log
    )
    if log is not None and not rows_ok:
        return "log is not a list of rows with their epoch"
    return None


def _is_count(value):
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def check_resumed_step(models, state, path):
    """Refuse a checkpoint whose optimizer disagrees with its recorded state."""
    expected = state.get("optimizer_step")
    actual = int(keras.ops.convert_to_numpy(models.train.optimizer.iterations))
    if expected is not None and actual != expected:
        raise CapsNetInputError(
            f"{path} is inconsistent: its optimizer step {actual} but its state says {expected}; "
            f"start again without resume=True, or continue from its weights with weights=PATH"
        )


class GracefulStop(keras.callbacks.Callback):
    """Stops training at the next batch boundary on Ctrl-C, SIGTERM or a non-finite loss.

    A signal only sets a flag: an exception raised inside a compiled step is
    not reliably delivered on every backend (JAX's dispatch swallowed it). At
    the next batch boundary `Halt` leaves `fit()` at once (`stop_training`
    would still validate the cut epoch first). The halted epoch is then
    neither checkpointed nor logged as finished. A signal after an epoch's last
    step (while it validates) leaves that epoch whole: it is saved and logged,
    and `Halt` comes before the next epoch begins. A second signal gets the
    previous handler, so a second Ctrl-C acts at once. A NaN or infinite loss
    sets `diverged`: the weights are already broken, so nothing of that epoch
    may be saved.
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self, agree=None):
        super().__init__()
        self.requested = False
        self.diverged = False
        self.previous = {}
        # Called with the batch a requested stop halts after, before `Halt`
        # (SafeCheckpoint.save_stopped_step): the steps since the last checkpoint are kept.
        self.before_halt = None
        # With several processes (`ProcessGroup.agree`), one that is stopped stops them all
        # at the same step: a process that went on alone would wait for the others forever.
        self.agree = agree or (lambda *flags: flags)

    @property
    def halted(self):
        """Whether training stops at the next batch boundary or epoch start (a stop
        request, or a diverged loss)."""
        return self.requested or self.diverged

    def __enter__(self):
        self.previous = {s: signal.signal(s, self._request) for s in self.SIGNALS}
        return self

    def __exit__(self, *exc):
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)

    def _request(self, signum, frame):
        self.requested = True
        signal.signal(signum, self.previous[signum])

    def agree_with_group(self):
        self.requested, self.diverged = (bool(flag) for flag in self.agree(self.requested, self.diverged))

    def on_epoch_begin(self, epoch, logs=None):
        self.agree_with_group()
        if self.halted:
            raise Halt  # requested after the last epoch's last step: nothing of this one ran

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            self.diverged = True
        self.agree_with_group()
        if self.halted:
            if self.requested and not self.diverged and self.before_halt is not None:
                self.before_halt(batch)
            raise Halt


class Halt(Exception):
    """Raised between two batches by `GracefulStop` to leave `fit()` at once."""


def write_log(path, rows):
    """log.csv from `rows` (dicts with "epoch"), in one atomic rename: columns
    "epoch" then the metrics sorted by name, as Keras's CSVLogger writes them."""
    columns = ["epoch", *sorted({key for row in rows for key in row} - {"epoch"})]
    text = io.StringIO()
    writer = csv.DictWriter(text, columns, restval="NA", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(path, text.getvalue())


def earlier_log_rows(save_dir, initial_epoch):
    """The log rows of epochs 0..initial_epoch-1: those the checkpoint carries, or,
    without a checkpoint or from one that carries none, those log.csv still has."""
    if initial_epoch == 0:
        return []
    has_checkpoint = (Path(save_dir) / "checkpoint.keras").is_file()
    rows = read_checkpoint_state(save_dir)["log"] if has_checkpoint else None
    if rows is None:
        try:
            with open(Path(save_dir) / "log.csv", newline="") as f:
                rows = [_numbers(row) for row in csv.DictReader(f)]
        except (OSError, ValueError, csv.Error):
            rows = []
    return [row for row in rows if row["epoch"] < initial_epoch]


def _numbers(row):
    """A log.csv row read back: the epoch as an int, the metrics as floats."""
    return {key: int(value) if key == "epoch" else float(value) for key, value in row.items()}


class SafeCheckpoint(keras.callbacks.Callback):
    """Atomic checkpoints (with optimizer, log rows and `capsnet.exact_resume`'s
    extras) at each epoch's end and inside epochs, log.csv, and the
    best-by-validation model.

    Inside an epoch a checkpoint is written after every `every_steps` steps, or
    after the first step that ends `every_seconds` after the previous
    checkpoint (either None: not by that measure), never after an epoch's last
    step (the epoch's own checkpoint follows). Whether an epoch finished is
    decided once, before anything of it is saved: a signal that arrives while
    the checkpoint is written still lets its log row follow (the checkpoint
    holds the epoch, so the log must list it).

    `first_step`, `first_seconds`: where the first epoch of this run resumes
    (steps already done, and their seconds).
    """

    def __init__(
        self,
        save_dir,
        stop,
        best_val_accuracy=None,
        on_saved=None,
        log_rows=(),
        every_steps=None,
        every_seconds=None,
        first_step=0,
        first_seconds=0.0,
    ):
        super().__init__()
        self.save_dir = Path(save_dir)
        self.best = best_val_accuracy
        self.on_saved = on_saved
        self.stop = stop
        self.best_epoch = None  # the epoch of best_model.keras, when this run wrote it
        self.log_rows = list(log_rows)
        self.every_steps, self.every_seconds = every_steps, every_seconds
        self.first_step, self.first_seconds = first_step, first_seconds
        self.steps_in_epoch = None
        self._epoch = self._epoch_began = self._last_saved = None
        self._last_step = first_step  # the steps of the epoch done at the last batch's end
        self._saved_step = first_step  # the steps of the epoch in checkpoint.keras

    def on_train_begin(self, logs=None):
        log = self.save_dir / "log.csv"
        if self.log_rows:
            write_log(log, self.log_rows)  # mends a row that a kill kept out of it
        else:
            log.unlink(missing_ok=True)
        self.steps_in_epoch = self.params.get("steps") if self.params else None
        self._last_saved = time.monotonic()

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch, self._epoch_began = epoch, time.monotonic()
        self._last_step = self._saved_step = self.first_step

    def on_train_batch_end(self, batch, logs=None):
        # `batch` is the last step of the compiled call that just ran: with
        # several steps per call (steps_per_execution) the steps come in blocks.
        step = self.first_step + batch + 1
        previous, self._last_step = self._last_step, step
        if self.steps_in_epoch is not None and batch + 1 >= self.steps_in_epoch:
            return  # the epoch's last step: its own checkpoint follows
        # A block may step over a multiple of every_steps: save after the block that crosses it.
        by_steps = self.every_steps is not None and step // self.every_steps > previous // self.every_steps
        by_time = self.every_seconds is not None and time.monotonic() - self._last_saved >= self.every_seconds
        if by_steps or by_time:
            self._save(epochs_done=self._epoch, step=step, metrics=exact_resume.metric_states(self.model))

    def save_stopped_step(self, batch):
        """Checkpoint the step a Ctrl-C or SIGTERM stops after (`batch`, as in
        `on_train_batch_end`), unless it is the epoch's last: that epoch is then
        trained again from its last checkpoint."""
        step = self.first_step + batch + 1
        if self.steps_in_epoch is not None and batch + 1 >= self.steps_in_epoch:
            return
        if step > self._saved_step:
            self._save(epochs_done=self._epoch, step=step, metrics=exact_resume.metric_states(self.model))

    def on_epoch_end(self, epoch, logs=None):
        # Every step of the epoch ran (a halt leaves fit() before its end), so a stop
        # requested since, while it validated, still saves it; a diverged one never.
        if self.stop.diverged:
            return
        logs = logs or {}
        accuracy = accuracy_in(logs)
        if accuracy is not None and (self.best is None or accuracy > self.best):
            self.best = float(accuracy)
            self.best_epoch = epoch + 1
            atomic_save(self.model, self.save_dir / "best_model.keras", optimizer=False)
        self.log_rows.append({"epoch": epoch, **{key: float(value) for key, value in logs.items()}})
        self.first_step, self.first_seconds = 0, 0.0
        self._save(epochs_done=epoch + 1, step=0, metrics=None)
        write_log(self.save_dir / "log.csv", self.log_rows)
        if self.on_saved:
            self.on_saved(epoch + 1)

    def _save(self, epochs_done, step, metrics):
        model = self.model  # on JAX, reading it brings the step's state back into the variables
        seconds = self.first_seconds + time.monotonic() - self._epoch_began if step else 0.0
        state = {
            "epoch": epochs_done,
            "step": step,
            "optimizer_step": int(keras.ops.convert_to_numpy(model.optimizer.iterations)),
            "best_val_accuracy": self.best,
            "log": self.log_rows,
            "seeds": exact_resume.seed_states(model),
            "metrics": metrics,
            "epoch_seconds": round(seconds, 3),
        }
        save_checkpoint(model, self.save_dir / "checkpoint.keras", state)
        atomic_write_text(self.save_dir / "checkpoint.json", json.dumps(state))
        self._last_saved, self._saved_step = time.monotonic(), step


class RestoreMetrics(keras.callbacks.Callback):
    """Sets the metric sums of a resumed epoch (`capsnet.exact_resume.metric_states`)
    when it begins, after `fit()` reset them; for a fit() of that one epoch."""

    def __init__(self, states):
        super().__init__()
        self.states = states

    def on_epoch_begin(self, epoch, logs=None):
        exact_resume.restore_metric_states(self.model, self.states)


def _build_metrics(train_model, batch):
    """Create the compiled metrics' variables before a resumed epoch's first step
    (fit() builds them without a step on JAX and TensorFlow, not on torch): one
    evaluation of `batch` (`(inputs, targets)`), which changes no weight, no
    random generator and no optimizer state."""
    inputs, targets = batch
    train_model.test_on_batch(inputs, targets)


class OneProcess:
    """The `ProcessGroup` (capsnet.backends.plugin) of a run in one process, which
    may still drive several devices (keras.distribution, tf.distribute)."""

    chief = True

    def __init__(self, replicas=1):
        self.replicas = replicas

    def prepare(self, train_model):
        pass

    def fit_arguments(self, train, validation, batch_size, seed, initial_epoch, skip_batches=0):
        """Keras fit's data arguments: `train` and `validation` are `capsnet.data.batches.Examples`."""
        batches = Batches(train, batch_size, seed, initial_epoch, skip=skip_batches)
        return {
            "x": batches,
            # Batches orders each epoch by (seed, epoch); Keras's shuffle would reorder
            # its batches with Python's `random`, which a resumed process draws afresh.
            "shuffle": False,
            "validation_data": Batches(validation, batch_size),
            "callbacks": [FollowEpochs(batches)],
        }

    def agree(self, *flags):
        return flags

    def close(self):
        pass


def fit(
    train_model,
    data,
    save_dir,
    epochs,
    batch_size,
    lr,
    lr_decay,
    num_classes,
    epoch_times,
    lr_schedule="epoch-exponential",
    min_lr=0.0,
    initial_epoch=0,
    best_val_accuracy=None,
    sync=lambda: None,
    on_epoch_saved=None,
    verbose="auto",
    group=None,
    seed=None,
    save_classifier=False,
    checkpoint_every=None,
    checkpoint_minutes=None,
    resumed=None,
    data_on_device=False,
):
    """Train from `initial_epoch` to `epochs`, appending each epoch's seconds
    to `epoch_times` (so they survive an interruption).

    The learning rate follows `lr_schedule` (`capsnet.schedules`): for
    "epoch-exponential" it is set to max(lr x lr_decay^epoch, min_lr) before each
    epoch; the per-step schedules are the compiled optimizer's own.

    `group`: the `ProcessGroup` this process trains in (`OneProcess()` when
    None): it shards the data (`batch_size` is the global batch), and only its
    chief prints and writes files. `seed` fixes the order in which each epoch
    visits the training images (None: a random seed). `save_classifier`:
    also write classifier.keras, the capsules without decoder and shifts.
    `checkpoint_every` (steps) and `checkpoint_minutes`: also checkpoint inside
    epochs that often (None: not by that measure). `resumed`: the state of the
    checkpoint this run continues (`read_checkpoint_state`; its model already
    loaded, its random generators restored): it overrides `initial_epoch` and
    `best_val_accuracy`, and a checkpoint written inside an epoch goes on at the
    next step of that epoch, with that epoch's metric sums. `data_on_device`:
    hold the stored training and test images on the backend's default device
    and cut each batch there (`capsnet.data.device_examples`; one process, one
    replica), the same numbers as from the host.

    Raises KeyboardInterrupt after a Ctrl-C or SIGTERM, once training has
    stopped at a batch boundary, and CapsNetInputError when the loss became
    NaN or infinite; checkpoint.keras then holds the last checkpoint.
    """
    group = group or OneProcess()
    save_dir = Path(save_dir)
    if seed is None:
        seed = int(np.random.default_rng().integers(2**31))
    first_step, first_seconds = 0, 0.0
    if resumed is not None:
        initial_epoch, best_val_accuracy = resumed["epoch"], resumed["best_val_accuracy"]
        first_step, first_seconds = resumed["step"], resumed["epoch_seconds"]
    train = examples_for(train_model, data.train_examples(num_classes))
    validation = examples_for(train_model, data.test_examples(num_classes))
    if data_on_device:
        train, validation = device_examples.on_device(train), device_examples.on_device(validation)
    stop = GracefulStop(group.agree)
    # A per-step schedule is the optimizer's own (compile_for_training); log its rate.
    by_epoch = schedules.per_epoch(lr_schedule, lr, lr_decay, min_lr)
    rate = LogLearningRate() if by_epoch is None else keras.callbacks.LearningRateScheduler(by_epoch)
    callbacks = [stop, rate]
    if group.chief:
        log_rows = earlier_log_rows(save_dir, initial_epoch)
        checkpoints = SafeCheckpoint(
            save_dir,
            stop,
            best_val_accuracy,
            on_epoch_saved,
            log_rows,
            every_steps=checkpoint_every,
            every_seconds=None if checkpoint_minutes is None else 60 * checkpoint_minutes,
            first_step=first_step,
            first_seconds=first_seconds,
        )
        stop.before_halt = checkpoints.save_stopped_step
        save_dir.mkdir(parents=True, exist_ok=True)
        callbacks += [
            # The timer first: on_epoch_saved (run.json) must see this epoch's time.
            EpochTimer(
                sync,
                epoch_times,
                skip=lambda: stop.diverged,
                report=lambda epoch, seconds: print(f"epoch {epoch + 1}: {seconds:.1f} s"),
                first_seconds=first_seconds,
            ),
            checkpoints,
        ]
    # A run resumed inside an epoch first finishes that epoch alone (its data
    # starts at the next step), then goes on from the next epoch's beginning.
    stages = [(initial_epoch, initial_epoch + 1, first_step)] if first_step else []
    stages += [(initial_epoch + bool(first_step), epochs, 0)]
    with stop:
        try:
            for first_epoch, end_epoch, skip in stages:
                if first_epoch >= end_epoch:
                    continue
                arguments = group.fit_arguments(train, validation, batch_size, seed, first_epoch, skip)
                resumes = []
                if skip:
                    if len(train_model.metrics_variables) != len(resumed["metrics"]):
                        _build_metrics(train_model, Batches(train, batch_size, seed, first_epoch)[0])
                    resumes = [RestoreMetrics(resumed["metrics"])]
                group_callbacks = arguments.pop("callbacks")
                train_model.fit(
                    **arguments,
                    epochs=end_epoch,
                    initial_epoch=first_epoch,
                    callbacks=[*resumes, *group_callbacks, *callbacks],
                    verbose=verbose if group.chief else 0,
                )
        except Halt:
            pass
        stop.agree_with_group()  # a signal after the last step reaches every process
    if stop.requested:
        raise KeyboardInterrupt
    if stop.diverged:
        raise CapsNetInputError(
            f"training diverged: the loss became NaN or infinite; {save_dir / 'checkpoint.keras'} "
            f"keeps the last checkpoint: lower lr=LR, check the data, or train with precision='float32'"
        )
    if group.chief:
        final = save_dir / "trained_model.keras"
        atomic_save(train_model, final, optimizer=False)  # checkpoint.keras keeps Adam's state
        if checkpoints.best_epoch is not None and checkpoints.best_epoch == epochs:
            # The last epoch was the best: one file under both names, not two copies.
            link_or_copy(final, save_dir / "best_model.keras")
        if save_classifier:
            classifier = families.classifier_only(families.views_of(train_model))
            atomic_save(classifier.train, save_dir / "classifier.keras")
