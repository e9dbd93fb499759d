"""Small-number suppression for a table of counts published with its row, column and grand totals,
so that no hidden count can be worked out from what is published.

Zeros are published as 0. A zero says nobody in that cell did something, which singles nobody out;
the partner export prints 0 the same way (`insight_export.suppressed`), and ONS and NHS England
guidance on small numbers protect counts from 1 up (zeros are left shown unless they reveal
something about a group, which a count of reports cannot). So a hidden count is never zero, and
the complementary suppression below assumes whoever reads the table knows that.

The algorithm, on the table extended by its totals (one more row, the column totals, and one more
column, the row totals, meeting at the grand total):

1. Primary: hide every count from 1 to threshold - 1, cells and totals alike (a row total of 3 is as
   small a number as a cell of 3).
2. Complementary: a hidden count can be worked out unless some other table agrees with everything
   published and differs there. Such a table exists exactly when the count lies on a cycle of
   hidden counts (alternating between rows and columns of the extended table) round which 1 can be
   added and taken in turn, totals moving with their cells, without any count falling below 1:
   anyone can tell that a hidden count is not 0, since zeros are published. (Two tables that agree
   on everything published differ by such cycles; that is what the relations of a table with its
   totals are.) So a hidden count alone in its row or column, a bridge between two groups of
   hidden counts, or a block of hidden 1s is given away. While one is, hide one more published
   count (each is at least the threshold, so it can give and take): the first, inner cells before
   totals and smallest first, that puts the exposed count on such a cycle; failing that the
   smallest in its row or column, and look again. Should none be left, every non-zero count is
   hidden, which is always safe (a cell can grow with its row, column and grand totals).

The search for a cycle is a walk over the hidden counts from the count's column back to its row
(or the reverse), so a table of a few dozen cells takes a few milliseconds. What it does not
defend against is someone who knows this algorithm and reasons from which cells it chose.

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


def _moves(grid: list[list[int]], cell: Position) -> tuple[bool, bool]:
    """Whether a hidden count can take part in a move round a cycle that adds to its line's
    first-named end (its row, going to its column) and one that takes from it. A move changes the
    count by +1 or -1 according to the direction and to whether the count is an inner cell, a total
    or the grand total; taking 1 is possible only from a count of 2 or more, since everyone knows a
    hidden count is at least 1 (zeros are published)."""
    last_row, last_column = len(grid) - 1, len(grid[0]) - 1
    row, column = cell
    sign = (-1 if row == last_row else 1) * (-1 if column == last_column else 1)
    can_take = grid[row][column] >= 2
    return (sign > 0 or can_take, sign < 0 or can_take)


def _undetermined(cell: Position, hidden: set[Position], grid: list[list[int]]) -> bool:
    """Whether another table agrees with everything published but differs at `cell`: a cycle of
    hidden counts through it along which 1 can be added and taken in turn, every count staying at
    least 1. Tried both ways round: out along its row to its column, then back to its row through
    the other hidden counts (or the reverse)."""
    forward, backward = _moves(grid, cell)
    for way, usable in ((0, forward), (1, backward)):
        if not usable:
            continue
        # Going row -> column uses a count's forward move, column -> row its backward one.
        start, goal = (("c", cell[1]), ("r", cell[0])) if way == 0 else (("r", cell[0]), ("c", cell[1]))
        seen = {start}
        todo = [start]
        while todo:
            side, index = todo.pop()
            for other in hidden:
                if other == cell:
                    continue
                row, column = other
                out, back = _moves(grid, other)
                if side == "r" and row == index and out:
                    node = ("c", column)
                elif side == "c" and column == index and back:
                    node = ("r", row)
                else:
                    continue
                if node == goal:
                    return True
                if node not in seen:
                    seen.add(node)
                    todo.append(node)
    return False


def protect(grid: list[list[int]], hidden: Iterable[Position]) -> set[Position]:
    """`hidden` (non-zero counts of the extended `grid`) and the complementary counts that leave
    every one of them undetermined."""
    chosen = set(hidden)
    last_row, last_column = len(grid) - 1, len(grid[0]) - 1

    def rank(p: Position) -> tuple[bool, int]:
        return (p[0] == last_row or p[1] == last_column, grid[p[0]][p[1]])

    while True:
        exposed = next((cell for cell in sorted(chosen) if not _undetermined(cell, chosen, grid)), None)
        if exposed is None:
            return chosen
        published = sorted(
            (
                (r, c)
                for r, row in enumerate(grid)
                for c, value in enumerate(row)
                if value and (r, c) not in chosen
            ),
            key=rank,
        )
        mends = (p for p in published if _undetermined(exposed, chosen | {p}, grid))
        in_line = (p for p in published if p[0] == exposed[0] or p[1] == exposed[1])
        extra = next(mends, None) or next(in_line, None)
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
