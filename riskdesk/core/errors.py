"""Domain errors: raised by services, rendered by the API as the shared error shape."""

from __future__ import annotations


class DomainError(Exception):
    """A rule refused an action; `status` is the HTTP status the API answers with."""

    status = 422

    def __init__(self, code: str, message: str, *, field: str | None = None, **extra: object) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
        self.extra = extra

    @property
    def fields(self) -> dict[str, list[str]]:
        return {self.field: [self.message]} if self.field else {}


class Conflict(DomainError):
    status = 409


class NotFound(DomainError):
    status = 404


class NotPermitted(DomainError):
    """The actor's role may not take this action: a service's own check, beside the views'."""

    status = 403
