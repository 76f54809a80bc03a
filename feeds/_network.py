"""What feeds' connections share, in (fetches) and out (webhook deliveries): the policy that bounds them,
the SSRF-guarded network, the check of a URL before it is requested, errors below HTTP said in words, and
Retry-After read as seconds."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from importlib.metadata import version

import httpcore
import httpx

from feeds.errors import (
    ConnectError,
    FetchError,
    FetchTimeoutError,
    InvalidURLError,
    RefusedAddressError,
    TLSError,
)
from feeds.ssrf import GuardedNetworkBackend, IPNetwork
from feeds.urls import ascii_host, ascii_url

__all__ = [
    "FetchPolicy",
    "checked_url",
    "deadline_error",
    "fetch_errors",
    "network_backend",
    "retry_after_seconds",
]

_PRODUCT = f"liveblog-timeline/{version('liveblog-timeline')}"


@dataclass(frozen=True, slots=True)
class FetchPolicy:
    """Limits and manners for upstream requests; the defaults bound what one hostile upstream can cost."""

    connect_timeout: float = 5.0
    total_timeout: float = 20.0  # the whole request, a slowly dripping body included
    max_bytes: int = 10 * 1024 * 1024  # counted after decompression
    max_redirects: int = 5
    contact_url: str = "https://github.com/liveblog-timeline/liveblog-timeline"
    allow_private: bool = False  # turns the SSRF guard off (local test upstreams)
    allowed_networks: tuple[IPNetwork, ...] = ()  # non-public networks allowed anyway, e.g. an intranet

    @property
    def user_agent(self) -> str:
        return f"{_PRODUCT} (+{self.contact_url})"


def network_backend(policy: FetchPolicy) -> httpcore.AsyncNetworkBackend:
    if policy.allow_private:
        return httpcore.AnyIOBackend()
    return GuardedNetworkBackend(allowed_networks=policy.allowed_networks)


def checked_url(url: str | httpx.URL) -> httpx.URL:
    """`url` parsed, if it is an http(s) URL with a host DNS can resolve (written in ASCII)."""
    try:
        parsed = httpx.URL(ascii_url(url) if isinstance(url, str) else url)
    except httpx.InvalidURL as exc:
        raise InvalidURLError(f"{url!r} is not a valid URL ({exc})", url=str(url)) from exc
    except ValueError as exc:
        raise InvalidURLError(_bad_host(url, exc), url=str(url)) from exc
    # `raw_host`, not `host`: httpx decodes an A-label there, and raises if it is not a valid one.
    if parsed.scheme not in ("http", "https") or not parsed.raw_host:
        raise InvalidURLError(
            f"{url} is not an http(s) URL; only http and https can be fetched", url=str(url)
        )
    _check_host(parsed)
    return parsed


def _check_host(url: httpx.URL) -> None:
    host = url.raw_host.decode("ascii")
    if ":" in host:  # an IPv6 literal
        return
    try:
        ascii_host(host)
    except ValueError as exc:
        raise InvalidURLError(_bad_host(url, exc), url=str(url)) from exc


def _bad_host(url: str | httpx.URL, reason: ValueError) -> str:
    return f"{url} has a host name that cannot be fetched: {reason}; check the URL"


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """Retry-After in seconds from `now`: delay-seconds or an HTTP-date (RFC 9110 §10.2.3)."""
    if value is None:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    when = when if when.tzinfo else when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


@contextmanager
def fetch_errors(url: httpx.URL, policy: FetchPolicy) -> Iterator[None]:
    """Re-raise what goes wrong below HTTP on the way to `url` as a `FetchError`."""
    try:
        yield
    except RefusedAddressError as exc:  # raised by the guard, which never sees URLs
        raise RefusedAddressError(exc.message, url=str(url)) from exc
    except httpx.HTTPError as exc:
        raise _transport_error(exc, url, policy) from exc


def _transport_error(exc: httpx.HTTPError, url: httpx.URL, policy: FetchPolicy) -> FetchError:
    where, tls_cause = str(url), _ssl_cause(exc)
    if isinstance(exc, httpx.ConnectTimeout):
        return FetchTimeoutError(
            f"could not connect to {url.host} within {policy.connect_timeout:g} s; "
            "check that it is up, or raise TIMELINE_CONNECT_TIMEOUT",
            url=where,
        )
    if isinstance(exc, httpx.TimeoutException):
        return deadline_error(where, policy)
    if tls_cause is not None:
        return TLSError(
            f"TLS with {url.host} failed ({tls_cause}); check its certificate for that name",
            url=where,
        )
    if isinstance(exc, httpx.ConnectError):
        return ConnectError(
            f"could not connect to {url.host} ({exc}); check the host name and that it is up", url=where
        )
    return FetchError(f"the request to {where} failed ({_reason(exc)})", url=where)


def _reason(exc: httpx.HTTPError) -> str:
    """The error's own words; a reset connection often has none."""
    if str(exc):
        return str(exc)
    if isinstance(exc, httpx.NetworkError | httpx.RemoteProtocolError):
        return "the server closed the connection before answering; it may be overloaded, try again later"
    return type(exc).__name__


def deadline_error(url: str, policy: FetchPolicy) -> FetchTimeoutError:
    return FetchTimeoutError(
        f"{url} did not finish answering within {policy.total_timeout:g} s; "
        "raise TIMELINE_FETCH_TIMEOUT if the source is just slow",
        url=url,
    )


def _ssl_cause(exc: BaseException | None) -> ssl.SSLError | None:
    """The TLS error behind `exc`: httpcore reports failed handshakes as plain connect errors."""
    if exc is None or isinstance(exc, ssl.SSLError):
        return exc
    return _ssl_cause(exc.__cause__ or exc.__context__)
