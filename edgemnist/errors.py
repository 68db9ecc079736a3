"""Errors a user can act on.

Library code raises these; the CLI prints the message as one red line and exits 1
(``EDGEMNIST_DEBUG=1`` shows the traceback). Messages say what went wrong *and* what to do.
"""

from __future__ import annotations


class EdgeMnistError(Exception):
    """Base class: an error with a message meant for the user."""


class DataError(EdgeMnistError):
    """The data set is missing, corrupt or does not match its checksum."""


class DownloadError(DataError):
    """No mirror could deliver a verified file."""


class ConfigError(EdgeMnistError):
    """A recipe, option or name is unknown or invalid."""


class CheckpointError(EdgeMnistError):
    """A checkpoint cannot be read or does not describe a known model."""


class ArtifactError(EdgeMnistError):
    """An ONNX model, engine or manifest is missing, corrupt or incompatible."""


class BackendUnavailable(EdgeMnistError):
    """A runtime (torch, onnxruntime, tensorrt, trtexec, CUDA) is not usable here."""


class InputError(EdgeMnistError):
    """Input to a runner has the wrong shape or dtype, or an image cannot be read."""


class GateError(EdgeMnistError):
    """An artifact failed the accuracy gate (use --force to keep it anyway)."""


class DependencyMissing(BackendUnavailable):
    """An optional Python package is not installed."""

    def __init__(self, package: str, extra: str | None = None, purpose: str = "") -> None:
        hint = f"pip install 'edgemnist[{extra}]'" if extra else f"pip install {package}"
        what = f" (needed for {purpose})" if purpose else ""
        super().__init__(f"{package} is not installed{what}: {hint}")
        self.package = package
