import numpy as np
import pytest
from keras import ops

import capsnet
from capsnet.errors import CapsNetInputError
from capsnet.model_files import atomic_save
from capsnet.training import compile_for_training, load_for_resume


class FailingModel:
    """Writes half a file, then fails, like a save killed half-way."""

    def save(self, path):
        with open(path, "wb") as f:
            f.write(b"PK half")
        raise OSError("disk full")


def test_failed_save_leaves_the_old_file_intact(tmp_path):
    target = tmp_path / "trained_model.keras"
    target.write_bytes(b"the previous good model")
    with pytest.raises(CapsNetInputError, match="keeps its previous files"):
        atomic_save(FailingModel(), target)
    assert target.read_bytes() == b"the previous good model"
    assert list(tmp_path.iterdir()) == [target]


@pytest.mark.slow  # trains
def test_optimizer_state_survives_a_round_trip(tmp_path, images, one_hot):
    models = capsnet.build_capsnet()
    compile_for_training(models.train)
    models.train.fit([images, one_hot], [one_hot, images], batch_size=4, epochs=1, verbose=0)
    atomic_save(models.train, tmp_path / "m.keras")
    reloaded = load_for_resume(tmp_path / "m.keras").train.optimizer
    original = models.train.optimizer
    assert int(reloaded.iterations) == int(original.iterations) == 2
    for a, b in zip(original.variables, reloaded.variables, strict=True):
        np.testing.assert_array_equal(ops.convert_to_numpy(a), ops.convert_to_numpy(b))
