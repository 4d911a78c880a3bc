"""EpochTimer times each fit() epoch, waiting for the device at both ends."""

import time

import keras
import numpy as np

from capsnet.epoch_timer import EpochTimer


class _SlowBatches(keras.callbacks.Callback):
    def on_train_batch_end(self, batch, logs=None):
        time.sleep(0.05)


def test_epoch_timer_times_each_epoch_and_syncs_at_both_ends():
    syncs = []
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    timer = EpochTimer(lambda: syncs.append(1))
    x, y = np.ones((8, 3), "float32"), np.ones((8, 1), "float32")
    started = time.perf_counter()
    model.fit(x, y, batch_size=4, epochs=3, verbose=0, callbacks=[_SlowBatches(), timer])
    elapsed = time.perf_counter() - started
    assert len(timer.seconds) == 3 and len(syncs) == 6
    # two batches per epoch, each 0.05 s slow: every epoch holds them, and no more than the call
    assert all(seconds >= 0.1 for seconds in timer.seconds)
    assert sum(timer.seconds) <= elapsed
