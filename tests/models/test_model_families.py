"""The model-family registry: families found by name, by saved file and by preset."""

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import keras
import numpy as np
import pytest

import capsnet
from capsnet import models
from capsnet.commands.train import settle_options
from capsnet.errors import CapsNetInputError
from capsnet.model_files import atomic_save, load_capsnet, read_config
from capsnet.models.registry import ModelFamily, TrainingRecipe, register_family

ROOT = Path(__file__).resolve().parents[2]
SMALL = (17, 17, 1)


def test_the_families_are_registered_with_their_papers_recipes():
    assert models.family_names() == ("capsnet", "efficient-capsnet", "cnn-baseline")
    capsnet_recipe = models.get_family("capsnet").recipe
    efficient_recipe = models.get_family("efficient-capsnet").recipe
    assert (capsnet_recipe.epochs, capsnet_recipe.batch_size, capsnet_recipe.lr, capsnet_recipe.lr_decay) == (
        50,
        100,
        1e-3,
        0.9,
    )
    # EscVM/Efficient-CapsNet config.json: Adam 5e-4 x 0.97 per epoch, batch 16, 150 epochs.
    assert (efficient_recipe.epochs, efficient_recipe.batch_size, efficient_recipe.lr) == (150, 16, 5e-4)
    assert efficient_recipe.lr_decay == 0.97


def test_unknown_family_is_an_input_error_that_lists_the_names():
    with pytest.raises(CapsNetInputError, match="capsnet, efficient-capsnet, cnn-baseline"):
        models.get_family("capsnet-v3")


def test_a_name_registers_once():
    family = models.get_family("capsnet")
    with pytest.raises(ValueError, match="already registered"):
        register_family(family)
    twin = ModelFamily(
        "twin",
        "a family that ships a preset of another's name",
        family.module,
        TrainingRecipe(1, 1, 1e-3, 1.0, "test"),
        presets={"efficient-capsnet-mnist": "clash"},
    )
    with pytest.raises(ValueError, match="efficient-capsnet-mnist"):
        register_family(twin)
    assert "twin" not in models.family_names()


@pytest.mark.parametrize("name", ["capsnet", "efficient-capsnet", "cnn-baseline"])
def test_a_saved_model_names_its_family(name, tmp_path):
    built = models.build(name, SMALL, 3)
    atomic_save(built.train, tmp_path / "model.keras")
    config = json.dumps(read_config(tmp_path / "model.keras"))
    assert f'"model_family": "{name}"' in config
    assert models.family_of_file(tmp_path / "model.keras").name == name
    assert models.family_of_model(load_capsnet(tmp_path / "model.keras").evaluate).name == name


def _as_saved_by_0_1_x(path):
    """Rewrite a .keras file's config the way capsnet 0.1.x wrote it: no family, `max_shift`."""
    with zipfile.ZipFile(path) as archive:
        entries = {name: archive.read(name) for name in archive.namelist()}
    text = entries["config.json"].decode()
    config = json.loads(text)
    for layer in config["config"]["layers"]:
        layer["config"].pop("model_family", None)
        if "shift_pixels" in layer["config"]:
            layer["config"]["max_shift"] = layer["config"].pop("shift_pixels")
    entries["config.json"] = json.dumps(config).encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)


@pytest.mark.parametrize("name", ["capsnet", "efficient-capsnet"])
def test_files_saved_by_0_1_x_are_recognised_by_their_layout(name, tmp_path):
    built = models.build(name, SMALL, 3, shift_pixels=1)
    path = tmp_path / "old.keras"
    atomic_save(built.train, path)
    _as_saved_by_0_1_x(path)
    assert "model_family" not in json.dumps(read_config(path))
    assert models.family_of_file(path).name == name
    loaded = load_capsnet(path)
    assert models.get_family(name).architecture(loaded.train)["shift_pixels"] == 1
    x = np.random.default_rng(0).random((2, *SMALL), dtype="float32")
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(loaded.evaluate(x)[0]),
        keras.ops.convert_to_numpy(built.evaluate(x)[0]),
        rtol=1e-6,
        atol=1e-7,
    )


def test_the_shipped_preset_is_found_by_name_and_by_layout():
    assert models.family_of_preset("efficient-capsnet-mnist").name == "efficient-capsnet"
    path = models.resolve_preset("efficient-capsnet-mnist")
    assert path.is_file() and path.parent.name == "presets"
    assert models.family_of_file("efficient-capsnet-mnist").name == "efficient-capsnet"


def test_a_keras_model_of_no_family_is_refused(tmp_path):
    other = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    other.save(tmp_path / "dense.keras")
    assert models.family_of_file(tmp_path / "dense.keras") is None
    with pytest.raises(CapsNetInputError, match="weights=PATH"):
        load_capsnet(tmp_path / "dense.keras")


def test_views_and_classifier_of_any_family():
    built = models.build("efficient-capsnet", (11, 11, 1), 2)
    views = capsnet.views_of(built.train)
    assert views.manipulate is not None
    classifier = models.classifier_only(built)
    assert classifier.manipulate is None
    assert "random_shift" not in [layer.name for layer in classifier.train.layers]


def _cli_options(**changes):
    options = {
        "model": "capsnet",
        "epochs": None,
        "batch_size": None,
        "lr": None,
        "lr_decay": None,
        "lam_recon": 0.392,
        "routings": 3,
        "shift_pixels": 2,
        "save_dir": Path("result"),
        "weights": None,
        "resume": False,
    }
    return {**options, **changes}


def test_train_takes_its_defaults_from_the_familys_recipe():
    config = settle_options(_cli_options(model="efficient-capsnet"), given={"model"})
    assert (config.epochs, config.batch_size, config.lr, config.lr_decay) == (150, 16, 5e-4, 0.97)
    config = settle_options(_cli_options(epochs=3), given={"epochs"})
    assert (config.epochs, config.batch_size, config.lr, config.lr_decay) == (3, 100, 1e-3, 0.9)


def test_shared_class_capsules_default_to_the_learning_rate_they_train_at():
    # docs/large-images.md: at the recipe's 1e-3 the shared class capsules collapse
    config = settle_options(_cli_options(class_capsules="shared"), given={"class_capsules"})
    assert (config.lr, config.epochs, config.lr_decay) == (1e-4, 50, 0.9)
    given = settle_options(_cli_options(class_capsules="shared", lr=3e-4), given={"class_capsules", "lr"})
    assert given.lr == 3e-4
    assert settle_options(_cli_options(class_capsules="per-capsule"), given=set()).lr == 1e-3


def test_train_refuses_an_option_the_family_has_no_use_for():
    with pytest.raises(CapsNetInputError, match="--routings applies to --model capsnet only"):
        settle_options(_cli_options(model="efficient-capsnet"), given={"model", "routings"})


def test_train_from_a_saved_file_trains_that_files_family(tmp_path):
    config = settle_options(_cli_options(weights=Path("efficient-capsnet-mnist")), given={"weights"})
    assert config.model == "efficient-capsnet" and config.batch_size == 16
    with pytest.raises(CapsNetInputError, match="--model cannot change a saved model"):
        settle_options(_cli_options(weights=Path("efficient-capsnet-mnist")), given={"weights", "model"})


def test_the_registry_imports_without_keras():
    code = "import sys, capsnet.models; print('keras' in sys.modules, capsnet.models.family_names())"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    expected = "False ('capsnet', 'efficient-capsnet', 'cnn-baseline')"
    assert done.stdout.strip() == expected, done.stderr[-2000:]
