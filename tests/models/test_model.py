import keras
import numpy as np
import pytest
from keras import ops

import capsnet


def test_paper_parameter_counts(capsnet_models):
    assert capsnet_models.train.count_params() == 8_215_568
    assert capsnet.build_capsnet(decoder=False).train.count_params() == 6_804_224
    layer_params = {
        layer.name: layer.count_params() for layer in capsnet_models.train.layers if layer.weights
    }
    assert layer_params == {
        "conv1": 20_992,
        "primarycaps": 5_308_672,
        "digitcaps": 1_474_560,
        "decoder": 1_411_344,
    }


def test_views_share_weights(capsnet_models):
    train, evaluate, manipulate = capsnet_models
    assert {id(w) for w in evaluate.weights} == {id(w) for w in train.weights}
    assert {id(w) for w in manipulate.weights} == {id(w) for w in train.weights}


@pytest.mark.parametrize("batch", [1, 7])
def test_output_shapes(capsnet_models, images, one_hot, batch):
    x, y = images[:batch], one_hot[:batch]
    lengths, recon = capsnet_models.train([x, y])
    assert tuple(lengths.shape) == (batch, 10) and tuple(recon.shape) == (batch, 28, 28, 1)
    lengths, recon = capsnet_models.evaluate(x)
    assert tuple(lengths.shape) == (batch, 10) and tuple(recon.shape) == (batch, 28, 28, 1)
    noise = np.zeros((batch, 10, 16), dtype="float32")
    assert tuple(capsnet_models.manipulate([x, y, noise]).shape) == (batch, 28, 28, 1)


def test_last_partial_batch(capsnet_models, images):
    lengths, _ = capsnet_models.evaluate.predict(images, batch_size=4, verbose=0)
    assert lengths.shape == (7, 10)


def test_colour_five_class_variant(rng):
    models = capsnet.build_capsnet(input_shape=(32, 32, 3), num_classes=5, routings=2)
    x = rng.random((3, 32, 32, 3), dtype=np.float32)
    y = np.eye(5, dtype="float32")[[0, 4, 2]]
    lengths, recon = models.train([x, y])
    assert tuple(lengths.shape) == (3, 5) and tuple(recon.shape) == (3, 32, 32, 3)
    # 32x32 -> conv 24x24 -> primary 8x8x32 = 2048 capsules
    assert models.train.get_layer("digitcaps").kernel.shape == (2048, 5, 16, 8)


def test_manipulation_with_zero_noise_equals_label_masked_reconstruction(capsnet_models, images, one_hot):
    noise = np.zeros((7, 10, 16), dtype="float32")
    _, recon = capsnet_models.train([images, one_hot])
    np.testing.assert_allclose(
        ops.convert_to_numpy(capsnet_models.manipulate([images, one_hot, noise])),
        ops.convert_to_numpy(recon),
        atol=1e-6,
    )


def test_training_loss_adds_reconstruction_term(capsnet_models, images, one_hot):
    from tests.reference import margin_loss

    train = capsnet_models.train
    train.compile(optimizer="adam", loss=[capsnet.margin_loss, None])
    loss = train.evaluate([images, one_hot], [one_hot, images], verbose=0, return_dict=True)
    lengths, recon = (ops.convert_to_numpy(t) for t in train([images, one_hot]))
    expected = margin_loss(one_hot, lengths) + 0.392 * np.mean((images - recon) ** 2)
    np.testing.assert_allclose(loss["loss"], expected, rtol=1e-4)


@pytest.mark.slow  # trains
def test_keras_file_round_trip(tmp_path, capsnet_models, images, one_hot):
    train = capsnet_models.train
    train.compile(optimizer="adam", loss=[capsnet.margin_loss, None])
    train.fit([images, one_hot], [one_hot, images], epochs=1, batch_size=4, verbose=0)
    path = tmp_path / "model.keras"
    train.save(path)
    reloaded = keras.saving.load_model(path)
    before = capsnet_models.evaluate.predict(images, verbose=0)
    after = capsnet.views_of(reloaded).evaluate.predict(images, verbose=0)
    for b, a in zip(before, after, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-6)
    eval_path = tmp_path / "eval.keras"
    capsnet_models.evaluate.save(eval_path)
    direct = keras.saving.load_model(eval_path).predict(images, verbose=0)
    np.testing.assert_allclose(direct[0], before[0], atol=1e-6)


@pytest.mark.slow  # trains
def test_a_few_steps_on_real_digits_start_learning(fast_paths):
    """A guard against anything that stalls training from the start (an
    epsilon floor under the capsule lengths did: the margin loss stayed at
    0.81 with Glorot W). Glorot W, whose class capsules start tiny, is the
    harder start; the default initialiser trains in every CLI test."""
    digit_initializer = "glorot_uniform"
    from capsnet.data import load, one_hot
    from capsnet.data.batches import as_float
    from capsnet.training import compile_for_training

    keras.utils.set_random_seed(0)
    sample = load("sample")
    models = capsnet.build_capsnet(shift_pixels=0, digit_initializer=digit_initializer)
    compile_for_training(models.train)
    x, y = as_float(sample.x_train[:32]), one_hot(sample.y_train[:32], 10)
    for _ in range(12):
        models.train.train_on_batch([x, y], [y, x])
    lengths, _ = models.evaluate(x)
    assert float(ops.mean(capsnet.margin_loss(y, lengths))) < 0.6


def test_old_argument_names_still_work_with_a_warning():
    with pytest.warns(DeprecationWarning, match="num_classes"):
        models = capsnet.build_capsnet(n_class=3, digit_dim=4, decoder=False)
    assert tuple(models.evaluate.outputs[0].shape) == (None, 3)
    with pytest.raises(TypeError, match="colour"):
        capsnet.build_capsnet(colour=True)


def test_primary_capsule_reads_configs_saved_with_the_old_name():
    layer = capsnet.PrimaryCapsule.from_config({"n_channels": 4, "dim_capsule": 8, "name": "p"})
    assert layer.num_channels == 4
