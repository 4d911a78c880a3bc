"""A callback that times each fit() epoch, device work included."""

import time

import keras


class EpochTimer(keras.callbacks.Callback):
    """`seconds[i]`: epoch i from its start to its last step's end.

    `sync()` waits for the device's queued work, so an epoch is not
    charged with the one before it, nor let off with work still queued.
    """

    def __init__(self, sync):
        super().__init__()
        self.sync, self.seconds, self._started = sync, [], None

    def on_epoch_begin(self, epoch, logs=None):
        self.sync()
        self._started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.sync()
        self.seconds.append(time.perf_counter() - self._started)
