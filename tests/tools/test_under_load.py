"""tools/under_load.py: its own checks (the measurement itself is a docs run)."""

import numpy as np
from PIL import Image

from tools import under_load


def test_refuses_too_few_images(tmp_path, capsys):
    assert under_load.main(["--images", "5", "--out", str(tmp_path)]) == 2
    assert capsys.readouterr().err.startswith("Error: --images must be >= 10")


def test_writes_the_sample_digits_a_thousand_to_a_folder(tmp_path):
    under_load.write_pictures(tmp_path, 1002)
    files = sorted(tmp_path.rglob("*.png"))
    assert len(files) == 1002 and {f.parent.name for f in files} == {"part-000", "part-001"}
    with Image.open(files[0]) as image:
        assert image.size == (28, 28) and np.asarray(image).max() > 0
