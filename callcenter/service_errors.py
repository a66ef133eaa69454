"""Errors of the speech services' clients and wire format (a leaf: engines and servers share it)."""

from __future__ import annotations


class RemoteServiceError(RuntimeError):
    """A speech service could not be reached or refused a request; says which and why."""


class WireError(ValueError):
    """A malformed request or message; the text says what was expected."""
