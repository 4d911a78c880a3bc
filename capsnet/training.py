"""Training with checkpoints that survive interruption and can be resumed.

Files written into `save_dir`:
    checkpoint.keras   the training model after the last finished epoch, with
                       optimizer state (saved atomically every epoch)
    checkpoint.json    {"epoch": finished epochs, "best_val_accuracy": ...}
    best_model.keras   the model with the best validation accuracy so far
    trained_model.keras  the final model
    log.csv            one row per epoch (appended to on --resume)
"""

import io
import json
import signal
import time
import zipfile
from pathlib import Path

import keras

from capsnet import losses
from capsnet.data import one_hot
from capsnet.errors import CapsNetInputError
from capsnet.model_files import atomic_save, atomic_write_text, load_capsnet

ACCURACY = "length_accuracy"
VAL_ACCURACY = "val_length_accuracy"


def compile_for_training(train_model, lr=1e-3, jit_compile="auto"):
    """Adam, margin loss on the lengths; the reconstruction loss is in the model.

    `jit_compile`: Keras's setting ("auto": XLA for JAX, and for TensorFlow on
    GPUs only; True on torch means torch.compile).
    """
    optimizer = keras.optimizers.Adam(learning_rate=lr)
    # A reloaded model reports a float32 policy even when its layers are
    # mixed_float16, so Keras would not add loss scaling by itself.
    if any(layer.dtype_policy.name == "mixed_float16" for layer in train_model.layers):
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
    train_model.compile(
        optimizer=optimizer,
        loss=[losses.margin_loss, None],
        metrics=[[keras.metrics.CategoricalAccuracy(name="accuracy")], []],
        jit_compile=jit_compile,
    )


def load_for_resume(path):
    """A saved training model, compiled, with its Adam state restored, on any backend.

    Keras records the optimizer's backend-specific class (a torch-trained file
    names `keras.src.backend.torch.optimizers.torch_adam.Adam`), which then
    fails to train under TensorFlow. So the model is loaded uncompiled, a
    fresh Adam is built on this backend, and the saved optimizer variables
    (iterations, learning rate, moments: one layout on every backend) are
    copied into it.
    """
    models = load_capsnet(path)
    compile_for_training(models.train)
    optimizer = models.train.optimizer
    optimizer.build(models.train.trainable_variables)
    saved = _saved_optimizer_variables(path)
    shapes_match = len(saved) == len(optimizer.variables) and all(
        tuple(v.shape) == s.shape for v, s in zip(optimizer.variables, saved, strict=False)
    )
    if not shapes_match:
        raise CapsNetInputError(
            f"{path} holds optimizer state that does not fit Adam for this model "
            f"({len(saved)} saved variables, {len(optimizer.variables)} expected); start again "
            f"without --resume, or continue from its weights with --weights"
        )
    for variable, value in zip(optimizer.variables, saved, strict=True):
        variable.assign(value)
    return models


def _saved_optimizer_variables(path):
    import h5py

    with zipfile.ZipFile(path) as archive:
        weights = io.BytesIO(archive.read("model.weights.h5"))
    with h5py.File(weights, "r") as h5:
        if "optimizer" not in h5:
            return []
        group = h5["optimizer"]["vars"]
        return [group[key][()] for key in sorted(group, key=int)]


def inputs_and_targets(x, labels, n_class):
    """Keras fit arrays for the training model: `[x, y]` and `[y, x]`."""
    y = one_hot(labels, n_class)
    return [x, y], [y, x]


def read_checkpoint_state(save_dir):
    """The checkpoint's bookkeeping, or an error saying how to start afresh."""
    state_file = Path(save_dir) / "checkpoint.json"
    if not (Path(save_dir) / "checkpoint.keras").is_file() or not state_file.is_file():
        raise CapsNetInputError(
            f"nothing to resume in {save_dir} (no checkpoint.keras/checkpoint.json); "
            f"run train without --resume, or pass the --save-dir of the interrupted run"
        )
    try:
        return json.loads(state_file.read_text())
    except json.JSONDecodeError:
        raise CapsNetInputError(
            f"{state_file} is corrupt; delete it and start again without --resume"
        ) from None


class EpochTimer(keras.callbacks.Callback):
    """Records each finished epoch's wall time (after the device has finished)."""

    def __init__(self, sync, times, stop):
        super().__init__()
        self.sync = sync
        self.times = times
        self.stop = stop

    def on_epoch_begin(self, epoch, logs=None):
        self.sync()
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        if self.stop.requested:
            return
        self.sync()
        self.times.append(round(time.perf_counter() - self.start, 3))
        print(f"epoch {epoch + 1}: {self.times[-1]:.1f} s")


class GracefulStop(keras.callbacks.Callback):
    """Ctrl-C (SIGINT) or SIGTERM stops training at the next batch boundary.

    A signal only sets a flag: an exception raised inside a compiled step is
    not reliably delivered on every backend (JAX's dispatch swallowed it). The
    partial epoch is then neither checkpointed nor logged as finished. A second
    signal gets the previous handler, so a second Ctrl-C acts at once.
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self):
        super().__init__()
        self.requested = False
        self.previous = {}

    def __enter__(self):
        self.previous = {s: signal.signal(s, self._request) for s in self.SIGNALS}
        return self

    def __exit__(self, *exc):
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)

    def _request(self, signum, frame):
        self.requested = True
        signal.signal(signum, self.previous[signum])

    def on_train_batch_end(self, batch, logs=None):
        if self.requested:
            self.model.stop_training = True


class EpochLog(keras.callbacks.CSVLogger):
    """log.csv, one row per finished epoch (an interrupted one is left out)."""

    def __init__(self, path, append, stop):
        super().__init__(str(path), append=append)
        self.stop = stop

    def on_epoch_end(self, epoch, logs=None):
        if not self.stop.requested:
            super().on_epoch_end(epoch, logs)


class SafeCheckpoint(keras.callbacks.Callback):
    """Atomic per-epoch checkpoint (with optimizer) and best-by-validation model."""

    def __init__(self, save_dir, stop, best_val_accuracy=None, on_saved=None):
        super().__init__()
        self.save_dir = Path(save_dir)
        self.best = best_val_accuracy
        self.on_saved = on_saved
        self.stop = stop

    def on_epoch_end(self, epoch, logs=None):
        if self.stop.requested:
            return  # an interrupted, unfinished epoch
        logs = logs or {}
        accuracy = logs.get(VAL_ACCURACY)
        if accuracy is not None and (self.best is None or accuracy > self.best):
            self.best = float(accuracy)
            atomic_save(self.model, self.save_dir / "best_model.keras")
        atomic_save(self.model, self.save_dir / "checkpoint.keras")
        state = {"epoch": epoch + 1, "best_val_accuracy": self.best}
        atomic_write_text(self.save_dir / "checkpoint.json", json.dumps(state))
        if self.on_saved:
            self.on_saved(epoch + 1)


def fit(
    train_model,
    data,
    save_dir,
    epochs,
    batch_size,
    lr,
    lr_decay,
    n_class,
    epoch_times,
    initial_epoch=0,
    best_val_accuracy=None,
    sync=lambda: None,
    on_epoch_saved=None,
    verbose="auto",
):
    """Train from `initial_epoch` to `epochs`, appending each epoch's seconds
    to `epoch_times` (so they survive an interruption).

    Raises KeyboardInterrupt after a Ctrl-C or SIGTERM, once training has
    stopped at a batch boundary; checkpoint.keras then holds the last
    finished epoch.
    """
    save_dir = Path(save_dir)
    save_dir.mkdir(parents=True, exist_ok=True)
    x, y = inputs_and_targets(data.x_train, data.y_train, n_class)
    validation = inputs_and_targets(data.x_test, data.y_test, n_class)
    stop = GracefulStop()
    callbacks = [
        stop,
        keras.callbacks.LearningRateScheduler(lambda epoch: lr * lr_decay**epoch),
        SafeCheckpoint(save_dir, stop, best_val_accuracy, on_epoch_saved),
        EpochTimer(sync, epoch_times, stop),
        EpochLog(save_dir / "log.csv", initial_epoch > 0, stop),
    ]
    with stop:
        train_model.fit(
            x,
            y,
            batch_size=batch_size,
            epochs=epochs,
            initial_epoch=initial_epoch,
            validation_data=validation,
            callbacks=callbacks,
            verbose=verbose,
        )
    if stop.requested:
        raise KeyboardInterrupt
    atomic_save(train_model, save_dir / "trained_model.keras")
