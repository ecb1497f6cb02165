"""Exceptions whose message is meant for the user, not a traceback."""


class VirNucProError(Exception):
    """Base class: the message says what is wrong and what to do about it."""


class InputError(VirNucProError):
    """Bad user input (FASTA, sample sheet, manifest)."""


class ModelMismatchError(VirNucProError):
    """Artifacts from different models, widths or chunk lengths were about to be combined."""


class ModelMissingError(VirNucProError):
    """Weights for a registry model are not on disk (and the hub must not be contacted)."""


class EnvironmentCheckError(VirNucProError):
    """The software or hardware environment misses a requirement."""
