"""Domain errors; the API maps each kind to its HTTP status."""


class CrmError(Exception):
    """Base of every refusal the core makes; the message is meant for the user."""


class Invalid(CrmError):
    """The request is malformed or names something that does not fit (HTTP 422)."""


class NotFound(CrmError):
    """The named item, pipeline, stage, rule or employee does not exist for this tenant (HTTP 404)."""


class Conflict(CrmError):
    """The request is valid but the current state refuses it (HTTP 409)."""


class MoveRefused(Conflict):
    """The transition policy or an entry guard refused a stage move."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class StaleWrite(Conflict):
    """Someone else changed the record between our read and our conditional write."""


class AlreadyRecorded(Conflict):
    """This happening (an inbound message, by its id) is on record already: a redelivery, not news."""


class Unauthorized(CrmError):
    """The calling API key was revoked, though a cached authorization let it through (HTTP 401)."""


class Forbidden(CrmError):
    """The calling API key is valid but its scope or standing does not allow this (HTTP 403)."""


class Throttled(CrmError):
    """The store refuses work for the moment (throttled after the SDK's own retries): the same
    request a little later will do (HTTP 503 with Retry-After); an asynchronous event is retried."""


class TooLarge(CrmError):
    """The record would be larger than the store holds (DynamoDB's 400 KB item limit) (HTTP 413)."""
