"""Small-number suppression: counts under the threshold are hidden, and enough others that no hidden
count can be worked out from what is published. Checked the way someone trying would: for each
hidden count, search for another table of whole numbers agreeing with every published cell and
total but differing there, every hidden count at least 1 (zeros are published, so anyone knows a
hidden count is not 0); finding none means the count is given away."""

from __future__ import annotations

import random

import pytest

from storage.suppression import Position, extended, hidden_cells, primary, publish, suppress

T = 5


def equations(rows: int, columns: int) -> list[list[tuple[Position, int]]]:
    """The extended table's relations, each as (position, sign) summing to zero."""
    found = []
    for r in range(rows + 1):
        found.append([*(((r, c), 1) for c in range(columns)), ((r, columns), -1)])
    for c in range(columns + 1):
        found.append([*(((r, c), 1) for r in range(rows)), ((rows, c), -1)])
    return found


def another_solution(grid: list[list[int]], hidden: set[Position], cell: Position, value: int) -> bool:
    """Whether some whole numbers of at least 1 in the hidden positions, with `cell` = `value`, agree
    with every relation (a depth-first search, solving any relation left with one unknown)."""
    rows, columns = len(grid) - 1, len(grid[0]) - 1
    bound = grid[-1][-1] + 1
    relations = equations(rows, columns)
    known: dict[Position, int] = {
        p: grid[p[0]][p[1]]
        for r in range(rows + 1)
        for c in range(columns + 1)
        if (p := (r, c)) not in hidden
    }

    def search(assigned: dict[Position, int]) -> bool:
        values = {**known, **assigned}
        free_left = False
        for relation in relations:
            unknown = [(p, s) for p, s in relation if p not in values]
            partial = sum(s * values[p] for p, s in relation if p in values)
            if not unknown:
                if partial != 0:
                    return False
            elif len(unknown) == 1:
                p, s = unknown[0]
                solved = -partial * s
                if not 1 <= solved <= bound:
                    return False
                return search({**assigned, p: solved})
            else:
                free_left = True
        if not free_left:
            return True
        p = next(p for p in sorted(hidden) if p not in values)
        return any(search({**assigned, p: v}) for v in range(1, bound + 1))

    return search({cell: value})


def determined(cells: list[list[int]], hidden: set[Position]) -> list[Position]:
    """The hidden positions whose count follows from what is published. The values a hidden count
    can take form a whole-number interval (the relations are those of a network), so trying one
    above and one below the true count is enough."""
    grid = extended(cells)
    return [
        p
        for p in sorted(hidden)
        if not any(
            v >= 1 and another_solution(grid, hidden, p, v)
            for v in (grid[p[0]][p[1]] - 1, grid[p[0]][p[1]] + 1)
        )
    ]


def check(cells: list[list[int]]) -> set[Position]:
    """Suppress `cells` and check everything the rules promise; return the hidden positions."""
    grid = extended(cells)
    hidden = hidden_cells(cells, T)
    assert primary(grid, T) <= hidden, "every small count, cell or total, is hidden"
    assert all(grid[r][c] > 0 for r, c in hidden), "zeros are published"
    assert determined(cells, hidden) == [], f"{cells}: a hidden count can be worked out"
    shown = publish(cells, hidden)
    assert [v for row in shown.cells for v in row if v is not None and 0 < v < T] == []
    return hidden


def test_nothing_small_publishes_everything() -> None:
    cells = [[10, 0, 7], [5, 6, 0]]
    assert suppress(cells, T).cells == cells
    assert suppress(cells, T).row_totals == [17, 11] and suppress(cells, T).total == 28
    assert check(cells) == set()


def test_one_small_cell_hides_a_rectangle() -> None:
    cells = [[3, 10, 20], [12, 9, 30], [40, 50, 60]]
    hidden = check(cells)
    assert (0, 0) in hidden and len(hidden) >= 4
    shown = suppress(cells, T)
    assert shown.cells[0][0] is None
    assert sum(v is None for v in shown.cells[0]) + (shown.row_totals[0] is None) >= 2


def test_the_checker_catches_a_lone_small_cell() -> None:
    # Hiding only the primary cell gives it away (its row total minus the rest).
    cells = [[3, 10], [12, 9]]
    assert determined(cells, {(0, 0)}) == [(0, 0)]


def test_a_bridge_between_two_groups_is_found_and_mended() -> None:
    # Two 2x2 blocks of small counts, joined by one more small count at (0, 2): every row and column
    # with a hidden count has two, yet adding up the first block's equations gives (0, 2) away.
    big = 20
    cells = [
        [2, 3, 1, big],
        [4, 2, big, big],
        [big, big, 3, 2],
        [big, big, 1, 4],
    ]
    pattern = primary(extended(cells), T)
    assert determined(cells, pattern) == [(0, 2)]
    check(cells)


def test_a_block_of_ones_is_not_given_away_by_knowing_hidden_counts_are_not_zero() -> None:
    # Four hidden 1s on a cycle: in a table where hidden counts could be 0 they could move, but a
    # hidden count is at least 1, so each row's 22 - 20 = 2 would give them all away.
    cells = [[1, 1, 20], [1, 1, 20], [20, 20, 20]]
    assert determined(cells, {(0, 0), (0, 1), (1, 0), (1, 1)}) == [(0, 0), (0, 1), (1, 0), (1, 1)]
    assert len(check(cells)) > 4


def test_small_totals_are_hidden_and_cannot_be_recovered() -> None:
    cells = [[1, 0, 2], [0, 0, 0], [10, 8, 9]]
    hidden = check(cells)
    assert (0, 3) in hidden  # the first row's total, 3, is a small number too
    assert suppress(cells, T).row_totals[1] == 0  # a zero row is published


def test_a_table_of_one_small_count_hides_all_of_it() -> None:
    shown = suppress([[2]], T)
    assert shown.cells == [[None]] and shown.row_totals == [None] and shown.total is None
    check([[2]])
    check([[0, 0], [0, 4]])


@pytest.mark.parametrize("seed", range(300))
def test_random_tables_give_nothing_away(seed: int) -> None:
    rng = random.Random(seed)
    rows, columns = rng.randint(1, 4), rng.randint(1, 4)
    # Mostly small counts and zeros, as a month in one area looks.
    cells = [[rng.choice([0, 0, 1, 2, 3, 4, 5, 6, 9, 15]) for _ in range(columns)] for _ in range(rows)]
    check(cells)
