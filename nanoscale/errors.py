"""Expected failures: each carries a one-line message that says what is wrong and how to fix it.

The CLI prints these without a traceback; anything else is a bug and keeps its traceback.
"""


class NanoscaleError(Exception):
    """Base for failures a user can act on."""


class ModelNotAvailable(NanoscaleError):
    """A model preset, path or package is missing, or needs the network while offline."""


class ChecksumMismatch(NanoscaleError):
    """An assembled model file does not match its pinned size or SHA-256."""


class KnowledgeBaseError(NanoscaleError):
    """A knowledge-base index is missing, truncated or built with another embedding model."""


class InputError(NanoscaleError):
    """User input that cannot be processed (empty, too large, binary, malformed)."""
