"""Many live blogs on one local upstream, changing over time: what the scale test feeds its workers.

Each source is a `GuardianBlog` at `/s/<n>` (complete snapshots, so a deleted block becomes a tombstone).
`Newsroom.change` posts, edits and deletes blocks of random blogs and remembers every block ever posted,
so the test can tell what the timelines must hold in the end.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from tests.upstream import GuardianBlog, Upstream, snapshot


@dataclass
class Blog:
    path: str
    timeline: str  # slug
    blog: GuardianBlog
    posted: set[str] = field(default_factory=set)  # every block id ever posted
    minutes: int = 0

    def post(self, text: str) -> None:
        block = f"{self.path.rsplit('/', 1)[1]}-{self.minutes}"
        self.blog.post(block, text, minute=self.minutes)
        self.posted.add(block)
        self.minutes += 1


class Newsroom:
    """`sources` blogs spread over `timelines` timelines, served by `upstream` under /s/<n>."""

    def __init__(self, upstream: Upstream, *, timelines: int, sources: int, seed: int = 8) -> None:
        self.rng = random.Random(seed)
        self.slugs = [f"event-{t}" for t in range(timelines)]
        self.blogs = [
            Blog(f"/s/{n}", self.slugs[n % timelines], GuardianBlog(f"Blog {n}")) for n in range(sources)
        ]
        self.changes = 0
        for blog in self.blogs:
            blog.post(f"{blog.path} opens")
            upstream.routes[blog.path] = snapshot(blog.blog.render)

    def change(self, count: int, round_: int) -> None:
        """`count` changes to random blogs: about half new posts, a third edits, the rest deletions.

        A deletion leaves at least two blocks: deleting one of one or two would remove half a blog or
        more at once, which the store holds back until later polls confirm it (a mass-deletion guard).
        """
        for blog in self.rng.sample(self.blogs, count):
            shown = sorted(blog.blog.texts())
            roll = self.rng.random()
            if roll < 0.5 or not shown:
                blog.post(f"{blog.path} round {round_}")
            elif roll < 0.8 or len(shown) < 3:
                block = self.rng.choice(shown)
                blog.blog.edit(block, f"{blog.blog.texts()[block]}, corrected in round {round_}")
            else:
                blog.blog.delete(self.rng.choice(shown))
            self.changes += 1

    def expected(self, slug: str) -> tuple[dict[tuple[str, str], str], set[tuple[str, str]]]:
        """What timeline `slug` must show, by (source path, block id): live texts, and deleted blocks."""
        live: dict[tuple[str, str], str] = {}
        gone: set[tuple[str, str]] = set()
        for blog in self.blogs:
            if blog.timeline != slug:
                continue
            texts = blog.blog.texts()
            live.update({(blog.path, block): text for block, text in texts.items()})
            gone.update((blog.path, block) for block in blog.posted - texts.keys())
        return live, gone
