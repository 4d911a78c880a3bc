"""The installed distribution claims one top-level name, `capsnet`."""

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.one_backend]  # subprocesses or training runs

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("pyproject.toml", "README.md", "cli.py", "capsnet", "backends")


def test_wheel_installs_only_the_capsnet_package(tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    for name in SOURCES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, project / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, project / name)
    build = "import sys, setuptools.build_meta as b; print(b.build_wheel(sys.argv[1]))"
    done = subprocess.run(
        [sys.executable, "-c", build, str(tmp_path)], cwd=project, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-2000:]
    wheel = tmp_path / done.stdout.strip().splitlines()[-1]
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        entry_points = archive.read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
    top_level = {name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")}
    assert top_level == {"capsnet"}
    for module in (
        "capsnet/cli.py",
        "capsnet/__main__.py",
        "capsnet/backends/__init__.py",
        "capsnet/backends/torch_plugin.py",
        "capsnet/sample_data/mnist_sample.npz",
        "capsnet/models/efficient_capsnet/presets/efficient-capsnet-mnist.keras",
        "capsnet/models/capsnet/model.py",
    ):
        assert module in names, module
    assert "capsnet = capsnet.cli:main" in entry_points


def _fresh_python(code):
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip()


def test_importing_capsnet_leaves_the_backend_unchosen():
    """The command line must pick the backend before Keras is imported."""
    assert _fresh_python("import sys, capsnet, capsnet.cli; print('keras' in sys.modules)") == "False"


def test_importing_capsnet_after_keras_registers_the_layers():
    code = (
        "import keras, capsnet; print(keras.saving.get_registered_object('capsnet>CapsuleLayer') is not None)"
    )
    assert _fresh_python(code) == "True"


def test_a_checkout_that_is_not_installed_imports_only_the_package_and_its_backends(tmp_path):
    """`python cli.py` from a bare copy of the sources: ../backends serves as
    capsnet.backends, and no other top-level folder becomes part of capsnet."""
    project = tmp_path / "checkout"
    for name in ("capsnet", "backends", "tests", "checks"):
        shutil.copytree(ROOT / name, project / name, ignore=shutil.ignore_patterns("__pycache__"))
    code = (
        "import importlib, capsnet, capsnet.backends\n"
        "print(capsnet.backends.__file__.endswith('backends/__init__.py'), capsnet.__file__)\n"
        "for name in ('capsnet.tests', 'capsnet.checks'):\n"
        "    try:\n"
        "        importlib.import_module(name)\n"
        "        print(name, 'imported')\n"
        "    except ModuleNotFoundError:\n"
        "        pass\n"
    )
    # -S: without site-packages, so an installed (or editable) capsnet cannot answer.
    done = subprocess.run([sys.executable, "-S", "-c", code], cwd=project, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    first, *rest = done.stdout.strip().splitlines()
    assert first == f"True {project / 'capsnet' / '__init__.py'}"
    assert rest == []
