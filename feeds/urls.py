"""URLs on their way out of the process and on their way to an upstream: credentials redacted, host names in
the ASCII form DNS asks for.

- `redact_credentials` is for every text that leaves the process (API responses, log lines, error
  messages): a source URL may carry a password (`https://user:pw@host/feed`), which is kept and used to
  fetch, but never shown. It works on any text, so a message that quotes a URL is redacted as a whole.
- `ascii_url` turns an internationalized host name into its punycode form (UTS 46 mapping, then IDNA 2008
  labels, as the `idna` package implements them) and refuses host names DNS cannot carry, with a message
  that says why: the resolver would fail on them with errors that are not about the network at all.
"""

from __future__ import annotations

import re
from urllib.parse import SplitResult, urlsplit

import idna

__all__ = ["ascii_host", "ascii_url", "redact_credentials"]

MAX_HOST_LENGTH = 253  # DNS: 255 octets on the wire, 253 characters written with dots
REDACTED = "***"
# The userinfo of a URL written anywhere in a text: the scheme, then everything up to the authority's last
# `@` (a password may hold an unescaped `@`, which parsers read as part of it).
_USERINFO = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>[^\s/?#]*)@")
# An ASCII label as resolvers take it: letters, digits, hyphens, and the underscores that real host names
# carry although IDNA 2008 would refuse them.
_ASCII_LABEL = re.compile(r"[A-Za-z0-9_-]{1,63}")
_ACE_PREFIX = "xn--"


def redact_credentials(text: str) -> str:
    """`text` with the credentials of every URL in it hidden: `https://user:pw@host/` becomes
    `https://user:***@host/`. A user name alone (`https://token@host/`) is hidden as a whole: services put
    access tokens there."""
    if "@" not in text:
        return text
    return _USERINFO.sub(_redacted, text)


def _redacted(found: re.Match[str]) -> str:
    user, colon, _ = found["userinfo"].partition(":")
    shown = f"{user}:{REDACTED}" if colon else REDACTED
    return f"{found['scheme']}{shown}@"


def ascii_url(url: str) -> str:
    """`url` with its host name in ASCII (`https://bücher.example/` → `https://xn--bcher-kva.example/`);
    anything else as given. Raises `ValueError` saying what is wrong when it is not a URL, or its host name
    is not one DNS can carry (see `ascii_host`)."""
    parts = urlsplit(url)  # raises ValueError itself, e.g. for an unbalanced `[` in the authority
    userinfo, at, host_port = parts.netloc.rpartition("@")
    host, port = _split_port(host_port)
    if not host or host.startswith("["):  # no host (the caller says so), or an IPv6 literal
        return url
    ascii_name = ascii_host(host)
    if ascii_name == host:
        return url
    netloc = f"{userinfo}{at}{ascii_name}{port}"
    return SplitResult(parts.scheme, netloc, parts.path, parts.query, parts.fragment).geturl()


def _split_port(host_port: str) -> tuple[str, str]:
    """(`host`, `:port` or "") of an authority without userinfo; an IPv6 literal keeps its brackets."""
    if host_port.startswith("["):
        literal, bracket, rest = host_port.partition("]")
        return literal + bracket, rest
    host, colon, port = host_port.partition(":")
    return host, colon + port


def ascii_host(host: str) -> str:
    """`host` as DNS asks for it: internationalized labels in punycode, after UTS 46 mapping (so `BÜCHER`,
    full-width letters and ideographic full stops are read as a browser reads them). Raises `ValueError`
    saying what is wrong: a label IDNA 2008 refuses (symbols such as `☃`), an A-label (`xn--…`) that does
    not decode to one, an empty label, or a label or name too long for DNS."""
    try:
        mapped = idna.uts46_remap(host, std3_rules=False, transitional=False)
    except idna.IDNAError as exc:
        raise ValueError(f"{host!r} is not a valid internationalized host name ({exc})") from exc
    name = mapped[:-1] if mapped.endswith(".") else mapped  # a fully qualified name ends with a dot
    labels = [_ascii_label(label, host) for label in name.split(".")]
    ascii_name = ".".join(labels)
    if len(ascii_name) > MAX_HOST_LENGTH:
        raise ValueError(
            f"the host name is {len(ascii_name)} characters long in ASCII; DNS allows {MAX_HOST_LENGTH}"
        )
    return ascii_name + ("." if name != mapped else "")


def _ascii_label(label: str, host: str) -> str:
    if not label:
        raise ValueError(f"{host!r} has an empty label (two dots in a row, or a leading dot)")
    try:
        if not label.isascii():
            return idna.alabel(label).decode("ascii")
        if label.lower().startswith(_ACE_PREFIX):
            idna.ulabel(label)  # checks that it decodes to a valid label
    except idna.IDNAError as exc:
        raise ValueError(f"the label {_shown(label)} is not a valid internationalized label ({exc})") from exc
    if not _ASCII_LABEL.fullmatch(label):
        raise ValueError(
            f"the label {_shown(label)} is not a DNS label: 1 to 63 letters, digits, hyphens or underscores"
        )
    return label


def _shown(label: str) -> str:
    """A label as a message quotes it: a very long one cut, with its length said."""
    return repr(label) if len(label) <= 40 else f"{label[:20]!r}… ({len(label)} characters)"
