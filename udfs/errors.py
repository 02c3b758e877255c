"""The one small error hierarchy every bizcase layer raises.

Messages read *where: what is wrong; expected X, got Y*, so a user can act on
them without a traceback.
"""


class BizcaseError(Exception):
    """Base class for every error bizcase raises on purpose."""


class InputError(BizcaseError, ValueError):
    """An argument is unusable: wrong type, wrong shape, out of range.

    Subclasses ``ValueError`` so callers that already catch that keep working.
    """


class DomainError(InputError):
    """Input outside the function's domain that Excel reports as #NUM! (for example a
    payment date before XNPV's first date), rather than as #VALUE!."""
