"""Experiment: Efficient-CapsNet with its authors' MultiMNIST backbone strides
(convolutions 3 and 4 at stride 2), through the unchanged command line."""

import sys

import capsnet.models.efficient_capsnet.model as family

family.BACKBONE = ((32, 5, 1), (64, 3, 1), (64, 3, 2), (128, 3, 2))
from capsnet.cli import main  # noqa: E402

sys.argv = ["capsnet", *sys.argv[1:]]
main()
