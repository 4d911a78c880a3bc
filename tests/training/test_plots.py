"""log.png reads well: whole-number epoch ticks, however few epochs."""

import numpy as np
import pytest

from capsnet import plots


@pytest.mark.parametrize("epochs", [1, 2, 7])
def test_epoch_ticks_are_whole_numbers(epochs):
    rows = [
        {
            "epoch": str(e),
            "loss": "0.5",
            "val_loss": "0.4",
            "length_accuracy": "0.9",
            "val_length_accuracy": "0.9",
        }
        for e in range(epochs)
    ]
    figure = plots.curves_figure(rows)
    for axes in figure.axes:
        low, high = axes.get_xlim()
        ticks = [t for t in axes.get_xticks() if low <= t <= high]
        assert ticks and all(float(t).is_integer() for t in ticks), ticks
        assert set(range(1, epochs + 1)) >= {int(t) for t in ticks} >= ({1} if epochs == 1 else set())
    np.testing.assert_array_equal(figure.axes[0].lines[0].get_xdata(), np.arange(1, epochs + 1))
