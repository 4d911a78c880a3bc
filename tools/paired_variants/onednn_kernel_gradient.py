"""Variant for tools.paired_bench: the torch PrimaryCaps conv as before this
round, oneDNN computing both gradients (no `kernel_gradient`)."""

import keras
import torch

from capsnet import fast_ops


def channels_last_view_conv(inputs, kernel, strides):
    inputs, kernel = keras.ops.convert_to_tensor(inputs), keras.ops.convert_to_tensor(kernel)
    nchw, oihw = inputs.permute(0, 3, 1, 2), kernel.permute(3, 2, 0, 1)
    return torch.nn.functional.conv2d(nchw, oihw, stride=strides).permute(0, 2, 3, 1)


fast_ops.register("primary_conv", channels_last_view_conv)
