"""Run-level failures. A per-address outcome is a Result, never an exception."""


class ListcleanError(Exception):
    """A run-level failure with a message written for the user (one or two lines)."""

    exit_code = 1


class InputError(ListcleanError):
    """The input cannot be read as a list: missing file, bad encoding, malformed CSV."""


class OutputError(ListcleanError):
    """The output cannot be written: directory missing, disk full, permission denied."""


class ConfigError(ListcleanError):
    """A flag or setting is invalid in a way the parser could not catch."""

    exit_code = 2
