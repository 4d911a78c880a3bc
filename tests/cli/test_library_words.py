"""The library's errors name its arguments (`weights=PATH`); the command line
turns them into its options (`--weights PATH`)."""

import ast
import re
from pathlib import Path

import pytest

from capsnet import training
from capsnet.cli import in_option_words
from capsnet.errors import CapsNetInputError
from capsnet.model_files import load_capsnet
from capsnet.save_dir import check_writable

PACKAGE = Path(__file__).resolve().parents[2] / "capsnet"
# The command line and its commands speak in options; everything else is the library.
COMMAND_LINE = {PACKAGE / "cli.py", *PACKAGE.joinpath("commands").glob("*.py")}
OPTION = re.compile(r"(?<![\w-])--[a-z]")


def _message(call, *args):
    with pytest.raises(CapsNetInputError) as caught:
        call(*args)
    return str(caught.value)


def test_a_missing_model_file_names_the_argument(tmp_path):
    message = _message(load_capsnet, tmp_path / "nope.keras")
    assert "weights=PATH" in message and not OPTION.search(message)
    assert "pass --weights PATH to a .keras file" in in_option_words(message)


def test_nothing_to_resume_names_the_arguments(tmp_path):
    message = _message(training.read_checkpoint_state, tmp_path)
    assert "resume=True" in message and "save_dir=DIR" in message and not OPTION.search(message)
    assert "without --resume (or pass the --save-dir DIR" in in_option_words(message)


def test_an_unwritable_save_folder_names_the_argument(tmp_path):
    (tmp_path / "file").write_text("")
    message = _message(check_writable, tmp_path / "file")
    assert message.startswith("save_dir=") and not OPTION.search(message)
    assert in_option_words(message).startswith(f"--save-dir {tmp_path / 'file'} is a file")


def test_no_library_error_names_a_command_line_option():
    """Every string raised outside the command line's modules is in library words."""
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path in COMMAND_LINE:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Raise):
                for text in ast.walk(node):
                    if (
                        isinstance(text, ast.Constant)
                        and isinstance(text.value, str)
                        and OPTION.search(text.value)
                    ):
                        offenders.append(f"{path.relative_to(PACKAGE)}:{text.lineno}: {text.value}")
    assert not offenders, offenders
