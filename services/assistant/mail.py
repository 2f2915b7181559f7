"""Mail for consultations: the settings, the message, and two transports (SMTP, or a local maildir).

`make run` configures no SMTP server, so mail lands in a Maildir under MEDCODE_DATA_DIR/mail that
any mail reader opens. With MEDCODE_SMTP_HOST set, mail goes through that server. A transport says
whether a failure may pass (`MailDelayed`: the server is down, busy, or misconfigured; the mailer
tries again later) or never will (`MailRefused`: the server refused the address or the message).
"""

from __future__ import annotations

import ipaddress
import mailbox
import os
import smtplib
import ssl
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from pathlib import Path
from typing import Protocol

from services.assistant.consultation_store import ConsultationRecord
from services.common.settings import SettingsError

SYSTEM_NAMES = {1: "ICD-10-CM", 2: "ICD-10-PCS", 3: "CPT", 4: "HCPCS", 5: "ICD-9-CM", 6: "ICD-9-CM vol. 3"}
TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off", ""}


class MailDelayed(RuntimeError):
    """The mail could not be sent now; it may go later (server down, busy, or not configured right)."""


class MailRefused(RuntimeError):
    """The server refused the recipient or the message for good; sending it again cannot help."""


def _bool(env: dict[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None:
        return default
    if raw.strip().lower() in TRUE_WORDS:
        return True
    if raw.strip().lower() in FALSE_WORDS:
        return False
    raise SettingsError(f"{name}={raw!r}: use true or false")


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


@dataclass(frozen=True)
class MailSettings:
    """Where consultation mail goes: an SMTP server when `smtp_host` is set, else the maildir."""

    maildir: Path
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_user: str = ""
    smtp_password: str = ""
    starttls: bool = False
    sender: str = "medcode <no-reply@medcode.localhost>"
    timeout_seconds: float = 15.0

    @classmethod
    def from_env(cls, data_dir: Path, env: dict[str, str] | None = None) -> MailSettings:
        """MEDCODE_SMTP_HOST/PORT/USER/PASSWORD/FROM/STARTTLS; without a host, MEDCODE_DATA_DIR/mail."""
        env = dict(os.environ if env is None else env)
        host = env.get("MEDCODE_SMTP_HOST", "").strip()
        user = env.get("MEDCODE_SMTP_USER", "").strip()
        # A password goes over STARTTLS unless the server is on this machine.
        starttls = _bool(env, "MEDCODE_SMTP_STARTTLS", default=bool(user) and not _is_loopback(host))
        port_text = env.get("MEDCODE_SMTP_PORT", "").strip() or ("587" if starttls else "25")
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise SettingsError(f"MEDCODE_SMTP_PORT={port_text!r} is not a port number")
        sender = env.get("MEDCODE_SMTP_FROM", "").strip() or cls.sender
        if "@" not in parseaddr(sender)[1]:
            raise SettingsError(f"MEDCODE_SMTP_FROM={sender!r} is not an address (name <user@domain>)")
        if user and not starttls and not _is_loopback(host):
            raise SettingsError(
                "MEDCODE_SMTP_USER is set with MEDCODE_SMTP_STARTTLS=false for a remote server: "
                "the password would cross the network in clear"
            )
        return cls(
            maildir=data_dir / "mail",
            smtp_host=host,
            smtp_port=int(port_text),
            smtp_user=user,
            smtp_password=env.get("MEDCODE_SMTP_PASSWORD", ""),
            starttls=starttls,
            sender=sender,
        )


class MailTransport(Protocol):
    def send(self, message: EmailMessage) -> None:
        """Deliver or raise MailDelayed / MailRefused; blocking (the mailer runs it on a thread)."""

    def describe(self) -> str: ...


class SmtpTransport:
    def __init__(self, settings: MailSettings) -> None:
        self.settings = settings

    def describe(self) -> str:
        return f"smtp://{self.settings.smtp_host}:{self.settings.smtp_port}"

    def send(self, message: EmailMessage) -> None:
        s = self.settings
        try:
            with smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.timeout_seconds) as smtp:
                smtp.ehlo()
                if s.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                    smtp.ehlo()
                if s.smtp_user:
                    smtp.login(s.smtp_user, s.smtp_password)
                smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as error:
            codes = [code for code, _ in error.recipients.values()]
            if all(500 <= code < 600 for code in codes):
                raise MailRefused(f"recipient refused: {_first_reply(error.recipients)}") from None
            raise MailDelayed(f"recipient deferred: {_first_reply(error.recipients)}") from None
        except smtplib.SMTPDataError as error:
            text = f"{error.smtp_code} {_text(error.smtp_error)}"
            if 500 <= error.smtp_code < 600:
                raise MailRefused(f"message refused: {text}") from None
            raise MailDelayed(f"message deferred: {text}") from None
        except smtplib.SMTPResponseException as error:
            # Sender refused, authentication failed, TLS refused: the operator's to fix; keep the mail.
            raise MailDelayed(f"{type(error).__name__} {error.smtp_code} {_text(error.smtp_error)}") from None
        except (smtplib.SMTPException, OSError, ssl.SSLError) as error:
            raise MailDelayed(f"{type(error).__name__}: {error}") from None


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)


def _first_reply(recipients: dict) -> str:
    code, reply = next(iter(recipients.values()))
    return f"{code} {_text(reply)}"


class MaildirTransport:
    """Mail kept in a local Maildir (new/ holds what no reader has seen yet)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def describe(self) -> str:
        return f"maildir {self.path}"

    def send(self, message: EmailMessage) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            mailbox.Maildir(self.path, create=True).add(message)
        except OSError as error:
            raise MailDelayed(f"maildir {self.path}: {error}") from None


def transport_for(settings: MailSettings) -> MailTransport:
    return SmtpTransport(settings) if settings.smtp_host else MaildirTransport(settings.maildir)


def new_message_id(consultation_id: str, sender: str) -> str:
    """A Message-ID fixed once per consultation, so that a mail sent again is recognisably the same."""
    domain = parseaddr(sender)[1].rpartition("@")[2] or "medcode.localhost"
    return make_msgid(idstring=consultation_id, domain=domain)


def _one_line(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def compose(record: ConsultationRecord, sender: str) -> EmailMessage:
    """The mail of an answered consultation: the question, the answer (Markdown reads as text), the codes."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = Address(addr_spec=record.email)
    message["Subject"] = f"Your coding question: {_one_line(record.question, 60)}"
    message["Date"] = format_datetime(record.answered_at or record.created_at)
    message["Message-ID"] = record.message_id or new_message_id(record.id, sender)
    # Out-of-office replies and the like are not sent back to an automatic message (RFC 3834).
    message["Auto-Submitted"] = "auto-generated"
    quoted = "\n".join(f"> {line}" for line in record.question.splitlines() or [""])
    parts = [f"You asked:\n\n{quoted}"]
    if record.context_code:
        parts.append(f"About the code: {record.context_code}")
    parts.append(f"Answer:\n\n{record.answer or ''}")
    if record.citations:
        cited = "\n".join(
            f"- {c.code} ({SYSTEM_NAMES.get(c.system, 'code')}): {c.title}" for c in record.citations
        )
        parts.append(f"Codes cited (each one exists in the catalog):\n\n{cited}")
    parts.append(
        f"Consultation {record.id}. The answer is composed from the medcode catalog; check it against "
        "the official code set and guidelines before you bill."
    )
    message.set_content("\n\n".join(parts) + "\n")
    return message
