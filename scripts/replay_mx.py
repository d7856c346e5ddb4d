"""Replay MX hosts for the testbed: SMTP servers that answer like the major providers (#14).

    python3 scripts/replay_mx.py PIDFILE      (scripts/testbed start runs it)

Four hosts on loopback port 25, each replaying real replies (sources in tests/data/replies/):

  127.0.1.6  gmail-like    multi-line 550-5.1.1 / 550-5.2.1 replies, the per-mailbox receiving
                           rate 5.2.1, enhanced codes, "- gsmtp" tails
  127.0.1.7  outlook-like  directory-based edge blocking: 550 5.4.1 ... Access denied. AS(...)
  127.0.1.8  blocker       refuses our IP at MAIL FROM (Yahoo's 553 5.7.2 [TSS09])
  127.0.1.9  greylister    greylisting with a real delay (451 4.7.1 until 2 s after the first
                           try of a sender/recipient pair) and a rate limit: a second session
                           open at once gets 421 4.7.0 "too many connections"

Mailboxes that exist on every host: ann, bob, carol. "off" is disabled, "busy" is receiving
too fast (gmail-like). Nothing is ever delivered: DATA is refused.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time

USERS = {"ann", "bob", "carol"}
GREY_DELAY = 2.0


def _lines(code: str, text: list[str]) -> bytes:
    """A multi-line reply: every line but the last has a '-' after the code."""
    out = [f"{code}-{t}" for t in text[:-1]] + [f"{code} {text[-1]}"]
    return ("\r\n".join(out) + "\r\n").encode()


def gmail_rcpt(local: str, state: dict) -> bytes:
    # support.google.com/a/answer/3726730 (Gmail SMTP errors), as Gmail folds them
    if local in USERS:
        return b"250 2.1.5 OK a1b2c3 - gsmtp\r\n"
    if local == "off":
        return _lines(
            "550",
            [
                "5.2.1 The email account that you tried to reach is disabled. Learn more at",
                "5.2.1  https://support.google.com/mail/?p=DisabledUser a1b2c3 - gsmtp",
            ],
        )
    if local == "busy":
        return _lines(
            "550",
            [
                "5.2.1 The user you are trying to contact is receiving mail at a rate that",
                "5.2.1 prevents additional messages from being delivered. For more",
                "5.2.1 information, go to",
                "5.2.1  https://support.google.com/mail/?p=ReceivingRatePerm a1b2c3 - gsmtp",
            ],
        )
    return _lines(
        "550",
        [
            "5.1.1 The email account that you tried to reach does not exist. Please try",
            "5.1.1 double-checking the recipient's email address for typos or",
            "5.1.1 unnecessary spaces. Learn more at",
            "5.1.1  https://support.google.com/mail/?p=NoSuchUser a1b2c3 - gsmtp",
        ],
    )


def outlook_rcpt(local: str, state: dict) -> bytes:
    # learn.microsoft.com: Fix email delivery issues for error code 5.4.1 in Exchange Online
    if local in USERS:
        return b"250 2.1.5 Recipient OK\r\n"
    return (
        b"550 5.4.1 Recipient address rejected: Access denied. AS(201806281) "
        b"[AM0EUR02FT012.eop-EUR02.prod.protection.outlook.com]\r\n"
    )


def grey_rcpt(local: str, state: dict) -> bytes:
    first = state["seen"].setdefault(local, time.monotonic())
    if time.monotonic() - first < GREY_DELAY:
        return b"451 4.7.1 Greylisted, please try again in 2 seconds\r\n"
    if local in USERS:
        return b"250 2.1.5 Ok\r\n"
    return b"550 5.1.1 <unknown>: Recipient address rejected: User unknown\r\n"


HOSTS = {
    "127.0.1.6": {
        "banner": b"220 mx.google.example ESMTP a1b2c3 - gsmtp\r\n",
        "ehlo": [
            "mx.google.example at your service, [127.0.0.1]",
            "SIZE 157286400",
            "8BITMIME",
            "ENHANCEDSTATUSCODES",
            "PIPELINING",
            "SMTPUTF8",
        ],
        "rcpt": gmail_rcpt,
    },
    "127.0.1.7": {
        "banner": b"220 AM0EUR02FT012.mail.protection.outlook.example Microsoft ESMTP MAIL "
        b"Service ready\r\n",
        "ehlo": [
            "AM0EUR02FT012.mail.protection.outlook.example Hello [127.0.0.1]",
            "SIZE 157286400",
            "PIPELINING",
            "ENHANCEDSTATUSCODES",
            "8BITMIME",
            "SMTPUTF8",
        ],
        "rcpt": outlook_rcpt,
    },
    "127.0.1.8": {
        "banner": b"220 mta7.am0.yahoodns.example ESMTP ready\r\n",
        "ehlo": ["mta7.am0.yahoodns.example", "PIPELINING", "ENHANCEDSTATUSCODES", "8BITMIME"],
        # senders.yahooinc.com/smtp-error-codes: TSS09, our IP refused at MAIL FROM
        "mail": b"553 5.7.2 [TSS09] All messages from 127.0.0.1 will be permanently deferred; "
        b"Retrying will NOT succeed. See https://senders.yahooinc.com/error-codes\r\n",
        "rcpt": outlook_rcpt,
    },
    "127.0.1.9": {
        "banner": b"220 grey.replay.example ESMTP\r\n",
        "ehlo": ["grey.replay.example", "PIPELINING", "ENHANCEDSTATUSCODES"],
        "rcpt": grey_rcpt,
        "one_session": True,
    },
}


async def serve(ip: str, spec: dict) -> asyncio.AbstractServer:
    state: dict = {"seen": {}, "open": 0}

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        state["open"] += 1
        try:
            if spec.get("one_session") and state["open"] > 1:
                # Postfix anvil's words for a client over its connection limit
                writer.write(
                    b"421 4.7.0 grey.replay.example Error: too many connections from 127.0.0.1\r\n"
                )
                await writer.drain()
                return
            writer.write(spec["banner"])
            await writer.drain()
            while line := await asyncio.wait_for(reader.readline(), 60):
                cmd = line.decode("utf-8", "replace").strip()
                verb = cmd.split(" ", 1)[0].upper()
                if verb in ("EHLO", "HELO"):
                    reply = _lines("250", spec["ehlo"])
                elif verb == "MAIL":
                    reply = spec.get("mail", b"250 2.1.0 OK\r\n")
                elif verb == "RCPT":
                    address = cmd.split("<", 1)[-1].rsplit(">", 1)[0]
                    local = address.split("@", 1)[0].lower()
                    reply = spec["rcpt"](local.split("+", 1)[0] if "+" in local else local, state)
                elif verb == "DATA":
                    reply = b"554 5.7.0 this test server accepts no mail\r\n"
                elif verb == "QUIT":
                    writer.write(b"221 2.0.0 closing connection\r\n")
                    await writer.drain()
                    return
                else:
                    reply = b"250 2.0.0 OK\r\n"
                writer.write(reply)
                await writer.drain()
        except (OSError, TimeoutError, asyncio.IncompleteReadError):
            pass
        finally:
            state["open"] -= 1
            writer.close()

    return await asyncio.start_server(handle, ip, 25, reuse_address=True)


async def main() -> None:
    servers = [await serve(ip, spec) for ip, spec in HOSTS.items()]
    with open(sys.argv[1], "w") as f:
        f.write(str(os.getpid()))
    await asyncio.gather(*(s.serve_forever() for s in servers))


if __name__ == "__main__":
    asyncio.run(main())
