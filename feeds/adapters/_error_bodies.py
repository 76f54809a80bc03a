"""What a body that is no live blog is instead, in words a newsroom understands.

Upstreams answer with status 200 more often than they should when something is wrong: a CDN's or a
framework's HTML error page, an API's error object, an empty body. Such a body must become a parse
error that says what came, quoting the upstream's own message, never an empty snapshot (which would
read as "every update was deleted"). Adapters ask only once they know the body is not their format, so
this costs nothing on the way to a snapshot.
"""

from __future__ import annotations

import html
import re

import orjson

from feeds.adapters._encoding import as_utf8

_QUOTED_CHARS = 200
_HEAD_BYTES = 65_536
_BOM = b"\xef\xbb\xbf"
_SPACE = b" \t\r\n\x0b\x0c"
# Possessive all through: these run on whatever a broken upstream sends, and must not backtrack.
_PROLOG = rb"(?:<\?xml[^>]*+>\s*+)?(?:<!--[^-]*+(?:-(?!->)[^-]*+)*+-->\s*+)*+"
_HTML_START = re.compile(_PROLOG + rb"<(?:!doctype\s+html|html|head|body|title|h1|div|p|pre|center)\b", re.I)
_XML_ERROR_ROOT = re.compile(_PROLOG + rb"<(?:[\w.-]+:)?error\b", re.I)
_XML_MESSAGE = re.compile(rb"<(?:[\w.-]+:)?message\b[^>]*+>([^<]*+)", re.I)
_TITLE = re.compile(rb"<title\b[^>]*+>([^<]*+)", re.I)
_HEADING = re.compile(rb"<h1\b[^>]*+>((?:[^<]++|<(?!/h1))*+)", re.I)
_TAG = re.compile(r"<[^>]*+>")
_SPACES = re.compile(r"\s+")
_LINE_BREAKS = dict.fromkeys(map(ord, "\n\r\t"))
_MESSAGE_KEYS = ("message", "detail", "error_description", "title")


def describe(body: bytes) -> str | None:
    """What the body is, when it is recognisably not a live blog: empty, an error, a web page, plain text."""
    start = as_utf8(body).removeprefix(_BOM).lstrip(_SPACE)
    if not start:
        return "the source sent an empty body" if not body else "the source sent a body of only whitespace"
    return (
        describe_json(_json(start))
        or _describe_markup(start[:_HEAD_BYTES])
        or _describe_text(start[:_HEAD_BYTES])
    )


def describe_json(document: object) -> str | None:
    """What a JSON document is, when it is an API's error object."""
    message = error_message(document)
    return None if message is None else f"the source sent an error instead of a live blog: {message}"


def error_message(document: object) -> str | None:
    """The quoted message of an API's error object (Guardian, WordPress REST, and the usual shapes)."""
    if not isinstance(document, dict):
        return None
    response = document.get("response")
    if isinstance(response, dict) and response.get("status") == "error":
        return _with_code(_message_of(response) or "no message", response)
    errors = document.get("errors")
    if isinstance(errors, list) and errors and (message := _message_of(errors[0])):
        return _with_code(message, errors[0])
    error = document.get("error")
    if isinstance(error, dict) or (isinstance(error, str) and error.strip()):
        return _with_code(_message_of(error) or "no message", error if isinstance(error, dict) else document)
    if _looks_like_an_error(document) and (message := _message_of(document)):
        return _with_code(message, document)
    return None


def page_title(body: bytes) -> str | None:
    """The title (else the first heading) of a body that is an HTML page, as plain text."""
    head = as_utf8(body[: _HEAD_BYTES * 2]).removeprefix(_BOM).lstrip(_SPACE)[:_HEAD_BYTES]
    if not _HTML_START.match(head):
        return None
    found = _TITLE.search(head) or _HEADING.search(head)
    title = _plain(found[1].decode("utf-8", "replace")) if found else ""
    return title or None


def quoted(text: str) -> str:
    """`text` on one line between quotation marks, cut to a readable length."""
    text = _SPACES.sub(" ", text).strip()
    return f"“{text[: _QUOTED_CHARS - 1]}…”" if len(text) > _QUOTED_CHARS else f"“{text}”"


def _describe_markup(head: bytes) -> str | None:
    if _HTML_START.match(head):
        title = page_title(head)
        return f"the source sent a web page{f' titled {quoted(title)}' if title else ''}, not a live blog"
    if _XML_ERROR_ROOT.match(head):
        found = _XML_MESSAGE.search(head)
        message = quoted(_plain(found[1].decode("utf-8", "replace"))) if found else "no message"
        return f"the source sent an error instead of a live blog: {message}"
    return None


def _describe_text(head: bytes) -> str | None:
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return None  # binary, or text in an encoding we would only guess
    if text[:1] in "<{[" or not text.translate(_LINE_BREAKS).isprintable():
        return None
    return f"the source sent plain text: {quoted(text)}"


def _json(start: bytes) -> object:
    if start[:1] != b"{":
        return None
    try:
        return orjson.loads(start)
    except orjson.JSONDecodeError:
        return None


def _looks_like_an_error(document: dict[object, object]) -> bool:
    """An error status, or a code (WordPress REST, problem details), or nothing much beside the message."""
    status = _status(document)
    if status is not None:
        return status >= 400
    return document.get("status") in ("error", "fail") or "code" in document or len(document) <= 2


def _message_of(raw: object) -> str | None:
    if isinstance(raw, str):
        return quoted(raw) if raw.strip() else None
    if not isinstance(raw, dict):
        return None
    texts = (raw.get(key) for key in _MESSAGE_KEYS)
    return next((quoted(_plain(text)) for text in texts if isinstance(text, str) and text.strip()), None)


def _with_code(message: str, raw: object) -> str:
    """The message, then the error's code and HTTP status when it gives them."""
    if not isinstance(raw, dict):
        return message
    details = []
    code = raw.get("code")
    if isinstance(code, str | int) and not isinstance(code, bool) and str(code).strip():
        details.append(f"code {str(code).strip()[:40]}")
    if (status := _status(raw)) is not None:
        details.append(f"status {status}")
    return f"{message} ({', '.join(details)})" if details else message


def _status(raw: dict[object, object]) -> int | None:
    """An HTTP status given as `status` or, as WordPress does, `data.status`."""
    data = raw.get("data")
    status = data.get("status") if isinstance(data, dict) else raw.get("status")
    return status if isinstance(status, int) and not isinstance(status, bool) else None


def _plain(text: str) -> str:
    return html.unescape(_TAG.sub(" ", text)).strip()
