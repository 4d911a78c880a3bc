"""Figures: training curves, image grids, benchmark bars (matplotlib, no screen)."""

import csv

import numpy as np

from capsnet.atomic import atomic_write


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path):
    atomic_write(path, lambda temporary: fig.savefig(temporary, dpi=100, bbox_inches="tight"))


def training_curves(log_csv, path):
    """log.png: loss and accuracy (train and validation) per epoch from log.csv."""
    plt = _pyplot()
    with open(log_csv) as f:
        rows = list(csv.DictReader(f))
    fig = curves_figure(rows)
    _save(fig, path)
    plt.close(fig)


def curves_figure(rows):
    """The figure of `training_curves` for log.csv's rows (dicts of strings); epochs count from 1."""
    plt = _pyplot()
    epochs = [int(r["epoch"]) + 1 for r in rows]
    fig, (loss_ax, acc_ax) = plt.subplots(1, 2, figsize=(10, 4))
    for key, label in (("loss", "train"), ("val_loss", "validation")):
        if rows and key in rows[0]:
            loss_ax.plot(epochs, [float(r[key]) for r in rows], marker="o", label=label)
    for key, label in (("length_accuracy", "train"), ("val_length_accuracy", "validation")):
        if rows and key in rows[0]:
            acc_ax.plot(epochs, [float(r[key]) for r in rows], marker="o", label=label)
    loss_ax.set(title="loss", xlabel="epoch")
    acc_ax.set(title="accuracy", xlabel="epoch")
    from matplotlib.ticker import MaxNLocator

    for ax in (loss_ax, acc_ax):
        ax.legend()
        ax.grid(alpha=0.3)
        # Whole epochs only: matplotlib would put ticks at 0.96..1.04 around a single epoch.
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
        if epochs:
            ax.set_xlim(min(epochs) - 0.5, max(epochs) + 0.5)
    return fig


def image_grid(rows, path, title=None):
    """Save a grid of images: `rows` is `(n_rows, n_cols, h, w, c)` in [0, 1]."""
    plt = _pyplot()
    rows = np.asarray(rows)
    n_rows, n_cols, h, w, c = rows.shape
    canvas = rows.transpose(0, 2, 1, 3, 4).reshape(n_rows * h, n_cols * w, c)
    fig = plt.figure(figsize=(n_cols * w / 28, n_rows * h / 28 + (0.4 if title else 0)))
    ax = fig.add_axes([0, 0, 1, 1])
    ax.imshow(canvas[..., 0] if c == 1 else canvas, cmap="gray", vmin=0, vmax=1)
    ax.axis("off")
    if title:
        ax.set_title(title)
    _save(fig, path)
    plt.close(fig)


def real_and_recon(images, reconstructions, path, per_row=10):
    """Pairs of rows: test images above their reconstructions."""
    n = (len(images) // per_row) * per_row
    real = images[:n].reshape(-1, per_row, *images.shape[1:])
    recon = reconstructions[:n].reshape(-1, per_row, *images.shape[1:])
    interleaved = np.stack([real, recon], axis=1).reshape(-1, per_row, *images.shape[1:])
    image_grid(interleaved, path, title="real (odd rows) and reconstructed (even rows)")


def bars(names, values, ylabel, path, title):
    """A labelled bar chart (used for bench.png)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    drawn = ax.bar(names, values, color=["#4c72b0", "#dd8452", "#55a868"][: len(names)])
    ax.bar_label(drawn, fmt="%.1f")
    ax.set(ylabel=ylabel, title=title)
    _save(fig, path)
    plt.close(fig)
