"""#13 items 9-12: input edge cases that lost or shifted data.

- 9: only listclean's own columns, from a file that is recognisably a listclean output, are
  replaced; any other lc_ column is the user's and is kept value for value.
- 10: the outcome does not depend on the batch size (rows with a missing field included).
- 11: Excel's "sep=;" line, a header with an "@" in it, a header-less list whose first address
  is blank; real exports' headers (Mailchimp, HubSpot, Excel "CSV UTF-8", Google Sheets).
- 12: a header line over 1 MiB, a 10 MB cell, many 600 KB cells: read, value for value.
"""

from __future__ import annotations

import csv
import dataclasses
import io
from pathlib import Path

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from listclean.model import LC_COLUMNS
from listclean.pipeline import verify
from listclean.settings import Settings

from ..conftest import read_csv, run_cli


def _offline(src: Path, out: Path, **kw: object) -> list[list[str]]:
    base = Settings(offline=True, home=src.parent / "home")
    verify(str(src), str(out), dataclasses.replace(base, **kw), report_path=None)
    return read_csv(out)


# -- 9 -----------------------------------------------------------------------------------


def test_user_lc_columns_are_kept(tmp_path: Path) -> None:
    src = tmp_path / "l.csv"
    src.write_text("lc_email,name,lc_status\nann@example.com,Ann,vip\n")
    rows = read_csv(run_cli("verify", str(src), "--offline", "-o", "-").stdout)
    assert rows[0][:3] == ["lc_email", "name", "lc_status"]
    assert rows[1][:3] == ["ann@example.com", "Ann", "vip"]
    assert rows[1][3:5] == ["unknown", "not_probed"]  # the address was found and checked


def test_a_listclean_output_is_reverified_in_place(tmp_path: Path) -> None:
    src = tmp_path / "l.csv"
    src.write_text("email,lc_note\nann@example.com,keep me\n")
    once = tmp_path / "once.csv"
    assert run_cli("verify", str(src), "--offline", "-o", str(once)).returncode == 0
    twice = read_csv(run_cli("verify", str(once), "--offline", "-o", "-").stdout)
    assert twice == read_csv(once)
    assert twice[0] == ["email", "lc_note", *LC_COLUMNS]


# -- 10 ----------------------------------------------------------------------------------

# A row of one to three fields (a missing field is a short row); never a blank line, which in
# a CSV of several columns is no record at all.
ROW = st.tuples(st.sampled_from(["ann", "bob", "cy", "x y", ""]), st.integers(1, 3)).map(
    lambda t: ",".join([f"{t[0]}@example.com" if t[0] else "", "n", "m"][: t[1]]) or ",n"
)


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    phases=[Phase.explicit, Phase.generate],  # shrinking 300-row lists takes minutes
)
@given(st.lists(ROW, min_size=300, max_size=700), st.integers(0, 10))
def test_outcome_does_not_depend_on_batch_size(
    tmp_path: Path, rows: list[str], short_first: int
) -> None:
    lines = ["email,name,note"]
    # some short rows (a missing field) right where byte ranges start, and everywhere else
    lines += (
        rows[:short_first]
        + [r.split(",")[0] or ",n" for r in rows[short_first : short_first + 5]]
        + rows[short_first + 5 :]
    )
    src = tmp_path / "l.csv"
    src.write_text("\n".join(lines) + "\n")
    outputs = []
    for batch in (1, 7, 1000, Settings().batch_rows):
        try:
            outputs.append(("ok", _offline(src, tmp_path / f"o{batch}.csv", batch_rows=batch)))
        except Exception as exc:  # noqa: BLE001 - the outcome, whatever it is, must match
            outputs.append(("error", type(exc).__name__))
    assert all(o == outputs[0] for o in outputs), outputs[0][0]
    assert outputs[0][0] == "ok"
    assert len(outputs[0][1]) == len(lines)


def test_short_row_at_a_range_start(tmp_path: Path) -> None:
    src = tmp_path / "l.csv"
    body = [f"u{i}@example.com,Name {i},x" for i in range(120_000)]
    body[3999] = "short@example.com"
    src.write_text("email,name,note\n" + "\n".join(body) + "\n")
    rows = _offline(src, tmp_path / "o.csv")
    assert len(rows) == 120_001 and rows[4000][:3] == ["short@example.com", "", ""]


# -- 11 ----------------------------------------------------------------------------------


def test_excel_sep_line(tmp_path: Path) -> None:
    for sep in (";", "\t", "|"):
        src = tmp_path / "l.csv"
        src.write_text(f"sep={sep}\nName{sep}E-Mail\nAnn{sep}ann@example.com\n")
        proc = run_cli("verify", str(src), "--offline", "-o", "-")
        assert proc.returncode == 0, proc.stderr
        lines = proc.stdout.decode().splitlines()
        assert lines[0] == f"sep={sep}"  # written back: Excel opens the output the same way
        rows = list(csv.reader(io.StringIO("\n".join(lines[1:])), delimiter=sep))
        assert rows[0][:2] == ["Name", "E-Mail"] and rows[1][:4] == [
            "Ann",
            "ann@example.com",
            "unknown",
            "not_probed",
        ]


def test_header_with_an_at_sign(tmp_path: Path) -> None:
    src = tmp_path / "l.csv"
    src.write_text("Email (name@company.com),Name\nann@example.com,Ann\n")
    rows = read_csv(run_cli("verify", str(src), "--offline", "-o", "-").stdout)
    assert rows[0][:2] == ["Email (name@company.com)", "Name"]
    assert rows[1][:4] == ["ann@example.com", "Ann", "unknown", "not_probed"]


def test_headerless_with_a_blank_first_address(tmp_path: Path) -> None:
    src = tmp_path / "l.csv"
    src.write_text("Ann,\nBob,bob@example.com\nCy,cy@example.com\n")
    rows = read_csv(run_cli("verify", str(src), "--offline", "-o", "-").stdout)
    assert rows[0][:2] == ["column_1", "column_2"]
    assert [r[:2] for r in rows[1:]] == [
        ["Ann", ""],
        ["Bob", "bob@example.com"],
        ["Cy", "cy@example.com"],
    ]


# Header rows as the products export them (column names from their export documentation).
EXPORTS = {
    "mailchimp": (
        "Email Address,First Name,Last Name,Address,Phone Number,Birthday,MEMBER_RATING,"
        "OPTIN_TIME,OPTIN_IP,CONFIRM_TIME,CONFIRM_IP,LATITUDE,LONGITUDE,GMTOFF,DSTOFF,TIMEZONE,"
        "CC,REGION,LAST_CHANGED,LEID,EUID,NOTES,TAGS\n",
        'ann@example.com,Ann,Lee,,,,2,2024-01-02 10:00:00,,,,,,,,,US,CA,2024-01-02 10:00:00,1,a1,,"tag one"\n',
        "utf-8",
    ),
    "hubspot": (
        "Record ID,First Name,Last Name,Email,Phone Number,Contact owner,Lead Status,Create Date\n",
        "101,Ann,Lee,ann@example.com,,Owner,New,2024-01-02 10:00\n",
        "utf-8",
    ),
    "excel_csv_utf8": ("Name;E-Mail;Stadt\r\n", "Jürgen;juergen@example.de;Köln\r\n", "utf-8-sig"),
    "google_sheets": ("Name,Email,Notes\r\n", 'Ann,ann@example.com,"likes, commas"\r\n', "utf-8"),
}


def test_real_export_headers(tmp_path: Path) -> None:
    for name, (header, row, encoding) in EXPORTS.items():
        src = tmp_path / f"{name}.csv"
        src.write_bytes((header + row).encode(encoding))
        proc = run_cli("verify", str(src), "--offline", "-o", "-")
        assert proc.returncode == 0, (name, proc.stderr)
        sep = ";" if ";" in header else ","
        assert proc.stdout.startswith(b"\xef\xbb\xbf") == (encoding == "utf-8-sig")  # kept
        out = read_csv(proc.stdout.removeprefix(b"\xef\xbb\xbf"), delimiter=sep)
        head = next(csv.reader(io.StringIO(header.lstrip("\ufeff")), delimiter=sep))
        data = next(csv.reader(io.StringIO(row), delimiter=sep))
        assert out[0][: len(head)] == head, name
        assert out[1][: len(data)] == data, name
        assert out[1][len(data)] == "unknown", name  # the address column was found


# -- 12 ----------------------------------------------------------------------------------


def test_huge_header_and_cells(tmp_path: Path) -> None:
    cases = {
        "wide_header": (
            "email," + ",".join(f"h{i}" for i in range(150_000)),
            "ann@example.com" + ",v" * 150_000,
        ),
        "ten_mb_cell": ("email,notes", "ann@example.com," + "x" * (10 * 1024 * 1024)),
        "many_600k": (
            "email,notes",
            "\n".join(f"u{i}@example.com," + "y" * (600 * 1024) for i in range(12)),
        ),
    }
    for name, (header, body) in cases.items():
        src = tmp_path / f"{name}.csv"
        src.write_text(header + "\n" + body + "\n")
        out = tmp_path / f"{name}.out.csv"
        proc = run_cli("verify", str(src), "--offline", "-o", str(out))
        assert proc.returncode == 0, (name, proc.stderr[-500:])
        rows = read_csv(out)
        assert len(rows) == 1 + body.count("\n") + 1, name
        width = len(header.split(","))
        source = read_csv(src)
        assert [r[:width] for r in rows] == source, name
