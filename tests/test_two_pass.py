"""Big lists take two passes (verdicts spilled to temporary files, duplicates found with bounded
memory): the output must be byte for byte the one-pass output, and nothing may be left behind."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from listclean.errors import OutputError
from listclean.pipeline import verify
from listclean.settings import Settings

from .conftest import EXAMPLES


def _leftovers() -> list[str]:
    return [n for n in os.listdir(tempfile.gettempdir()) if n.startswith("listclean-pass1-")]


def _big_list(path: Path) -> None:
    rows = ["id,email,note"]
    for i in range(3000):
        email = [
            f"user{i % 700}@example.com",  # duplicates near and far
            f" User{i % 50}@Example.COM ",  # duplicates after normalization
            "bad@",
            "",
            f"ünï{i % 30}@bücher.de",  # the email-validator path, with duplicates
            f"info@company{i}.test",
        ][i % 6]
        rows.append(f'{i:05d},"{email}",n{i}')
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")


@pytest.mark.parametrize("source", ["contacts", "generated"])
@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_two_passes_write_what_one_pass_writes(tmp_path: Path, source: str, fmt: str) -> None:
    src = EXAMPLES / "contacts.csv"
    if source == "generated":
        src = tmp_path / "big.csv"
        _big_list(src)
    before = _leftovers()
    reports = {}
    for name, prepass in (("one", 10**9), ("two", 0)):
        settings = Settings(
            offline=True, prepass_rows=prepass, batch_rows=700, output_format=fmt,
            home=tmp_path / "home", split_dir=tmp_path / f"split-{name}",
        )  # fmt: skip
        result = verify(str(src), str(tmp_path / f"{name}.{fmt}"), settings, report_path=None)
        reports[name] = result.report
    assert (tmp_path / f"one.{fmt}").read_bytes() == (tmp_path / f"two.{fmt}").read_bytes()
    for split in (tmp_path / "split-one").iterdir():
        assert split.read_bytes() == (tmp_path / "split-two" / split.name).read_bytes()
    assert reports["one"]["counts"] == reports["two"]["counts"]
    assert reports["one"]["unique_addresses"] == reports["two"]["unique_addresses"]
    if source == "generated":
        assert reports["two"]["counts"]["flags"]["duplicate"] > 1000
    assert _leftovers() == before


def test_two_pass_failure_leaves_nothing_behind(tmp_path: Path) -> None:
    src = tmp_path / "big.csv"
    _big_list(src)
    before = _leftovers()
    out = tmp_path / "missing-dir" / "out.csv"
    settings = Settings(offline=True, prepass_rows=0, batch_rows=500, home=tmp_path / "home")
    with pytest.raises(OutputError):
        verify(str(src), str(out), settings, report_path=None)
    assert _leftovers() == before
    assert not out.exists()
