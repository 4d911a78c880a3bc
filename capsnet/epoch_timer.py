"""A callback that times each fit() epoch, device work included."""

import time

import keras


class EpochTimer(keras.callbacks.Callback):
    """`seconds[i]`: epoch i from its start to its last step's end.

    `sync()` waits for the device's queued work, so an epoch is not
    charged with the one before it, nor let off with work still queued.

    Args:
        sync: waits for the device (`Plugin.sync`).
        seconds: the list to append each epoch's time to (default: a new one).
        skip: called at each epoch's end; True leaves that epoch out (one
            whose loss diverged is not a finished epoch).
        report: called as `report(epoch, seconds)` after each recorded epoch.
        first_seconds: time the first epoch had already taken before this run
            (one resumed inside an epoch).
    """

    def __init__(self, sync, seconds=None, skip=None, report=None, first_seconds=0.0):
        super().__init__()
        self.sync = sync
        self.seconds = [] if seconds is None else seconds
        self.skip = skip or (lambda: False)
        self.report = report
        self.carried = first_seconds
        self._started = None

    def on_epoch_begin(self, epoch, logs=None):
        self.sync()
        self._started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        if self.skip():
            return
        self.sync()
        self.seconds.append(self.carried + time.perf_counter() - self._started)
        self.carried = 0.0
        if self.report:
            self.report(epoch, self.seconds[-1])
