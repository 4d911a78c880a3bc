"""Every relative link in README.md and in docs/ names a file or folder that exists.

`mkdocs build --strict` checks the site's own links, but not README.md, and only
where the docs extra is installed; this runs everywhere, without Keras.
"""

import re
from pathlib import Path
from urllib.parse import unquote

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
# [text](target) and ![alt](target); a target ends at a space (a title follows) or ")".
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
INLINE_CODE = re.compile(r"`[^`\n]*`")


def relative_links(text):
    """The link targets outside code, without anchors; external and in-page links left out."""
    text = INLINE_CODE.sub("", FENCE.sub("", text))
    for target in LINK.findall(text):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.IGNORECASE) or target.startswith(("#", "/")):
            continue
        path = unquote(target.split("#", 1)[0])
        if path:
            yield path


def broken_links(page):
    return [link for link in relative_links(page.read_text()) if not (page.parent / link).exists()]


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.relative_to(ROOT).as_posix())
def test_relative_links_resolve(page):
    assert broken_links(page) == []


def test_a_broken_link_is_found(tmp_path):
    (tmp_path / "there.md").write_text("x")
    page = tmp_path / "page.md"
    page.write_text(
        "[ok](there.md#part) [gone](missing.md) ![img](gone.png) [web](https://example.org/x)"
        " [anchor](#here) `[code](not-a-link.md)`\n```\n[fenced](nor-this.md)\n```\n"
    )
    assert broken_links(page) == ["missing.md", "gone.png"]
