"""Terminal output for the CLI: tables, pass/fail lines and a progress bar, with rich when installed.

On a terminal, rich (the `cli` extra, also pulled in by `embedded`) draws the tables and the progress
bar, in colour unless NO_COLOR is set. A pipe or a file, or a terminal without rich, gets plain aligned
text with no escape codes: what a script or a log wants, and a bare `pip install learnstore` still has a
working CLI.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TextIO

__all__ = ["Bar", "Output"]

#: wide enough for the demo's tables when the output is a file or a pipe (rich would assume 80)
_PIPE_WIDTH = 120


def _rich_available() -> bool:
    try:
        import rich  # noqa: F401
    except ImportError:
        return False
    return True


class Output:
    """Where the CLI writes: `file` (stdout), through rich if it is installed and `use_rich` allows."""

    def __init__(self, file: TextIO | None = None, *, use_rich: bool | None = None) -> None:
        self.file = file if file is not None else sys.stdout
        self.is_terminal = bool(getattr(self.file, "isatty", lambda: False)())
        self.colour = self.is_terminal and not os.environ.get("NO_COLOR")
        self._console: Any = None
        # rich draws on a terminal; a pipe or a file gets plain aligned text (stable for scripts and logs).
        if use_rich is None:
            use_rich = self.is_terminal and _rich_available()
        if use_rich:
            from rich.console import Console

            self._console = Console(
                file=self.file,
                width=None if self.is_terminal else _PIPE_WIDTH,
                no_color=not self.colour,
                force_terminal=self.is_terminal,
                highlight=False,
                soft_wrap=False,
            )

    @property
    def rich(self) -> bool:
        """Whether rich draws the output."""
        return self._console is not None

    def line(self, text: str = "", style: str | None = None) -> None:
        """One line of text; `style` is a rich style (bold, red, dim ...), used only when colouring."""
        if self._console is not None:
            from rich.text import Text

            self._console.print(Text(text, style=style or "") if self.colour else Text(text), soft_wrap=True)
        else:
            print(text, file=self.file)

    def check(self, outcome: bool | str, text: str) -> None:
        """A check's line: `PASS text`, `FAIL text`, `WARN text` or `SKIP text` (True/False mean
        pass/fail); green, red, yellow or dim on a terminal."""
        word = ("pass" if outcome else "fail") if isinstance(outcome, bool) else outcome
        style = {"pass": "green", "fail": "bold red", "warn": "yellow"}.get(word, "dim")
        self.line(f"{word.upper()}  {text}", style)

    def table(
        self,
        columns: Sequence[str],
        rows: Sequence[Sequence[object]],
        *,
        title: str | None = None,
        caption: str | None = None,
        styles: Sequence[str | None] = (),
        right: Sequence[str] = (),
    ) -> None:
        """A table; `styles` gives each row's rich style, `right` the columns aligned right."""
        cells = [["" if value is None else str(value) for value in row] for row in rows]
        if self._console is not None:
            from rich import box
            from rich.table import Table

            table = Table(
                title=title,
                caption=caption,
                box=box.SIMPLE_HEAD,
                title_justify="left",
                caption_justify="left",
                header_style="bold" if self.colour else "",
                title_style="bold" if self.colour else "",
            )
            for column in columns:
                table.add_column(column, justify="right" if column in right else "left", overflow="fold")
            for i, row in enumerate(cells):
                style = styles[i] if i < len(styles) and self.colour else None
                table.add_row(*row, style=style)
            self._console.print(table)
            return
        widths = [max([len(c), *(len(row[i]) for row in cells)]) for i, c in enumerate(columns)]

        def fmt(values: Sequence[str]) -> str:
            parts = [
                v.rjust(w) if c in right else v.ljust(w)
                for v, w, c in zip(values, widths, columns, strict=True)
            ]
            return "  ".join(parts).rstrip()

        if title:
            print(title, file=self.file)
        print(fmt(list(columns)), file=self.file)
        print("  ".join("-" * w for w in widths), file=self.file)
        for row in cells:
            print(fmt(row), file=self.file)
        if caption:
            print(caption, file=self.file)

    @contextmanager
    def progress(self, description: str, total: int = 0) -> Iterator[Bar]:
        """A progress bar (on a terminal with rich; elsewhere one line per phase and the total)."""
        if self._console is not None and self.is_terminal:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            with Progress(
                TextColumn("{task.description:<24}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=self._console,
            ) as progress:
                bar = _RichBar(progress, progress.add_task(description, total=total or None))
                yield bar
            return
        print(description, file=self.file, flush=True)
        plain = _PlainBar(self.file, total)
        yield plain
        print(f"  {plain.done:,} of {plain.total:,} rows", file=self.file, flush=True)


class Bar:
    """A progress bar: `advance(units, phase)` as work is done, `set_total(units)` once it is known."""

    done = 0
    total = 0

    def set_total(self, total: int) -> None:
        self.total = total

    def advance(self, units: int, phase: str) -> None:
        self.done += units


class _RichBar(Bar):
    def __init__(self, progress: Any, task: Any) -> None:
        self._progress, self._task = progress, task

    def set_total(self, total: int) -> None:
        super().set_total(total)
        self._progress.update(self._task, total=total)

    def advance(self, units: int, phase: str) -> None:
        super().advance(units, phase)
        self._progress.update(self._task, advance=units, description=phase)


class _PlainBar(Bar):
    # A log file or a pipe gets no carriage-return animation: one line per phase.
    def __init__(self, file: TextIO, total: int) -> None:
        self._file, self.total, self._said = file, total, set[str]()

    def advance(self, units: int, phase: str) -> None:
        super().advance(units, phase)
        if phase not in self._said:
            self._said.add(phase)
            print(f"  {phase}", file=self._file, flush=True)
