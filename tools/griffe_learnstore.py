"""A griffe extension for the API reference (mkdocs.yml loads it): Store's repositories link to their
classes, and each method's docstring gets a Raises section from the errors its text names."""

from __future__ import annotations

import re
from typing import Any

import griffe

import learnstore.errors

# The error classes, found rather than listed: a new one is picked up by the reference too.
ERRORS = {
    name
    for name, value in vars(learnstore.errors).items()
    if isinstance(value, type) and issubclass(value, learnstore.errors.LearnstoreError)
}
_MENTION = re.compile(r"`(" + "|".join(sorted(ERRORS, key=len, reverse=True)) + r")`")
# A sentence ends at a full stop followed by a space or the end; "e.g." and "i.e." do not end one.
_SENTENCE = re.compile(r"(?<!e\.g)(?<!i\.e)\.(?:\s+|$)")


def raised(docstring: str) -> list[tuple[str, str]]:
    """(error class, the sentence that names it) for each learnstore error the text names in
    backticks, in order of first mention; several errors named in one sentence share it."""
    found: dict[str, str] = {}
    text = " ".join(docstring.split())
    start = 0
    for match in _SENTENCE.finditer(text + " "):
        sentence = text[start : match.start() + 1].strip()
        start = match.end()
        for name in _MENTION.findall(sentence):
            found.setdefault(name, sentence)
    return list(found.items())


class LearnstoreReference(griffe.Extension):
    """Annotates `self.users = AsyncUsersRepository(db)` with its class, and adds Raises sections."""

    def on_attribute_instance(self, *, attr: griffe.Attribute, **kwargs: Any) -> None:
        # The store's repositories are assigned in __init__ without an annotation; the class they
        # are built from is their type, so the reference links each attribute to its repository.
        value = attr.value
        if (
            attr.annotation is None
            and isinstance(value, griffe.ExprCall)
            and str(value.function).endswith("Repository")
        ):
            attr.annotation = value.function
            if attr.docstring is None and isinstance(value.function, griffe.ExprName):
                target = value.function.canonical_path
                text = f"The store's [`{value.function}`][{target}]: `store.{attr.name}.<method>(...)`."
                attr.docstring = griffe.Docstring(text, parent=attr)

    def on_function_instance(self, *, func: griffe.Function, **kwargs: Any) -> None:
        docstring = func.docstring
        if docstring is None or func.name.startswith("_") or "Raises:" in docstring.value:
            return
        errors = raised(docstring.value)
        if not errors:
            return
        lines = ["", "", "Raises:"]
        for name, sentence in errors:
            # A short name links when the module knows where it comes from: the module may name an
            # error in prose that it never imports (a PostgreSQL function raises it), so tell it.
            func.module.imports.setdefault(name, f"learnstore.errors.{name}")
            lines.append(f"    {name}: {sentence}")
        docstring.value = docstring.value.rstrip() + "\n".join(lines)
