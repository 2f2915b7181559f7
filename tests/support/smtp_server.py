"""A real SMTP server (aiosmtpd) on a free port of 127.0.0.1, for tests of the mail the platform sends.

The server keeps its port across `stop()`/`start()`, so a test can take it down, let mail pile up,
and bring it back. It records every message it accepts; addresses starting with `refused` are
refused for good (550), as a real server refuses an unknown mailbox.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _Recorder:
    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower().startswith("refused"):
            return f"550 5.1.1 <{address}>: mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = BytesParser(policy=policy.default).parsebytes(envelope.original_content or envelope.content)
        with self.server.lock:
            self.server.messages.append(message)
            self.server.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 2.0.0 accepted"


class SmtpServer:
    def __init__(self, port: int | None = None, *, user: str = "", password: str = "") -> None:
        self.port = port or free_port()
        self.user, self.password = user, password
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.lock = threading.Lock()
        self._controller: Controller | None = None

    def _authenticate(self, server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and (
            auth_data.login.decode() == self.user and auth_data.password.decode() == self.password
        )
        # handled=False: the server itself answers 535 to a failed login.
        return AuthResult(success=ok, handled=False)

    def start(self) -> SmtpServer:
        """Listen (again) on the same port; returns once the server answers."""
        if self._controller is not None:
            return self
        options = (
            {"authenticator": self._authenticate, "auth_required": True, "auth_require_tls": False}
            if self.user
            else {}
        )
        self._controller = Controller(_Recorder(self), hostname="127.0.0.1", port=self.port, **options)
        self._controller.start()
        return self

    def stop(self) -> None:
        """Stop listening: clients get connection refused until `start()`."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def received(self) -> list[EmailMessage]:
        with self.lock:
            return list(self.messages)

    async def wait_for(self, count: int, within: float = 20.0) -> list[EmailMessage]:
        """The messages once at least `count` have arrived, or AssertionError after `within` seconds."""
        deadline = time.monotonic() + within
        while len(self.received()) < count:
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{count} mail(s) expected within {within} s, {len(self.received())} came"
                )
            await asyncio.sleep(0.02)
        return self.received()

    def __enter__(self) -> SmtpServer:
        return self.start()

    def __exit__(self, *_exc) -> None:
        self.stop()
