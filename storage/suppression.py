"""Small-number suppression for a table of counts published with its row, column and grand totals,
so that no hidden count can be worked out from what is published.

Zeros are published as 0. A zero says nobody in that cell did something, which singles nobody out;
the partner export prints 0 the same way (`insight_export.suppressed`), and ONS and NHS England
guidance on small numbers protect counts from 1 up (zeros are left shown unless they reveal
something about a group, which a count of reports cannot). Hidden counts are never zero, which is
also what makes the complementary suppression below sound.

The algorithm, on the table extended by its totals (one more row, the column totals, and one more
column, the row totals, meeting at the grand total):

1. Primary: hide every count from 1 to threshold - 1, cells and totals alike (a row total of 3 is as
   small a number as a cell of 3).
2. Complementary: look at the hidden cells as edges of a graph whose nodes are the rows and columns
   of the extended table. A hidden cell can be worked out exactly when it is not on a cycle of that
   graph: alone in its row or column (the line's equation gives it), or a bridge between two groups
   of hidden cells (adding up the equations of one group gives it). A hidden cell on a cycle is not
   determined: adding 1 to it and going round the cycle adding and taking 1 (totals move with their
   cells) keeps every published figure, and every hidden count is at least 1, so both directions stay
   non-negative. So, while some hidden cell is not on a cycle, hide one more published, non-zero
   count: for a cell alone in a line, the smallest in that line (preferring one whose own other line
   already has a hidden cell, then an inner cell over a total); for a bridge, the smallest that joins
   the two groups. Should none be found, every non-zero count is hidden, which is always safe.

Each table is suppressed on its own, so tables must not share cells or publish totals of each
other; the national export keeps its tables apart for that reason (storage/national_export.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

Position = tuple[int, int]  # (row, column) in the extended table; the last row and column are totals


@dataclass(frozen=True)
class Published:
    """A table as it may be published: None where a count is hidden."""

    cells: list[list[int | None]]
    row_totals: list[int | None]
    column_totals: list[int | None]
    total: int | None


def extended(cells: Sequence[Sequence[int]]) -> list[list[int]]:
    """The table with each row's total appended, then the row of column totals and the grand total."""
    rows = [[*row, sum(row)] for row in cells]
    width = len(rows[0]) if rows else 1
    return [*rows, [sum(row[c] for row in rows) for c in range(width)]]


def _on_cycle(edge: Position, hidden: set[Position]) -> bool:
    """Whether a hidden cell lies on a cycle of hidden cells: its row and column stay joined, through
    other hidden cells, once it is taken away."""
    start, goal = ("r", edge[0]), ("c", edge[1])
    seen = {start}
    todo = [start]
    while todo:
        side, index = todo.pop()
        for row, column in hidden:
            if (row, column) == edge:
                continue
            if side == "r" and row == index:
                node = ("c", column)
            elif side == "c" and column == index:
                node = ("r", row)
            else:
                continue
            if node == goal:
                return True
            if node not in seen:
                seen.add(node)
                todo.append(node)
    return False


def _group(edge: Position, hidden: set[Position]) -> tuple[set[int], set[int]]:
    """The rows and columns joined to a bridge's row by hidden cells other than the bridge."""
    rows, columns = {edge[0]}, set()
    changed = True
    while changed:
        changed = False
        for row, column in hidden - {edge}:
            if (row in rows) != (column in columns):
                rows.add(row)
                columns.add(column)
                changed = True
    return rows, columns


def _complement(edge: Position, hidden: set[Position], grid: list[list[int]]) -> Position | None:
    """The published non-zero count to hide so that a hidden cell no longer stands out."""
    last_row, last_column = len(grid) - 1, len(grid[0]) - 1
    row, column = edge
    rows_with = {r for r, _ in hidden}
    columns_with = {c for _, c in hidden}
    alone_in_row = sum(1 for r, _ in hidden if r == row) == 1
    alone_in_column = sum(1 for _, c in hidden if c == column) == 1
    if alone_in_row or alone_in_column:
        if alone_in_row:
            line = [(row, c) for c in range(last_column + 1)]
            crossing = columns_with
        else:
            line = [(r, column) for r in range(last_row + 1)]
            crossing = rows_with
        candidates = [p for p in line if p not in hidden and grid[p[0]][p[1]] > 0]

        def rank(p: Position) -> tuple[bool, bool, int]:
            other = p[1] if alone_in_row else p[0]
            is_total = p[0] == last_row or p[1] == last_column
            return (other not in crossing, is_total, grid[p[0]][p[1]])

        return min(candidates, key=rank, default=None)
    rows, columns = _group(edge, hidden)
    all_rows, all_columns = set(range(last_row + 1)), set(range(last_column + 1))
    joining = [(r, c) for r in rows for c in all_columns - columns] + [
        (r, c) for r in all_rows - rows for c in columns
    ]
    candidates = [p for p in joining if p not in hidden and grid[p[0]][p[1]] > 0]
    return min(
        candidates, key=lambda p: (p[0] == last_row or p[1] == last_column, grid[p[0]][p[1]]), default=None
    )


def protect(grid: list[list[int]], hidden: Iterable[Position]) -> set[Position]:
    """`hidden` (non-zero counts of the extended `grid`) and the complementary cells that put every
    one of them on a cycle, so none can be worked out."""
    chosen = set(hidden)
    while True:
        exposed = next((edge for edge in sorted(chosen) if not _on_cycle(edge, chosen)), None)
        if exposed is None:
            return chosen
        extra = _complement(exposed, chosen, grid)
        if extra is None:
            return {(r, c) for r, row in enumerate(grid) for c, value in enumerate(row) if value > 0}
        chosen.add(extra)


def primary(grid: list[list[int]], threshold: int) -> set[Position]:
    """The counts of the extended `grid` that are small: from 1 to threshold - 1."""
    return {(r, c) for r, row in enumerate(grid) for c, value in enumerate(row) if 0 < value < threshold}


def hidden_cells(cells: Sequence[Sequence[int]], threshold: int) -> set[Position]:
    """Where the counts of `cells`, with their totals, are hidden (positions in the extended table)."""
    grid = extended(cells)
    return protect(grid, primary(grid, threshold))


def publish(cells: Sequence[Sequence[int]], hidden: set[Position]) -> Published:
    """The table with these positions of its extended form hidden."""
    grid = extended(cells)
    shown = [
        [None if (r, c) in hidden else value for c, value in enumerate(row)] for r, row in enumerate(grid)
    ]
    return Published(
        cells=[row[:-1] for row in shown[:-1]],
        row_totals=[row[-1] for row in shown[:-1]],
        column_totals=shown[-1][:-1],
        total=shown[-1][-1],
    )


def suppress(cells: Sequence[Sequence[int]], threshold: int) -> Published:
    """The table as it may be published: small counts hidden, and enough others that none can be
    worked out from the rest."""
    return publish(cells, hidden_cells(cells, threshold))
