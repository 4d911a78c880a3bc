"""Experiment: Efficient-CapsNet with 144 primary capsules (a 7x7 depthwise kernel
at stride 3 on MultiMNIST's 13x13 grid), started from a trained model's backbone
and decoder; its primary and class capsules start fresh.

    python warm_start.py SOURCE.keras TARGET.keras

(The run in this folder built the same layers by replacing the family's
DepthwisePrimaryCapsule, before `primary_kernel_size` existed.)
"""

import sys

import keras

from capsnet.model_files import atomic_save, load_capsnet
from capsnet.models.capsule_views import classes_layer
from capsnet.models.efficient_capsnet.model import build_efficient_capsnet

source, target = sys.argv[1:3]
trained = load_capsnet(source)
new = build_efficient_capsnet(
    (36, 36, 1), 10, shift_pixels=0, digits_per_image=2, seed=7, primary_kernel_size=7, primary_strides=3
)
for name in ("backbone", "decoder"):
    new.train.get_layer(name).set_weights(trained.train.get_layer(name).get_weights())
classes_layer(new.train).class_names = classes_layer(trained.train).class_names
sizes = {layer.name: sum(int(keras.ops.size(w)) for w in layer.weights) for layer in new.train.layers}
print({name: size for name, size in sizes.items() if size})
atomic_save(new.train, target, optimizer=False)
