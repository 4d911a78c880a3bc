"""Trained models shipped inside the package, usable offline on every backend.

A preset's name is accepted wherever a `.keras` path is (`--weights
efficient-capsnet-mnist`); `capsnet info` lists them. A path that exists as a
file always wins over a preset of the same name.
"""

from pathlib import Path

HERE = Path(__file__).parent

# name -> what it is (shown by `capsnet info`); its file is HERE / f"{name}.keras".
PRESETS = {
    "efficient-capsnet-mnist": (
        "Efficient-CapsNet (Mazzia et al., 2021) trained on MNIST; class lengths only (no decoder)"
    ),
}


def resolve(path):
    """`path` itself, or the shipped file of the preset it names."""
    path = Path(path)
    if not path.exists() and str(path) in PRESETS:
        return HERE / f"{path}.keras"
    return path
