"""Errors that the CLI reports as one line (``error: ...``) with a non-zero exit code."""


class PocketsrError(Exception):
    """Base of every expected failure: bad input, bad weights, failed gate. One-line message."""

    exit_code = 2


class WeightsError(PocketsrError):
    """Weights missing, unreadable, corrupted, mismatched hash or of another architecture."""


class InputError(PocketsrError):
    """A user-supplied file, directory or option value cannot be used."""


class ArtifactError(PocketsrError):
    """An artifact or its manifest is missing, unreadable or inconsistent."""


class GateError(PocketsrError):
    """An artifact was built but failed its parity/quality thresholds."""

    exit_code = 3


class Interrupted(PocketsrError):
    """Ctrl-C (SIGINT). The message says what the interrupted run kept on disk."""

    exit_code = 130
