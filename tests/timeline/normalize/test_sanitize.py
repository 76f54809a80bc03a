"""The allow-list policy of sanitize_html and the text renderings (html_to_text, plain_text)."""

from __future__ import annotations

import pytest

from timeline.normalize.sanitize import absolute_http_url, html_to_text, plain_text, sanitize_html, scrub

BASE = "https://blog.example/live/today"


@pytest.mark.parametrize(
    "html",
    [
        "<p><strong>bold</strong> <b>b</b> <em>em</em> <i>i</i> <u>u</u> <s>s</s> <small>small</small></p>",
        "<p>H<sub>2</sub>O x<sup>2</sup> <mark>marked</mark> <code>code()</code> <q>quoted</q></p>",
        "<h2>Heading</h2><h6>Small heading</h6><hr><pre>a\n  b</pre>",
        "<blockquote><p>Quoted</p></blockquote><ul><li>one</li></ul><ol><li>two</li></ol>",
        '<table><caption>Scores</caption><thead><tr><th scope="col">Team</th></tr></thead>'
        '<tbody><tr><td colspan="2">Home</td></tr></tbody></table>',
        '<figure><img src="https://img.example/a.jpg" alt="A" width="600" height="400" loading="lazy">'
        "<figcaption>Caption</figcaption></figure>",
        '<p lang="fr" dir="ltr" title="t"><span>Bonjour</span> <abbr title="x">ABC</abbr></p>',
    ],
)
def test_harmless_formatting_survives_unchanged(html: str) -> None:
    assert sanitize_html(html) == html


def test_links_get_nofollow_noopener_replacing_upstream_rel() -> None:
    html = sanitize_html('<a href="https://news.example/a" rel="opener" target="_blank">read</a>')
    assert html == '<a href="https://news.example/a" rel="nofollow noopener">read</a>'


@pytest.mark.parametrize(
    ("href", "resolved"),
    [
        ("/politics/2024", "https://blog.example/politics/2024"),
        ("other-page?x=1", "https://blog.example/live/other-page?x=1"),
        ("#block-12", "https://blog.example/live/today#block-12"),
        ("//cdn.example/file", "https://cdn.example/file"),
    ],
)
def test_relative_links_resolve_against_the_base_url(href: str, resolved: str) -> None:
    assert f'href="{resolved}"' in sanitize_html(f'<a href="{href}">x</a>', base_url=BASE)


@pytest.mark.parametrize("base_url", [None, "", "not a url", "ftp://files.example/"])
def test_relative_links_without_a_usable_base_lose_their_href_but_keep_text(base_url: str | None) -> None:
    assert sanitize_html('<a href="/x">text</a>', base_url=base_url) == '<a rel="nofollow noopener">text</a>'


@pytest.mark.parametrize("href", ["mailto:desk@news.example", "tel:+441234", "ftp://files.example/a"])
def test_non_http_links_are_dropped(href: str) -> None:
    assert "href" not in sanitize_html(f'<a href="{href}">contact</a>')


def test_plain_http_links_are_kept() -> None:
    assert 'href="http://old.example/"' in sanitize_html('<a href="http://old.example/">old</a>')


def test_images_need_an_https_src() -> None:
    html = sanitize_html(
        '<img src="http://img.example/a.jpg" alt="insecure"><img src="https://img.example/b.jpg" alt="ok">'
        '<img alt="no src"><img src="HTTPS://IMG.EXAMPLE/C.JPG">'
    )
    assert html == (
        '<img src="https://img.example/b.jpg" alt="ok" loading="lazy">'
        '<img src="HTTPS://IMG.EXAMPLE/C.JPG" loading="lazy">'
    )


def test_relative_images_follow_the_base_scheme() -> None:
    assert 'src="https://blog.example/live/a.png"' in sanitize_html('<img src="a.png">', base_url=BASE)
    assert sanitize_html('<img src="a.png">', base_url="http://blog.example/") == ""


def test_image_alt_with_angle_brackets_does_not_confuse_the_https_check() -> None:
    html = sanitize_html('<img alt="a > b src=&quot;https://x&quot;" src="http://img.example/a.jpg">')
    assert html == ""


@pytest.mark.parametrize(
    ("embed", "link"),
    [
        (
            '<iframe width="560" src="https://www.youtube.com/embed/abc" allowfullscreen></iframe>',
            "https://www.youtube.com/embed/abc",
        ),
        (
            "<IFRAME SRC='//player.vimeo.com/video/1?a=1&amp;b=2'></IFRAME>",
            "https://player.vimeo.com/video/1?a=1&amp;b=2",
        ),
        ('<video src="https://media.example/clip.mp4" controls></video>', "https://media.example/clip.mp4"),
        ("<embed src=https://media.example/a.swf>", "https://media.example/a.swf"),
    ],
)
def test_embeds_degrade_to_links(embed: str, link: str) -> None:
    html = sanitize_html(f"<p>Watch: {embed}</p>")
    assert html == f'<p>Watch: <a href="{link}" rel="nofollow noopener">{link}</a></p>'


def test_embed_without_a_usable_src_is_dropped() -> None:
    assert (
        sanitize_html('<p>a<iframe src="javascript:alert(1)"></iframe>b<iframe></iframe></p>') == "<p>ab</p>"
    )


def test_tweet_embed_degrades_to_a_quote_with_links() -> None:
    tweet = (
        '<blockquote class="twitter-tweet"><p lang="en" dir="ltr">Big news &amp; more</p>&mdash; Reporter '
        '(@reporter) <a href="https://twitter.com/reporter/status/1">May 1, 2024</a></blockquote>'
        '<script async src="https://platform.twitter.com/widgets.js" charset="utf-8"></script>'
    )
    assert sanitize_html(tweet) == (
        '<blockquote><p lang="en" dir="ltr">Big news &amp; more</p>— Reporter (@reporter) '
        '<a href="https://twitter.com/reporter/status/1" rel="nofollow noopener">May 1, 2024</a></blockquote>'
    )


def test_presentation_and_identity_attributes_are_dropped() -> None:
    html = '<p class="lead" id="p1" style="color:red" data-x="1" onclick="f()">text</p>'
    assert sanitize_html(html) == "<p>text</p>"


def test_unknown_wrappers_are_unwrapped_and_h1_becomes_text() -> None:
    assert sanitize_html("<h1>Title</h1><font color=red>red</font><section>sec</section>") == "Titleredsec"


def test_script_and_style_contents_are_removed() -> None:
    assert sanitize_html("<p>a<script>var x = 1;</script><style>p{}</style>b</p>") == "<p>ab</p>"


def test_control_characters_and_lone_surrogates_are_removed() -> None:
    assert sanitize_html("<p>a\x01b&#1;c\x7f\ud800d</p>") == "<p>abc?d</p>"


def test_scrub_keeps_ordinary_text_and_newlines() -> None:
    text = "Zürich — 東京 👨‍👩‍👧\n\tend"
    assert scrub(text) is text


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ("<p>One</p><p>Two</p>", "One\n\nTwo"),
        ("<p>  lots \n of\t space  </p>", "lots of space"),
        ("line<br>break<br><br>paragraph<br><br><br><br>again", "line\nbreak\n\nparagraph\n\nagain"),
        (
            "<p>Intro</p><ul><li>one</li><li>two <b>bold</b></li></ul><p>End</p>",
            "Intro\n\n- one\n- two bold\n\nEnd",
        ),
        ("<ul> <li><p>one</p></li> <li><p>two</p></li> </ul>", "- one\n- two"),
        ("<ol><li>a<ul><li>nested</li></ul></li></ol>", "- a\n\n- nested"),
        ("<h2>Head</h2>text<hr>more", "Head\n\ntext\n\nmore"),
        ("<pre>a\n  b\nc</pre>", "a\nb\nc"),
        ("<table><tr><th>Team</th><td>3</td></tr><tr><td>Away</td><td>1</td></tr></table>", "Team 3\nAway 1"),
        ("<p>Fish &amp; chips &lt;3 &amp;lt; &nbsp;x</p>", "Fish & chips <3 &lt; x"),
        ("<p>zero\u200bwidth\ufeff joiner\u200d kept</p>", "zerowidth joiner\u200d kept"),
        ('<p>a <a href="https://x.example/" rel="nofollow noopener">link</a>.</p>', "a link."),
        ("<p> </p><div></div>", ""),
        ("", ""),
    ],
)
def test_html_to_text(html: str, text: str) -> None:
    assert html_to_text(sanitize_html(html)) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, None),
        ("", None),
        ("  \n ", None),
        ("\u200b", None),
        ("Plain title", "Plain title"),
        ("  Spaced \n  title ", "Spaced title"),
        ("Q&amp;A with the minister", "Q&A with the minister"),
        ("AT&T results", "AT&T results"),
        ("<p>First</p><p>second</p>", "First second"),
        ("<b>Breaking:</b> storm &ndash; live", "Breaking: storm \u2013 live"),
        ("<script>alert(1)</script>Title", "Title"),
        ("bad\x00\x1f chars", "bad chars"),
    ],
)
def test_plain_text(value: str | None, text: str | None) -> None:
    assert plain_text(value) == text


@pytest.mark.parametrize(
    ("value", "url"),
    [
        ("https://news.example/a#b", "https://news.example/a#b"),
        ("  http://news.example/  ", "http://news.example/"),
        ("HTTPS://NEWS.EXAMPLE/", "HTTPS://NEWS.EXAMPLE/"),
        (None, None),
        ("", None),
        ("/relative", None),
        ("//news.example/a", None),
        ("javascript:alert(1)", None),
        ("mailto:a@news.example", None),
        ("https://", None),
        ("http://[broken", None),
        ("https://news.example/\x00", None),
    ],
)
def test_absolute_http_url(value: str | None, url: str | None) -> None:
    assert absolute_http_url(value) == url
