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
    # A capsule model logs length_accuracy, a model of one output (the CNN) accuracy.
    for name in ("length_accuracy", "accuracy"):
        for key, label in ((name, "train"), (f"val_{name}", "validation")):
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


def real_and_recon(images, reconstructions, path, captions=None, wrong=None, per_row=10):
    """Pairs of rows: test images above their reconstructions, each image
    captioned (e.g. "3 -> 3": truth -> prediction; wrong ones in red).

    Args:
        images, reconstructions: `(n, h, w, c)` in [0, 1].
        captions: n strings, or None.
        wrong: n bools (drawn in red), or None.
    """
    plt = _pyplot()
    n = len(images)
    rows = -(-n // per_row)
    fig, axes = plt.subplots(2 * rows, per_row, figsize=(per_row * 0.9, rows * 2.1), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for index in range(n):
        row, column = 2 * (index // per_row), index % per_row
        for offset, picture in ((0, images[index]), (1, reconstructions[index])):
            pixels = picture[..., 0] if picture.shape[-1] == 1 else picture
            axes[row + offset, column].imshow(np.clip(pixels, 0, 1), cmap="gray", vmin=0, vmax=1)
        if captions is not None:
            colour = "red" if wrong is not None and wrong[index] else "black"
            axes[row, column].set_title(captions[index], fontsize=7, color=colour)
    fig.suptitle("test images (odd rows, truth -> prediction) and their reconstructions (even rows)")
    _save(fig, path)
    plt.close(fig)


def one_per_class_in_turn(labels, count):
    """Indices of up to `count` examples, taking the classes of `labels` in turn
    (the first of each class, then the second of each, ...), in class order."""
    by_class = [list(np.flatnonzero(labels == label)) for label in np.unique(labels)]
    chosen = []
    for rank in range(max((len(found) for found in by_class), default=0)):
        chosen += [found[rank] for found in by_class if rank < len(found)]
        if len(chosen) >= count:
            break
    return np.array(sorted(chosen[:count], key=lambda i: (labels[i], i)), dtype=int)


def bars(names, values, ylabel, path, title):
    """A labelled bar chart (used for bench.png)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    drawn = ax.bar(names, values, color=["#4c72b0", "#dd8452", "#55a868"][: len(names)])
    ax.bar_label(drawn, fmt="%.1f")
    ax.set(ylabel=ylabel, title=title)
    _save(fig, path)
    plt.close(fig)


def overlay(image, first, second):
    """An RGB picture of a two-digit input `(h, w, c)` in dim grey with its two
    reconstructions drawn over it, the first in red and the second in green."""
    grey = 0.4 * image.mean(axis=-1)
    red, green = first.mean(axis=-1), second.mean(axis=-1)
    return np.clip(np.stack([np.maximum(grey, red), np.maximum(grey, green), grey], axis=-1), 0, 1)


def pair_reconstructions(images, reconstructions, path, captions, right):
    """The paper's Figure 5: each two-digit input beside its two reconstructions
    (red: the longest capsule's, green: the second's); the first `right` are
    pairs named correctly, the rest wrong ones.

    Args:
        images: `(n, h, w, c)` inputs in [0, 1].
        reconstructions: `(n, 2, h, w, c)`.
        captions: n strings, e.g. "3+7 -> 7+3" (true classes -> longest capsules).
    """
    plt = _pyplot()
    n = len(images)
    columns = max(right, n - right, 1)
    fig, axes = plt.subplots(4, columns, figsize=(1.3 * columns, 6), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for index in range(n):
        row = 0 if index < right else 2
        column = index if index < right else index - right
        axes[row, column].imshow(images[index].mean(axis=-1), cmap="gray", vmin=0, vmax=1)
        axes[row, column].set_title(captions[index], fontsize=7)
        axes[row + 1, column].imshow(overlay(images[index], *reconstructions[index]))
    fig.suptitle("right pairs (top) and wrong pairs (bottom): input, then reconstructions (red, green)")
    _save(fig, path)
    plt.close(fig)
