"""The arithmetic count that bench reports, against a count by hand from the paper."""

import pytest

import capsnet
from capsnet import flops


def paper_forward_flops(routings=3):
    """Sabour et al.'s MNIST network, multiply-adds counted layer by layer (x2 for FLOPs)."""
    conv1 = 20 * 20 * 256 * (9 * 9 * 1)  # 28 -> 20, 256 filters of 9x9x1
    primary = 6 * 6 * 256 * (9 * 9 * 256)  # 20 -> 6 (stride 2), 32 x 8 = 256 channels of 9x9x256
    u_hat = 1152 * 10 * 16 * 8  # W_ij (16 x 8) for 1152 inputs x 10 classes
    weighted_sums = routings * 1152 * 10 * 16  # s_j = sum_i c_ij u_hat
    agreements = (routings - 1) * 1152 * 10 * 16  # u_hat . v_j, not after the last iteration
    decoder = 16 * 10 * 512 + 512 * 1024 + 1024 * 784
    return 2 * (conv1 + primary + u_hat + weighted_sums + agreements + decoder)


def test_forward_flops_of_the_paper_network():
    models = capsnet.build_capsnet()
    assert flops.forward_flops(models.train) == paper_forward_flops() == 406_405_120


def test_training_flops_are_about_1_2_gflop():
    models = capsnet.build_capsnet(routings=1)
    assert flops.forward_flops(models.train) == paper_forward_flops(routings=1)
    assert 1.1e9 < flops.training_flops(capsnet.build_capsnet().train) < 1.3e9


def test_matmul_peak_is_a_positive_rate():
    assert flops.matmul_peak("float32", size=256, repeats=2) > 0


def test_forward_flops_of_efficient_capsnet():
    """Mazzia et al.'s MNIST network, by hand: four convolutions, the depthwise
    primary capsules, one self-attention step and the decoder."""
    from capsnet.models.efficient_capsnet.model import build_efficient_capsnet

    convs = 24 * 24 * 32 * (5 * 5 * 1) + 22 * 22 * 64 * (3 * 3 * 32) + 20 * 20 * 64 * (3 * 3 * 64)
    convs += 9 * 9 * 128 * (3 * 3 * 64)  # 20 -> 9, stride 2
    primary = 128 * (9 * 9)  # one 9x9 filter per channel, one position
    u_hat = 16 * 10 * 16 * 8
    attention = 2 * 16 * 10 * 16  # agreement scores, then s_j
    decoder = 16 * 10 * 512 + 512 * 1024 + 1024 * 784
    expected = 2 * (convs + primary + u_hat + attention + decoder)
    assert flops.forward_flops(build_efficient_capsnet().train) == expected


def test_training_flops_as_computed_count_the_fourier_conv(fast_paths):
    """bench's GFLOP/s counts what the ops do: PrimaryCaps through the Fourier domain,
    by hand: 52 frequencies (one per conjugate pair of a 10x10 spectrum), 2x2 phases
    of 256 channels, 256 filters, batch 100."""
    from capsnet import fast_ops

    if not hasattr(fast_ops.get("primary_conv", None), "flops"):
        pytest.skip("no Fourier conv on this device")
    freqs, phases, filters = 52, 4 * 256, 256
    products = 4 * freqs * phases * filters
    transforms = 2 * freqs * (10 * 10 * phases + 2 * 6 * 6 * filters)  # input and output, per image
    transforms += 2 * freqs * 5 * 5 * phases * filters / 100  # the kernel's, once per batch
    fourier = 2 * (products + transforms) + 2 * (2 * products + transforms)
    direct = 2 * 6 * 6 * 256 * (9 * 9 * 256)
    model = capsnet.build_capsnet().train
    paper = flops.training_flops(model)
    assert flops.training_flops(model, as_computed=True, batch_size=100) == paper - 3 * direct + fourier
    assert fourier < 0.4 * 3 * direct  # about a third of the direct conv's forward and backward
    # One image a step: the kernel's transform is not worth it, so the direct conv runs.
    assert flops.training_flops(model, as_computed=True, batch_size=1) == paper
