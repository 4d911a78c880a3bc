"""Run cli.py with TensorFlow seeing two logical CPU devices (for tests)."""

import sys
from pathlib import Path

import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import cli  # noqa: E402

cli.main()
