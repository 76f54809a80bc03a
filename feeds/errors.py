"""Errors raised by `feeds`.

    FeedsError
    ├── FetchError
    │   ├── FetchTimeoutError
    │   ├── TooLargeError
    │   ├── TooManyRedirectsError
    │   ├── RefusedAddressError      (SSRF guard)
    │   ├── HTTPStatusError
    │   ├── TLSError
    │   ├── ConnectError
    │   └── InvalidURLError          (not an http(s) URL)
    └── ParseError
        ├── FormatNotDetectedError   (no adapter reads it: unknown, empty, or an upstream's error body)
        ├── InvalidDocumentError     (not what the adapter reads, an error body, or past its Limits)
        ├── ParseTimeoutError        (parsing ran past its time budget)
        └── ParseTooLargeError       (parsing needed more memory than allowed)

Every error carries the `url` it concerns (when known) and a stable machine `kind`, which the service uses
as the problem+json `type` and as a source's `last_error.kind`. Messages are for humans: they say what
happened and, where possible, what to do. They never show a URL's credentials (`user:***@`): a message
goes to logs, API responses and the source's health. `url` keeps the URL as given.
"""

from __future__ import annotations

from feeds.urls import redact_credentials


class FeedsError(Exception):
    kind = "feeds"

    def __init__(self, message: str, *, url: str | None = None) -> None:
        message = redact_credentials(message)
        super().__init__(message)
        self.message = message
        self.url = url


class FetchError(FeedsError):
    kind = "fetch"


class FetchTimeoutError(FetchError):
    kind = "fetch.timeout"


class TooLargeError(FetchError):
    kind = "fetch.too_large"


class TooManyRedirectsError(FetchError):
    kind = "fetch.too_many_redirects"


class RefusedAddressError(FetchError):
    kind = "fetch.refused_address"


class HTTPStatusError(FetchError):
    kind = "fetch.http_status"

    def __init__(
        self, message: str, *, url: str | None = None, status: int, retry_after: float | None = None
    ) -> None:
        super().__init__(message, url=url)
        self.status = status
        self.retry_after = retry_after


class TLSError(FetchError):
    kind = "fetch.tls"


class ConnectError(FetchError):
    kind = "fetch.connect"


class InvalidURLError(FetchError):
    kind = "fetch.invalid_url"


class ParseError(FeedsError):
    kind = "parse"


class FormatNotDetectedError(ParseError):
    kind = "parse.format_not_detected"


class InvalidDocumentError(ParseError):
    kind = "parse.invalid"


class ParseTimeoutError(ParseError):
    kind = "parse.timeout"


class ParseTooLargeError(ParseError):
    kind = "parse.too_large"
