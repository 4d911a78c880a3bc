"""Running the CLI in-process and checking its one-line errors."""

import keras
from click.testing import CliRunner

from capsnet.cli import cli


def invoke(*args):
    """Run `cli.py --backend <active> ARGS` in this process."""
    return CliRunner().invoke(cli, ["--backend", keras.backend.backend(), *map(str, args)])


def assert_input_error(result, *fragments):
    """Exit code 2, no traceback, and one 'Error:' line containing `fragments`."""
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("Error:")]
    assert len(errors) == 1, result.output
    for fragment in fragments:
        assert fragment in errors[0], errors[0]
    return errors[0]
