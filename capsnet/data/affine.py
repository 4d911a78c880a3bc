"""Affine warps of image batches: bilinear inverse mapping, numpy only.

Coordinates are (row, column) of pixel centres, as in `scipy.ndimage`: the
output pixel `o` takes the input's value at `matrix @ o + offset`, read
bilinearly from the four nearest pixels, with zeros outside the input (what
`scipy.ndimage.affine_transform(..., order=1, mode="grid-constant")` does for
one image). Every image of a batch has its own matrix; the batch is warped
in chunks, so memory stays a few MB per thousand 40x40 images.
"""

import numpy as np

CHUNK = 1024  # images warped at once: bounds the (chunk, pixels, 4) index arrays


def warp(images, matrices, offsets, output_shape):
    """Each image resampled through its own inverse affine map.

    Args:
        images: `(n, h, w)` or `(n, h, w, c)` numbers (uint8 is read as 0..255).
        matrices: `(n, 2, 2)`: output (row, col) -> input (row, col), the linear part.
        offsets: `(n, 2)`: the translation of that map.
        output_shape: `(height, width)` of the result.

    Returns:
        float32 `(n, height, width)` or `(n, height, width, c)`, in the units of `images`.
    """
    images = np.asarray(images)
    grey = images.ndim == 3
    stack = images[..., None] if grey else images
    n, h, w, c = stack.shape
    height, width = output_shape
    rows, cols = np.meshgrid(np.arange(height), np.arange(width), indexing="ij")
    grid = np.stack([rows.ravel(), cols.ravel()]).astype(np.float64)  # (2, pixels)
    out = np.empty((n, height * width, c), np.float32)
    for start in range(0, n, CHUNK):
        part = slice(start, start + CHUNK)
        source = np.einsum("nij,jp->npi", matrices[part], grid) + offsets[part, None, :]
        out[part] = _bilinear(stack[part], source)
    out = out.reshape(n, height, width, c)
    return out[..., 0] if grey else out


def _bilinear(images, points):
    """`images` `(n, h, w, c)` read at `points` `(n, p, 2)` (row, col), zero outside: `(n, p, c)`."""
    n, h, w, c = images.shape
    # A one-pixel frame of zeros: every corner outside the image is clipped onto it.
    # Channels first, so that each gather reads one flat plane of scalars.
    frame_h, frame_w = h + 2, w + 2
    padded = np.zeros((c, n, frame_h, frame_w), np.float32)
    padded[:, :, 1:-1, 1:-1] = np.moveaxis(images, -1, 0)
    planes = padded.reshape(c, -1)
    low = np.floor(points)
    fraction = (points - low).astype(np.float32)
    low = low.astype(np.int64)
    first = (np.arange(n) * (frame_h * frame_w))[:, None]  # each image's plane in `planes`
    top = first + (np.clip(low[..., 0], -1, h) + 1) * frame_w
    bottom = first + (np.clip(low[..., 0] + 1, -1, h) + 1) * frame_w
    left = np.clip(low[..., 1], -1, w) + 1
    right = np.clip(low[..., 1] + 1, -1, w) + 1
    down, across = fraction[..., 0], fraction[..., 1]
    out = np.empty((n, points.shape[1], c), np.float32)
    for channel, plane in enumerate(planes):
        upper = plane[top + left] + across * (plane[top + right] - plane[top + left])
        lower = plane[bottom + left] + across * (plane[bottom + right] - plane[bottom + left])
        out[..., channel] = upper + down * (lower - upper)
    return out


def about_centres(forward, translations, input_shape, output_shape):
    """The inverse maps (`warp`'s matrices and offsets) of forward maps that
    act about the images' centres: input centre -> output centre + translation.

    Args:
        forward: `(n, 2, 2)` linear parts, input (row, col) -> output (row, col),
            about the centres.
        translations: `(n, 2)` (down, right) of the output centre, in pixels.
        input_shape, output_shape: `(height, width)` of the input and output images.

    Returns:
        `(matrices (n, 2, 2), offsets (n, 2))`: `output - centre_out - t = forward
        @ (input - centre_in)`, solved for the input.
    """
    centre_in = (np.asarray(input_shape, np.float64) - 1) / 2
    centre_out = (np.asarray(output_shape, np.float64) - 1) / 2
    matrices = np.linalg.inv(forward)
    offsets = centre_in - np.einsum("nij,nj->ni", matrices, centre_out + translations)
    return matrices, offsets
