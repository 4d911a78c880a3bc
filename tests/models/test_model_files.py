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


def test_start_from_refuses_a_model_with_other_classes():
    from capsnet.errors import CapsNetInputError
    from capsnet.model_files import start_from
    from capsnet.models import get_family

    efficient_capsnet = get_family("efficient-capsnet")

    ten = efficient_capsnet.build((28, 28, 1), 10)
    five = efficient_capsnet.build((28, 28, 1), 5)
    with pytest.raises(CapsNetInputError, match="digitcaps"):
        start_from(efficient_capsnet.classifier_only(ten), five)


def test_start_from_copies_the_capsule_layers_and_keeps_the_new_decoder():
    from capsnet.model_files import start_from
    from capsnet.models import get_family

    efficient_capsnet = get_family("efficient-capsnet")

    trained, new = (
        efficient_capsnet.build((28, 28, 1), 10, seed=1),
        efficient_capsnet.build((28, 28, 1), 10, seed=2),
    )
    decoder_before = [w.copy() for w in new.train.get_layer("decoder").get_weights()]
    start_from(efficient_capsnet.classifier_only(trained), new)
    for name in ("backbone", "primarycaps", "digitcaps"):
        for got, want in zip(
            new.train.get_layer(name).get_weights(), trained.train.get_layer(name).get_weights(), strict=True
        ):
            np.testing.assert_array_equal(got, want)
    for got, want in zip(new.train.get_layer("decoder").get_weights(), decoder_before, strict=True):
        np.testing.assert_array_equal(got, want)
