"""`capsnet train --data-on-device/--data-on-host`: where the batches are cut is
recorded in run.json (on the host by default on a CPU), and a request that
cannot hold is refused in one line."""

import json

import keras
import pytest

from capsnet import data
from capsnet.commands import train
from capsnet.commands.configs import TrainConfig
from capsnet.errors import CapsNetInputError
from capsnet.training import OneProcess
from tests.helpers import assert_input_error, invoke

pytestmark = pytest.mark.one_backend("tensorflow")  # the home by hand, to even out the suites

RUN = ("--batch-size", "10", "--epochs", "1", "--seed", "2", "--subset", "20")


def _recorded(folder):
    return json.loads((folder / "run.json").read_text())


@pytest.mark.slow  # training runs
def test_run_json_records_where_the_batches_were_cut(tmp_path, tiny_npz):
    for option, expected in ((None, False), ("--data-on-device", True)):
        folder = tmp_path / str(option)
        extra = () if option is None else (option,)
        result = invoke("train", "--data", tiny_npz, *RUN, *extra, "--save-dir", folder)
        assert result.exit_code == 0, result.output
        assert _recorded(folder)["data_on_device"] is expected  # this CPU is no GPU: host by default
        assert _recorded(folder)["options"]["data_on_device"] is (None if option is None else True)


class _Plugin:
    def __init__(self, gpu):
        self.gpu = gpu

    def on_gpu(self):
        return self.gpu


@pytest.mark.parametrize(
    ("asked", "gpu", "limit", "expected"),
    [
        (None, True, 10**9, True),  # a GPU, and the data fit
        (None, True, 100, False),  # a GPU, but the data are larger than the limit
        (None, False, 10**9, False),  # no GPU
        (True, False, 100, True),  # asked: whatever the size
        (False, True, 10**9, False),
    ],
)
def test_the_default_holds_data_that_fit_on_a_gpu(monkeypatch, tiny_npz, asked, gpu, limit, expected):
    monkeypatch.setattr(train.device_examples, "AUTO_LIMIT_BYTES", limit)
    config = TrainConfig(data=tiny_npz, data_on_device=asked)
    stored = data.load("mnist", path=tiny_npz)
    assert train._data_on_device(config, _Plugin(gpu), stored, OneProcess()) is expected


def test_data_drawn_each_epoch_stays_on_the_host(tiny_npz):
    pairs = data.load("multimnist", path=tiny_npz, generated={"epoch_size": 10, "test_size": 10})
    config = TrainConfig(dataset="multimnist", data=tiny_npz, data_on_device=True)
    assert train._data_on_device(config, _Plugin(True), pairs, OneProcess()) is False


def test_data_on_device_is_refused_with_distribute(tiny_npz):
    config = TrainConfig(data=tiny_npz, distribute="data-parallel", data_on_device=True)
    stored = data.load("mnist", path=tiny_npz)
    with pytest.raises(CapsNetInputError, match="--data-on-device.*--distribute"):
        train._data_on_device(config, _Plugin(True), stored, OneProcess())


def test_several_replicas_cannot_share_one_devices_data(tmp_path, tiny_npz):
    if keras.backend.backend() == "torch":
        # Its --distribute asks for torchrun first; the rule itself: the test above.
        pytest.skip("torch's --distribute runs under torchrun")
    result = invoke(
        "train", "--data", tiny_npz, *RUN, "--distribute", "data-parallel", "--data-on-device",
        "--save-dir", tmp_path / "run",
    )  # fmt: skip
    assert_input_error(result, "--data-on-device", "--distribute")
    assert not (tmp_path / "run").exists()
