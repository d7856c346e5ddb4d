"""The progress bar counts rows, not physical lines (#20 item 8): a quoted cell that spans
lines and the blank lines between CSV records are no rows, so a total taken from line counts
never met the rows done. Property: whatever the batch size and the shape of the file, every
stage ends with done == total == the number of output rows."""

from __future__ import annotations

import random
from collections import defaultdict
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from listclean.pipeline import verify
from listclean.settings import Settings

from .conftest import read_csv


def _document(rng: random.Random, rows: int) -> str:
    out = ["id,note,email\n"]
    for i in range(rows):
        note = rng.choice(["plain", '"two\nlines"', '"three\r\nline\nnote"', '"a, b"', ""])
        out.append(f"{i},{note},u{i}@example.com\n")
        if rng.random() < 0.2:
            out.append("\n" * rng.randint(1, 3))  # blank lines between records
    return "".join(out)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10**6), rows=st.integers(1, 300), batch=st.integers(1, 64))
def test_progress_counts_rows(tmp_path_factory, seed: int, rows: int, batch: int) -> None:
    tmp = tmp_path_factory.mktemp("progress")
    src = tmp / "list.csv"
    src.write_text(_document(random.Random(seed), rows), newline="")
    done: dict[str, int] = defaultdict(int)
    last_total: dict[str, int | None] = {}

    def progress(stage: str, advance: int, total: int | None) -> None:
        done[stage] += advance
        last_total[stage] = total

    base = Settings(offline=True, home=tmp / "home", batch_rows=batch, chunk_rows=2 * batch)
    verify(str(src), str(tmp / "out.csv"), base, progress=progress)
    out_rows = len(read_csv(tmp / "out.csv")) - 1
    assert out_rows == rows
    assert done["write"] == rows
    assert last_total["write"] == rows  # the bar ends full, at the number of rows
    # lines overcount whenever a note spans lines or blank lines sit between records
    physical = src.read_text().count("\n") - 1
    assert physical >= rows


def test_rows_estimate_is_byte_scaled(tmp_path: Path) -> None:
    """Before the end the total is the rows read so far scaled by the bytes left: for a file
    of identical records it is exact from the first batch on."""
    from listclean.io.source import open_source

    src_path = tmp_path / "even.csv"
    records = "".join(f'{i:04d},"x\ny",a{i:04d}@example.com\n' for i in range(2000))
    src_path.write_text("id,note,email\n" + records)
    src = open_source(str(src_path))
    assert src.lines == 4000  # two physical lines per record
    estimates = []
    for _ in src.batches(100):
        estimates.append(src.rows_estimate())
    assert estimates[-1] == 2000
    assert all(abs(e - 2000) <= 2000 * 0.02 for e in estimates), estimates[:5]
