"""The bundled sample: 5000 + 1000 real MNIST digits, to try everything offline."""

from pathlib import Path

SAMPLE = Path(__file__).parent.parent / "sample_data" / "mnist_sample.npz"


def sample():
    """The sample's four uint8 arrays."""
    from capsnet.data.npz import read_npz  # numpy on first use (see capsnet.data.registry)

    return read_npz(SAMPLE)
