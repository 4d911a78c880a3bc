"""Progress bars on stderr for the library's long reads (`capsnet.data.load`'s `progress`)."""

import contextlib
import sys

import click

PROGRESS_FROM = 2000  # images; smaller folders load without a progress bar


class _Silent:
    def update(self, n):
        pass


def reading_images(total):
    """A click progress bar over `total` images on stderr, from `PROGRESS_FROM` images on.

    The `progress` protocol of `capsnet.data.load`: called with a split's image
    count, it returns a context manager whose `update(n)` advances the bar.
    """
    if total < PROGRESS_FROM:
        return contextlib.nullcontext(_Silent())
    return click.progressbar(length=total, label="reading images", file=sys.stderr)
