"""SMTP servers for tests, on 127.0.3.x, all on one port (listclean's --smtp-port is global).

- ``Lab.aiosmtpd(ip, handler)``: a real aiosmtpd server with a scripted RCPT handler.
- ``Lab.raw(ip, ...)``: a minimal hand-rolled responder for the misbehaving servers aiosmtpd
  cannot imitate (slow or missing banner, 421 after N connections, dropped connections,
  endless lines, garbage bytes).
Every server counts the sessions opened to it.
"""

from __future__ import annotations

import asyncio
import random
import socket
import struct
import threading
import time
from collections.abc import Callable
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP


def pick_port(ips: list[str]) -> int:
    for _ in range(200):
        port = random.randint(20000, 60000)
        try:
            for ip in ips:
                with socket.socket() as s:
                    s.bind((ip, port))
            return port
        except OSError:
            continue
    raise RuntimeError("no common free port")


class Users:
    """RCPT handler: listed local parts accepted, special ones with their real-world replies."""

    SPECIAL = {
        "full": "552 5.2.2 <{a}>: Mailbox full",
        "gone": "550 5.2.1 <{a}>: Mailbox disabled",
        "quota": "452 4.2.2 The email account that you tried to reach is over quota",
    }

    def __init__(
        self,
        users: set[str] | None = None,
        catchall: bool = False,
        greylist: float | None = None,
        always: str | None = None,
    ) -> None:
        self.users = users or set()
        self.catchall = catchall
        self.greylist = greylist  # seconds an address is refused with 451 first
        self.always = always
        self.first_seen: dict[str, float] = {}
        self.rcpts: list[str] = []
        self.sessions = 0

    def reply(self, address: str) -> str:
        self.rcpts.append(address)
        local = address.rsplit("@", 1)[0]
        if self.always:
            return self.always
        if self.greylist is not None:
            first = self.first_seen.setdefault(address, time.monotonic())
            if time.monotonic() - first < self.greylist:
                return f"451 4.7.1 <{address}>: Recipient address rejected: Greylisted, try again later"
        if local in self.SPECIAL:
            return self.SPECIAL[local].format(a=address)
        if self.catchall or local in self.users:
            return "250 2.1.5 OK"
        return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown in relay recipient table"

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        result = self.reply(address)
        if result.startswith("250"):
            envelope.rcpt_tos.append(address)
        return result

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raise AssertionError("listclean must never send DATA")


class _Counting(Controller):
    def __init__(self, handler: Users, **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        self.users = handler

    def factory(self) -> SMTP:
        users = self.users

        class CountingSMTP(SMTP):
            def connection_made(self, transport: Any) -> None:
                users.sessions += 1
                super().connection_made(transport)

        return CountingSMTP(self.handler, enable_SMTPUTF8=True, hostname="mx.lab.test")


class Tracker:
    """Sessions across several Raw servers (one provider's hosts): how many were open at
    once, when each started, and how many RCPTs each carried."""

    def __init__(self) -> None:
        self.open = 0
        self.most_open = 0
        self.starts: list[float] = []
        self.rcpts_per_session: list[int] = []


class Raw:
    """A scriptable responder: EHLO/HELO/MAIL/RCPT/RSET/NOOP/QUIT, with misbehaviour knobs."""

    def __init__(
        self,
        rcpt: Callable[[str], str] | None = None,
        *,
        banner: str | None = "220 raw.lab.test ESMTP",
        banner_delay: float = 0.0,
        max_sessions: int | None = None,
        drop_after_rcpts: int | None = None,
        rcpt_raw: bytes | None = None,
        byte_delay: float = 0.0,
        ehlo: str = "250-raw.lab.test\r\n250 PIPELINING",
        reply_delay: float = 0.0,
        drop_on: Callable[[str], bool] | None = None,
        tracker: Tracker | None = None,
        max_open: int | None = None,
    ) -> None:
        self.tracker = tracker
        self.max_open = max_open  # sessions at once; more get 421 (Postfix anvil's limit)
        self.open = 0
        self.reply_delay = reply_delay  # seconds before every reply (a tarpit)
        self.peers: list[str] = []  # the client address of every connection
        self.allow_peers: set[str] | None = None  # others are reset at once (port 25 "blocked")
        self.drop_on = drop_on  # drop the connection when this RCPT address arrives
        self.rcpt = rcpt or (lambda a: "250 2.1.5 OK")
        self.banner, self.banner_delay = banner, banner_delay
        self.max_sessions = max_sessions
        self.drop_after_rcpts = drop_after_rcpts
        self.rcpt_raw = rcpt_raw
        self.byte_delay = byte_delay
        self.ehlo = ehlo
        self.sessions = 0
        self.rcpts: list[str] = []
        self.commands: list[str] = []
        self.writers: set[asyncio.StreamWriter] = set()
        self.reset = False  # answer every connection with a TCP reset

    async def _write(self, writer: asyncio.StreamWriter, data: bytes) -> None:
        if self.reply_delay:
            await asyncio.sleep(self.reply_delay)
        if self.byte_delay:
            for i in range(len(data)):
                writer.write(data[i : i + 1])
                await writer.drain()
                await asyncio.sleep(self.byte_delay)
        else:
            writer.write(data)
            await writer.drain()

    def kill_all(self) -> None:
        """Drop every open session at once (what a restart does to clients)."""
        for writer in list(self.writers):
            writer.transport.abort()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")[0]
        self.peers.append(peer)
        if self.allow_peers is not None and peer not in self.allow_peers:
            sock = writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()
            return
        self.sessions += 1
        self.writers.add(writer)
        tracker = self.tracker
        if tracker is not None:
            tracker.open += 1
            tracker.most_open = max(tracker.most_open, tracker.open)
            tracker.starts.append(time.monotonic())
        rcpts = 0
        if self.reset:
            sock = writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()
            return
        self.open += 1
        try:
            if self.max_open is not None and self.open > self.max_open:
                await self._write(
                    writer, b"421 4.7.0 raw.lab.test Error: too many connections from 127.0.0.1\r\n"
                )
                return
            if self.max_sessions is not None and self.sessions > self.max_sessions:
                await self._write(
                    writer, b"421 4.7.0 raw.lab.test Error: too many connections from 127.0.0.1\r\n"
                )
                return
            await asyncio.sleep(self.banner_delay)
            if self.banner is None:
                await asyncio.sleep(3600)
                return
            await self._write(writer, self.banner.encode() + b"\r\n")
            while True:
                line = await reader.readline()
                if not line:
                    return
                cmd = line.decode("utf-8", "replace").strip()
                self.commands.append(cmd)
                verb = cmd.split(" ", 1)[0].upper()
                if verb in ("EHLO", "HELO"):
                    await self._write(writer, self.ehlo.encode() + b"\r\n")
                elif verb == "MAIL":
                    await self._write(writer, b"250 2.1.0 Ok\r\n")
                elif verb == "RCPT":
                    rcpts += 1
                    address = cmd.split("<", 1)[1].rsplit(">", 1)[0]
                    self.rcpts.append(address)
                    if self.drop_after_rcpts is not None and rcpts > self.drop_after_rcpts:
                        return  # drop the connection mid-session
                    if self.drop_on is not None and self.drop_on(address):
                        writer.transport.abort()  # a reset, right when this RCPT arrives
                        return
                    if self.rcpt_raw is not None:
                        await self._write(writer, self.rcpt_raw)
                        continue
                    await self._write(writer, self.rcpt(address).encode() + b"\r\n")
                elif verb == "DATA":
                    raise AssertionError("listclean must never send DATA")
                elif verb == "QUIT":
                    await self._write(writer, b"221 2.0.0 Bye\r\n")
                    return
                else:
                    await self._write(writer, b"250 2.0.0 Ok\r\n")
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self.open -= 1
            if tracker is not None:
                tracker.open -= 1
                tracker.rcpts_per_session.append(rcpts)
            self.writers.discard(writer)
            writer.close()


class Lab:
    def __init__(self, ips: list[str]) -> None:
        self.port = pick_port(ips)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.controllers: list[Controller] = []
        self.servers: list[asyncio.AbstractServer] = []
        self.listeners: dict[str, tuple[asyncio.AbstractServer, Raw]] = {}

    def aiosmtpd(self, ip: str, handler: Users) -> Users:
        controller = _Counting(handler, hostname=ip, port=self.port)
        controller.start()
        self.controllers.append(controller)
        return handler

    def raw(self, ip: str, server: Raw) -> Raw:
        async def start() -> asyncio.AbstractServer:
            return await asyncio.start_server(server.handle, ip, self.port, limit=1 << 20)

        listener = asyncio.run_coroutine_threadsafe(start(), self.loop).result(10)
        self.servers.append(listener)
        self.listeners[ip] = (listener, server)
        return server

    def restart(self, ip: str, down_for: float) -> None:
        """Stop listening on ip, drop its sessions, and listen again after down_for seconds."""
        listener, server = self.listeners[ip]

        async def bounce() -> None:
            listener.close()
            server.kill_all()
            await asyncio.sleep(down_for)
            again = await asyncio.start_server(server.handle, ip, self.port, limit=1 << 20)
            self.servers.append(again)
            self.listeners[ip] = (again, server)

        asyncio.run_coroutine_threadsafe(bounce(), self.loop)

    def close(self) -> None:
        for c in self.controllers:
            c.stop()

        async def shutdown() -> None:
            for server in self.servers:
                server.close()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(shutdown(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()
