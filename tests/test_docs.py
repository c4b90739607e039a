"""Every ```python block in docs/ runs, page by page, against a fresh migrated database."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.M | re.S)
PAGES = sorted(page for page in DOCS.glob("*.md") if BLOCK.search(page.read_text()))


@pytest.mark.parametrize("page", PAGES, ids=[page.name for page in PAGES])
def test_the_examples_of_a_docs_page_run(page: Path, fresh_db: str) -> None:
    namespace: dict[str, object] = {"dsn": fresh_db, "__name__": f"docs_{page.stem}"}
    text = page.read_text()
    for match in BLOCK.finditer(text):
        line = text.count("\n", 0, match.start(1)) + 1
        # compile() with the page's name and line: a failing example points at the docs page
        code = compile("\n" * (line - 1) + match.group(1), str(page), "exec")
        exec(code, namespace)
