"""The one error every dataset operation raises for bad input, so callers catch a single type."""

from __future__ import annotations


class DatasetError(ValueError):
    """A request that cannot be done as asked; the message says what was wrong and how to fix it.

    The CLI prints the message as its one line; nothing has been changed when it is raised.
    """
