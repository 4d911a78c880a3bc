"""`train --stem-blocks N --decoder-type deconv|dense`: the large-image parts of
a capsule model through the commands, saved in the model and refused where
they cannot apply."""

import json

import pytest

from capsnet.model_files import load_capsnet
from capsnet.models import family_of_model
from tests.helpers import assert_input_error, invoke

pytestmark = [pytest.mark.slow, pytest.mark.one_backend]  # training runs


def test_a_deconv_decoder_trains_tests_and_stays_on_resume(tmp_path, tiny_npz):
    run = tmp_path / "run"
    options = ["--data", tiny_npz, "--batch-size", "10", "--seed", "2", "--save-dir", run]
    result = invoke("train", "--decoder-type", "deconv", "--epochs", "1", *options)
    assert result.exit_code == 0, result.output
    recorded = json.loads((run / "run.json").read_text())["options"]
    assert (recorded["decoder_type"], recorded["stem_blocks"]) == ("deconv", 0)
    train = load_capsnet(run / "trained_model.keras").train
    assert family_of_model(train).architecture(train)["decoder_type"] == "deconv"
    tested = invoke("test", "--weights", run / "trained_model.keras", "--data", tiny_npz, "--save-dir", run)
    assert tested.exit_code == 0 and "test accuracy" in tested.output, tested.output

    changed = invoke("train", "--epochs", "2", "--resume", "--decoder-type", "dense", *options)
    assert_input_error(changed, "--decoder-type cannot change a saved model")


def test_a_stem_that_would_shrink_the_image_too_far_is_one_line(tmp_path, tiny_npz):
    result = invoke("train", "--stem-blocks", "1", "--data", tiny_npz, "--save-dir", tmp_path / "run")
    assert_input_error(result, "CapsNet needs images of at least 33x33 pixels")
    assert not (tmp_path / "run" / "checkpoint.keras").exists()


@pytest.mark.parametrize(
    "model, option, why",
    [
        ("efficient-capsnet", ["--stem-blocks", "1"], "--stem-blocks applies to --model capsnet only"),
        ("cnn-baseline", ["--decoder-type", "deconv"], "--decoder-type applies to --model capsnet"),
    ],
)
def test_families_without_the_part_refuse_it(model, option, why, tmp_path, tiny_npz):
    result = invoke("train", "--model", model, *option, "--data", tiny_npz, "--save-dir", tmp_path)
    assert_input_error(result, why)
