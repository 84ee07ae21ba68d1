from __future__ import annotations


class StrataError(Exception):
    """An expected, user-fixable failure: one line on stderr, exit code 2."""


class NotARepositoryError(StrataError):
    pass


class UsageError(StrataError):
    pass
