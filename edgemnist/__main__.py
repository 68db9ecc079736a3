from edgemnist.cli.main import _console_script

_console_script()
