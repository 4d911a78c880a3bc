"""Errors caused by what the user supplied (a file, a shape, an option).

The command line prints these as one line and exits with code 2; the message
names the problem and how to fix it.
"""


class CapsNetInputError(ValueError):
    """Bad input: a missing or unreadable file, a wrong shape, an unknown name.

    A `ValueError`, so that Python callers can catch it as one.
    """
