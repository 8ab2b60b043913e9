"""The one error a user's mistake with models raises: the message is the whole story."""


class ModelError(ValueError):
    """A model spec, dataset or request the platform cannot follow; the message says how to fix it."""
