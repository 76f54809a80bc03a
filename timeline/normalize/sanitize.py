"""Allow-list HTML sanitizing (nh3/ammonia) and the plain-text rendering of its output.

Policy, decided once and built into module-level cleaners (building an nh3 `Cleaner` costs ~20 µs, so
it never happens per event):

- Kept: text formatting, headings h2-h6 (the page owns h1), lists, quotes, `pre`/`code`, tables
  (live blogs post scores and results as tables), `figure`/`figcaption`, plain `div`/`span`.
  Generic attributes: `lang`, `dir`, `title` only.
- Dropped: `class`, `id`, `name` (meaningless outside the source page; `id`/`name` enable DOM
  clobbering on a host page), `style`, every event handler, `srcset`, `cite` (ammonia does not check it
  as a URL).
- Removed with their content: script, style, template, iframe, object, svg, math and form controls.
  Other unknown tags (`form`, `noscript`, `font`, `h1`, ...) are unwrapped: their text stays.
- URLs: only absolute http(s). Relative ones are resolved against `base_url`, or dropped without one.
  `javascript:`, `data:`, `vbscript:` and also `mailto:`/`tel:` are dropped: one scheme rule for every
  URL keeps the policy auditable. A link whose href is dropped keeps its text.
- Links get `rel="nofollow noopener"` (any upstream `rel` is replaced).
- Images need an https `src` (http images are mixed content on https hosts) and get `loading="lazy"`;
  an image without one is removed.
- Third-party embeds (`iframe`, `embed`, `video`, `audio` with a `src`) become a link to that URL (or go,
  when it is not an absolute http(s) URL), their content with them: an iframe's is never shown, and a
  player's fallback says what the link now says. Tweets and similar blockquote embeds need nothing: their
  script goes, the quote and links stay.
- `noscript` is unwrapped: its content (often the image a script would load lazily) is read as markup.
  nh3 parses as a browser running scripts does, where that content is one text node: readers would see
  `<img src=…>` as text.
- Both are done by a pre-pass with lexbor, a browser-grade HTML parser, before nh3 cleans: only a parser
  knows where a tag ends (a `>` inside a quoted attribute does not end it), and text a pattern would
  leave behind (`" onload="window.__xss=5">`) runs nothing, but readers would see it.

Changing this policy changes `body_html`, hence the content hash of every event. Bump `raw_hash.VERSION`
with it: polls skip normalizing updates they know unchanged, so only then does the next poll of each
source normalize its updates again and record a new revision where the result differs.
"""

from __future__ import annotations

import functools
import html as html_lib
import re
from urllib.parse import urlsplit

import nh3
from selectolax.lexbor import LexborHTMLParser, LexborNode

__all__ = ["absolute_http_url", "html_to_text", "plain_text", "sanitize_html", "scrub"]

_BLOCK_TAGS = frozenset(
    {"p", "div", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "hr", "ul", "ol", "li", "dl", "dt", "dd"}
    | {"figure", "figcaption", "table", "caption", "thead", "tbody", "tfoot", "tr", "th", "td"}
)
_INLINE_TAGS = frozenset(
    {"br", "a", "img", "span", "strong", "b", "em", "i", "u", "s", "del", "ins", "sub", "sup", "small"}
    | {"mark", "code", "q", "cite", "abbr"}
)
_ATTRIBUTES = {
    "*": {"lang", "dir", "title"},
    "a": {"href"},
    "img": {"src", "alt", "width", "height"},
    "th": {"colspan", "rowspan", "scope"},
    "td": {"colspan", "rowspan"},
}
_DROPPED_WITH_CONTENT = frozenset(
    {"script", "style", "template", "iframe", "object", "svg", "math", "select", "textarea", "button"}
    | {"noembed", "noframes", "title"}
)
_LINK_REL = "nofollow noopener"


def _cleaner(url_relative: nh3.UrlRelative) -> nh3.Cleaner:
    return nh3.Cleaner(
        tags=_BLOCK_TAGS | _INLINE_TAGS,
        clean_content_tags=_DROPPED_WITH_CONTENT,
        attributes=_ATTRIBUTES,
        url_schemes={"http", "https"},
        link_rel=_LINK_REL,
        set_tag_attribute_values={"img": {"loading": "lazy"}},
        url_relative=url_relative,
    )


_NO_BASE_CLEANER = _cleaner("deny")
# Titles and summaries: keep only the block structure that html_to_text turns into spaces.
_TEXT_CLEANER = nh3.Cleaner(
    tags=_BLOCK_TAGS | {"br"},
    clean_content_tags=_DROPPED_WITH_CONTENT,
    attributes={"*": set()},
    link_rel=None,
)


@functools.lru_cache(maxsize=64)
def _cleaner_for(base_url: str | None) -> nh3.Cleaner:
    """One cleaner per base URL: a snapshot's updates share one, so this is built once per source.

    Keyed by the URL as given, so that checking it is cached too.
    """
    base = absolute_http_url(base_url)
    return _cleaner(("rewrite_with_base", base)) if base else _NO_BASE_CLEANER


def absolute_http_url(value: str | None) -> str | None:
    """`value` stripped if it is an absolute http(s) URL without control characters, else None."""
    url = value.strip() if value else ""
    if not url or not url.isprintable():
        return None
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. an unbalanced `[` in the host
        return None
    return url if parts.scheme in ("http", "https") and parts.netloc else None


_CONTROL_BYTES = bytes([*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F])


def scrub(text: str) -> str:
    """`text` without C0 controls and lone surrogates.

    Controls are invalid in XML (Atom re-syndication); lone surrogates ("\\ud800" is valid JSON)
    cannot be encoded, so nh3, orjson and the database would reject them.
    """
    # bytes.translate is several times faster than a regex or str.translate on non-ASCII text, and
    # UTF-8 continuation bytes are never below 0x80, so deleting C0 bytes cannot split a character.
    try:
        raw = text.encode()
    except UnicodeEncodeError:
        return scrub(text.encode(errors="replace").decode())
    kept = raw.translate(None, _CONTROL_BYTES)
    return text if len(kept) == len(raw) else kept.decode()


# What the pre-pass rewrites: only bodies holding one of these are parsed twice.
_PREPARED = re.compile(r"<(?:iframe|embed|video|audio|noscript)\b", re.I)
_EMBEDS = "iframe[src], embed[src], video[src], audio[src]"
_IMG = re.compile(r"<img\b[^>]*>")
_HTTPS_SRC = re.compile(r'\ssrc="https://', re.I)


def sanitize_html(html: str, *, base_url: str | None = None) -> str:
    """Clean upstream HTML with the module's allow-list (see the module docstring)."""
    cleaned = _clean(_cleaner_for(base_url), _prepare(html) if _PREPARED.search(html) else html)
    return _IMG.sub(_https_image, cleaned) if "<img" in cleaned else cleaned


def _clean(cleaner: nh3.Cleaner, html: str) -> str:
    # Scrubbing the output also catches controls written as entities (`&#1;`), which nh3 decodes.
    try:
        return scrub(cleaner.clean(html))
    except UnicodeEncodeError:  # lone surrogates cannot cross into Rust
        return scrub(cleaner.clean(scrub(html)))


def _prepare(html: str) -> str:
    """Embeds as links, `noscript` unwrapped (see the module docstring), read with a browser's parser."""
    tree = LexborHTMLParser(scrub(html), is_fragment=True)  # scrubbed: lone surrogates cannot be parsed
    for embed in reversed(tree.css(_EMBEDS)):  # innermost first: replacing an element drops what it holds
        _embed_as_link(tree, embed)
    tree.unwrap_tags(["noscript"])
    return tree.html or ""


def _embed_as_link(tree: LexborHTMLParser, embed: LexborNode) -> None:
    """An embed becomes a link to its src when that is an absolute http(s) URL, and goes otherwise."""
    raw = (embed.attributes.get("src") or "").strip()
    url = absolute_http_url("https:" + raw if raw.startswith("//") else raw)  # embed codes omit the scheme
    if url is None:
        embed.decompose()
        return
    link = tree.create_node("a")
    link.attrs["href"] = url
    link.insert_child(url)
    embed.replace_with(link)


def _https_image(match: re.Match[str]) -> str:
    # nh3 output is canonical: lowercase names, double-quoted values, `<`/`>`/`"` escaped inside them.
    tag = match.group()
    return tag if _HTTPS_SRC.search(tag) else ""


_PRE = re.compile(r"<pre\b[^>]*>.*?</pre>", re.S)
# Every tag, with its name (and a leading `/` when it closes) as the one group, for `re.split`: one pass
# over the body instead of one per kind of tag.
_TAG = re.compile(r"<(/?\w*)[^>]*>")
# Break markers while tags are stripped: scrubbed text holds no C0 controls, so they are unambiguous.
# They share a first character because the regex engine skips quickly to a literal prefix; a character
# class there makes it test every position (3x slower on a typical body).
_LINE, _PARAGRAPH, _LIST, _ITEM = "\x00l", "\x00p", "\x00s", "\x00i"
_PARAGRAPH_TAGS = (
    *("p", "div", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "hr", "dl", "figure", "figcaption"),
    *("table", "caption", "thead", "tbody", "tfoot"),
)
# What each tag becomes in the text (opening `<td>` a space, `<li>` a list item); any other tag vanishes.
_TAG_TEXT = {
    **{name: _PARAGRAPH for name in _PARAGRAPH_TAGS},
    **{f"/{name}": _PARAGRAPH for name in _PARAGRAPH_TAGS},
    **dict.fromkeys(("br", "tr", "dt", "dd"), _LINE),
    **dict.fromkeys(("ul", "/ul", "ol", "/ol"), _LIST),
    "li": _ITEM,
    "td": " ",
    "th": " ",
}
# A document without `<li` has always rendered its `<ul>`/`<ol>` like unknown tags; changing that would
# change the stored body_text of such events.
_TAG_TEXT_WITHOUT_ITEMS = {**_TAG_TEXT, **dict.fromkeys(("ul", "/ul", "ol", "/ol"), "")}
_BREAK_RUN = re.compile("\x00[lpsi](?: |\x00[lpsi])*")
_ZERO_WIDTH = ("\u200b", "\u2060", "\ufeff")  # ZWJ/ZWNJ stay: emoji sequences and scripts need them


def html_to_text(html: str) -> str:
    """Plain text of `sanitize_html` output: blocks become paragraphs, `<br>` lines, list items `- ` lines.

    Expects that canonical form (scrubbed; only `&amp;`, `&lt;`, `&gt;`, `&nbsp;` escapes in text);
    pass other HTML through `sanitize_html` first.
    """
    text = _PRE.sub(_keep_pre_lines, html) if "<pre" in html else html
    pieces = _TAG.split(text)  # text, tag name, text, tag name, …, text
    tag_text = _TAG_TEXT if "<li" in text else _TAG_TEXT_WITHOUT_ITEMS
    pieces[1::2] = [tag_text.get(name, "") for name in pieces[1::2]]
    return _layout(_unescape("".join(pieces)))


def _keep_pre_lines(match: re.Match[str]) -> str:
    return match.group().replace("\n", _LINE)


def _unescape(text: str) -> str:
    if "&" not in text:
        return text
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&nbsp;", " ")
    return text.replace("&amp;", "&")  # last, so `&amp;lt;` stays `&lt;`


def _layout(text: str) -> str:
    """Collapse whitespace, then turn each run of break markers into one break."""
    text = _BREAK_RUN.sub(_break, " ".join(_drop_zero_width(text).split()))
    return text.replace(" \n", "\n").strip()


def _break(run: re.Match[str]) -> str:
    """The strongest break in a run wins; two line breaks in a row make a paragraph.

    A list item starts a line, after a blank line only where the list starts or ends, so items stay on
    consecutive lines even when their text is wrapped in paragraphs.
    """
    markers = run.group()
    if _ITEM in markers:
        return "\n\n- " if _LIST in markers else "\n- "
    paragraph = _PARAGRAPH in markers or _LIST in markers or markers.count(_LINE) > 1
    return "\n\n" if paragraph else "\n"


def _drop_zero_width(text: str) -> str:
    for char in _ZERO_WIDTH:
        if char in text:
            text = text.replace(char, "")
    return text


_TAG_LIKE = re.compile(r"<[a-z/!?]", re.I)


def plain_text(value: str | None) -> str | None:
    """One line of text from a title, summary or name that may hold HTML; None when nothing is left.

    Text that looks like a tag is parsed as HTML, so a bare `a<b` loses `<b`.
    """
    text = scrub(value) if value else ""
    if _TAG_LIKE.search(text):
        text = html_to_text(_clean(_TEXT_CLEANER, text))
    elif "&" in text:
        text = html_lib.unescape(text)
    return _one_line(text)


def typed_text(value: str | None) -> str | None:
    """One line of text as a person typed it (an editor's title or note): nothing in it is read as HTML,
    so `<b>` and `&amp;` stay as typed, and cleaning it again changes nothing; None when nothing is left."""
    return _one_line(scrub(value)) if value else None


def _one_line(text: str) -> str | None:
    return " ".join(_drop_zero_width(text).split()) or None
