"""The reply corpus (#14): real replies from providers and MTAs, each with its source, stage,
exact text and the verdict it deserves, in tests/data/replies/*.jsonl (docs/replies.md).

- sisimai.jsonl: built by scripts/reply_corpus.py from sisimai's public bounce corpus
  (set-of-emails) and the replies its per-provider tables quote from provider documentation;
  the verdict comes from sisimai's own reason, with written exceptions, never from listclean.
- curated.jsonl: MTA documentation (Postfix, Exim, Sendmail, qmail), provider documentation
  (Google, Microsoft) and replies quoted in public code (Reacher, bounce logs).

Rule: undeliverable only when the reply positively says the mailbox does not exist or is
disabled; our IP (ip_blocked), our sender (sender_rejected), rates, policy or the server
itself are unknown. A 4xx is judged as it stands after the greylist retries.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from listclean.checks.replies import TEMPORARY, after_retries, classify
from listclean.model import Reason, status_of

DATA = Path(__file__).parent / "data" / "replies"
ROWS = [
    json.loads(line)
    for path in sorted(DATA.glob("*.jsonl"))
    for line in path.read_text(encoding="utf-8").splitlines()
]


def final(code: int, text: str) -> Reason:
    """The verdict a reply leaves in the output: a temporary one after the retries."""
    reason = classify(code, text, "ann@example.net")
    return after_retries(reason, text) if code // 100 == 4 and reason in TEMPORARY else reason


def test_corpus_size_and_sources() -> None:
    assert len(ROWS) >= 250
    providers = Counter(row["provider"] for row in ROWS)
    assert len(providers) >= 25, providers
    for row in ROWS:
        assert row["source"] and row["text"] and row["why"], row
        assert row["stage"] in ("", "EHLO", "MAIL", "RCPT"), row  # a probe never sends DATA
        assert row["status"] in ("undeliverable", "risky", "unknown"), row
        assert row["reason"] == "" or status_of(Reason(row["reason"])).value == row["status"]
    assert len({(row["code"], row["text"]) for row in ROWS}) == len(ROWS)  # no repeats


@pytest.mark.parametrize("row", ROWS, ids=[f"{r['provider']}-{i}" for i, r in enumerate(ROWS)])
def test_reply(row: dict) -> None:
    got = final(row["code"], row["text"])
    assert status_of(got).value == row["status"], (got, row["why"])
    if row["reason"]:
        assert got.value == row["reason"], row["why"]


def test_no_false_undeliverable() -> None:
    """The worst error: calling a mailbox undeliverable when the reply is about something
    else (the user would delete a real customer). Zero in the whole corpus."""
    wrong = [
        (row["code"], row["text"])
        for row in ROWS
        if status_of(final(row["code"], row["text"])).value == "undeliverable"
        and row["status"] != "undeliverable"
    ]
    assert wrong == []
