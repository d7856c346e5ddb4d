"""`learn` then `verify` on the real Unbound + Postfix testbed: a hard bounce newer than the
accepted probe wins over the stale (cached) verdict, and a newer probe wins over the bounce."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path

from .conftest import lab_args, read_csv, run_cli


def ses_bounce(address: str, when: float) -> str:
    """An Amazon SES bounce notification (docs.aws.amazon.com/ses, "Amazon SNS notification
    contents"), for an address of the lab."""
    stamp = datetime.fromtimestamp(when, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    return json.dumps(
        {
            "notificationType": "Bounce",
            "bounce": {
                "bounceType": "Permanent",
                "bounceSubType": "General",
                "timestamp": stamp,
                "bouncedRecipients": [
                    {
                        "emailAddress": address,
                        "status": "5.1.1",
                        "diagnosticCode": f"smtp; 550 5.1.1 <{address}>: Recipient address rejected: "
                        "User unknown in local recipient table",
                    }
                ],
            },
        }
    )


def run(tmp_path: Path, testbed: str, name: str, *extra: str) -> dict[str, list[str]]:
    src = tmp_path / "list.csv"
    src.write_text("id,email\n1,ann@good.lab.test\n2,bob@good.lab.test\n")
    out = tmp_path / f"{name}.csv"
    proc = run_cli("verify", str(src), "-o", str(out), *lab_args(testbed), *extra)
    assert proc.returncode == 0, proc.stderr
    rows = read_csv(out)
    col = {n: i for i, n in enumerate(rows[0])}
    return {
        r[0]: [
            r[col["lc_status"]],
            r[col["lc_reason"]],
            r[col["lc_checked_at"]],
            r[col["lc_smtp_code"]],
        ]
        for r in rows[1:]
    }


def test_bounce_beats_a_stale_accept_and_not_a_newer_one(tmp_path: Path, testbed: str) -> None:
    first = run(tmp_path, testbed, "first")
    assert first["1"][:2] == ["deliverable", "accepted"]
    probed = datetime.strptime(first["1"][2], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()
    bounced_at = probed + 2  # the campaign sent after the probe bounced
    (tmp_path / "ses.json").write_text(ses_bounce("ann@good.lab.test", bounced_at))
    assert run_cli("learn", str(tmp_path / "ses.json")).returncode == 0
    # the cached accept (probed before the bounce) is stale: the bounce wins
    second = run(tmp_path, testbed, "second")
    assert second["1"][2] == first["1"][2]  # reused from the cache, same probe time
    assert second["1"][:2] == ["undeliverable", "previously_bounced"]
    assert second["2"][:2] == ["deliverable", "accepted"]  # no evidence, unchanged
    # a probe newer than the bounce: the server accepts the mailbox now, and that wins
    while time.time() < bounced_at + 1.5:
        time.sleep(0.2)
    third = run(tmp_path, testbed, "third", "--no-cache")
    assert third["1"][2] > second["1"][2]
    assert third["1"][:2] == ["deliverable", "accepted"]
