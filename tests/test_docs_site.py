"""The docs site as a reader meets it: built strict, a reference entry for every public name and model
field, signatures that fit their box, nothing loaded from another host, and the repository's address."""

from __future__ import annotations

import html
import importlib
import inspect
import os
import pkgutil
import re
import subprocess
import sys
import tomllib
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import BaseModel

import learnstore

ROOT = Path(__file__).resolve().parents[1]
# mkdocs.yml's line_length: the longest signature line that fits its box in every layout of Material
# from a 600-pixel-wide window up (measured in headless Chromium: the narrowest box, at 960 pixels
# with the navigation beside it, holds about 70 characters). On a phone a long line scrolls.
SIGNATURE_WIDTH = 60


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site, built as CI builds it (`mkdocs build --strict`), once for this module."""
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    mkdocs = Path(sys.executable).with_name("mkdocs")
    built = subprocess.run(
        [str(mkdocs), "build", "--strict", "--quiet", "--site-dir", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert built.returncode == 0, built.stderr
    return out


def inventory(site: Path) -> set[str]:
    """The identifiers the reference rendered (mkdocstrings' objects.inv, Sphinx's format v2)."""
    data = (site / "objects.inv").read_bytes()
    body = zlib.decompress(data.split(b"\n", 4)[4]).decode()
    return {line.split(" ", 1)[0] for line in body.splitlines() if line}


def _public_modules() -> Iterator[str]:
    yield "learnstore"
    for info in pkgutil.walk_packages(learnstore.__path__, "learnstore."):
        if not any(part.startswith("_") for part in info.name.split(".")):
            yield info.name


def public_names() -> dict[str, type | object]:
    """Every name a user is promised, found rather than listed, so a new one is held to the same
    rule: learnstore.__all__, and in every public module each repository class and each public
    result model (a pydantic model or a named tuple) it defines. An async module's copy of a sync
    module's model is its twin, documented once (the async repository classes are not twins)."""
    names: dict[str, type | object] = {}
    for name in learnstore.__all__:
        obj = getattr(learnstore, name)
        names[f"{obj.__module__}.{obj.__qualname__}"] = obj
    for module_name in _public_modules():
        module = importlib.import_module(module_name)
        exported = getattr(module, "__all__", [n for n in vars(module) if not n.startswith("_")])
        for name in exported:
            obj = getattr(module, name, None)
            if not inspect.isclass(obj) or obj.__module__ != module_name:
                continue
            is_model = issubclass(obj, BaseModel) or (issubclass(obj, tuple) and hasattr(obj, "_fields"))
            if not (is_model or name.endswith("Repository")):
                continue
            if module_name.endswith("_async") and not name.startswith("Async"):
                twin = importlib.import_module(module_name.removesuffix("_async"))
                if hasattr(twin, name):
                    continue
            names[f"{module_name}.{name}"] = obj
    return names


def test_public_names_are_found() -> None:
    names = public_names()
    # the discovery itself: the kinds of names the reference must carry are all in there
    for expected in (
        "learnstore.store.Store",
        "learnstore.errors.Timeout",
        "learnstore.repositories.deliveries.DeliveriesRepository",
        "learnstore.repositories.users_async.AsyncUsersRepository",
        "learnstore.repositories.content.CourseTree",
        "learnstore.queries.models.Course",
    ):
        assert expected in names
    assert "learnstore.repositories.content_async.CourseTree" not in names  # the twin


def test_every_public_name_has_a_reference_entry(site: Path) -> None:
    rendered = inventory(site)
    missing = sorted(name for name in public_names() if name not in rendered)
    assert not missing, (
        f"{len(missing)} public names have no entry in docs/reference/ (add a `::: module` or"
        f" `::: module.Name` line): {missing}"
    )


def test_every_field_of_every_public_model_is_in_the_reference(site: Path) -> None:
    rendered = inventory(site)
    missing = []
    for path, obj in public_names().items():
        fields: list[str] = list(getattr(obj, "model_fields", None) or getattr(obj, "_fields", None) or ())
        missing += [f"{path}.{field}" for field in fields if f"{path}.{field}" not in rendered]
    assert not missing, f"{len(missing)} model fields are not in the reference: {missing[:20]}"


SIGNATURE = re.compile(r'<div class="doc-signature highlight"><pre><span></span><code>(.*?)</code>', re.S)


def signatures(site: Path) -> Iterator[tuple[str, str]]:
    for page in sorted((site / "reference").rglob("index.html")):
        for match in SIGNATURE.finditer(page.read_text(encoding="utf-8")):
            yield page.parent.name, html.unescape(re.sub(r"<[^>]+>", "", match.group(1)))


def test_signatures_are_formatted_to_fit_their_box(site: Path) -> None:
    found = list(signatures(site))
    too_wide = [
        (page, max(text.splitlines(), key=len))
        for page, text in found
        if max(len(line) for line in text.splitlines()) > SIGNATURE_WIDTH
    ]
    assert len(found) > 300
    assert not too_wide, f"{len(too_wide)} of {len(found)} signatures are wider than the box: {too_wide[:5]}"


def test_methods_that_name_their_errors_have_a_raises_section(site: Path) -> None:
    page = (site / "reference" / "repositories" / "index.html").read_text(encoding="utf-8")
    enrol = page[page.index('id="learnstore.repositories.progress.ProgressRepository.enrol"') :]
    enrol = enrol[: enrol.index('class="doc doc-heading"', 100)]
    assert "Raises" in enrol
    assert 'href="../errors/#learnstore.errors.NotFound"' in enrol
    assert 'href="../errors/#learnstore.errors.Conflict"' in enrol


def test_the_stores_repositories_link_to_their_classes(site: Path) -> None:
    page = (site / "reference" / "store" / "index.html").read_text(encoding="utf-8")
    for attribute in ("users", "content", "deliveries"):
        heading = page.index(f'id="learnstore.store.Store.{attribute}"')
        assert 'href="../repositories/#learnstore.repositories.' in page[heading : heading + 1500]


# src, href or url() of something the page loads (not a link a reader follows: <a href> is fine).
LOADED = re.compile(
    r"""<(?:script|img|iframe|source|link)\b[^>]*?(?:src|href)=["']([^"']+)["']|url\(([^)]+)\)"""
)


def test_the_site_loads_nothing_from_another_host(site: Path) -> None:
    remote = set()
    for path in site.rglob("*"):
        if path.suffix not in (".html", ".css", ".js"):
            continue
        for match in LOADED.finditer(path.read_text(encoding="utf-8", errors="replace")):
            url = (match.group(1) or match.group(2)).strip("'\" ")
            if re.match(r"(?:https?:)?//", url) and 'rel="canonical"' not in match.group(0):
                remote.add((path.relative_to(site).as_posix(), url))
    assert not remote, f"the site loads from other hosts: {sorted(remote)[:10]}"


def test_the_repository_address_is_in_the_header_and_in_the_package(site: Path) -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    address = project["urls"]["Repository"]
    assert f"repo_url: {address}\n" in (ROOT / "mkdocs.yml").read_text()
    home = (site / "index.html").read_text(encoding="utf-8")
    assert f'href="{address}"' in home


def test_every_image_ships_with_the_site_and_the_schema_is_drawn_per_domain(site: Path) -> None:
    missing = []
    for page in site.rglob("*.html"):
        for src in re.findall(r'<img\b[^>]*\bsrc="([^"]+)"', page.read_text(encoding="utf-8")):
            if not (page.parent / html.unescape(src)).resolve().is_file():
                missing.append((page.relative_to(site).as_posix(), src))
    assert not missing, f"images the site does not ship: {missing[:10]}"
    schema = (site / "schema" / "index.html").read_text(encoding="utf-8")
    drawings = re.findall(r'<img\b[^>]*\bsrc="\.\./assets/erd/(\w+)\.svg"', schema)
    assert {"users", "content", "community"} <= set(drawings)
    assert "erDiagram" not in schema  # no Mermaid source left to show as text
