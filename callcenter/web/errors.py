"""Errors the console operations raise; pages show them, the API maps them to statuses."""

from __future__ import annotations


class OperationError(Exception):
    status_code = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Invalid(OperationError):
    status_code = 422


class NotFound(OperationError):
    status_code = 404


class Conflict(OperationError):
    status_code = 409
