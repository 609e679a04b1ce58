"""Email through an SMTP relay (aiosmtplib): implicit TLS, STARTTLS and login per settings.
One UTF-8 plain-text message per delivery, the link (``facts["link"]``) in its body as is.

SMTP's own classes decide: a 4xx answer is temporary (Retry), a 5xx permanent (Failed), an
unreachable or silent server is Retry. Refused credentials are the operator's to fix, not the
receiver's fault, so they are Retry too: the deliveries wait for the fix instead of failing."""

from __future__ import annotations

import dataclasses
import re
import ssl
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr

import aiosmtplib

from crm_notifier.channels import _common
from crm_notifier.channels.base import (
    ChannelEnv,
    Delivered,
    Failed,
    OutboundMessage,
    Retry,
    SendResult,
    register,
)
from crm_notifier.settings import Settings

# Deliberately loose: one @, something before it, a domain (or [address literal]) after, no
# spaces or characters that would end a header. The server decides the rest.
_LABEL = r"[A-Za-z0-9\-\u0080-\uffff]+"
_ADDRESS = re.compile(rf"^[^@\s<>,;\"]+@(?:{_LABEL}(?:\.{_LABEL})*|\[[0-9A-Fa-f:.]+\])$")


def valid_address(address: str) -> bool:
    if len(address) > 254 or not _ADDRESS.match(address):
        return False
    try:
        Address(addr_spec=address)
    except (ValueError, IndexError):
        return False
    return True


def body_text(message: OutboundMessage) -> str:
    body = message.body.rstrip()
    link = _common.link_of(message)
    if link and link not in body:
        body = f"{body}\n\n{link}" if body else link
    return body + "\n"


def reply_reason(code: int, text: str) -> str:
    return f"SMTP {code} {_common.snippet(text)}".rstrip()


def response_result(exc: aiosmtplib.SMTPResponseException) -> Retry | Failed:
    reason = reply_reason(exc.code, exc.message)
    return Failed(reason) if 500 <= exc.code < 600 else Retry(reason)


class EmailChannel:
    name = "email"

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._sender = settings.smtp_from
        self._sender_domain = parseaddr(settings.smtp_from)[1].rpartition("@")[2] or None

    def build_message(self, message: OutboundMessage) -> EmailMessage:
        mail = EmailMessage()
        mail["From"] = self._sender
        mail["To"] = message.address
        mail["Subject"] = " ".join(message.subject.split())  # one line, whatever the template
        mail["Date"] = formatdate(localtime=True)
        mail["Message-ID"] = make_msgid(domain=self._sender_domain)
        if message.urgent:
            mail["Importance"] = "high"
            mail["X-Priority"] = "1"
        mail.set_content(body_text(message), charset="utf-8")
        return mail

    async def send(self, message: OutboundMessage) -> SendResult:
        address = message.address.strip()
        if not valid_address(address):
            return Failed(f"not an email address: {_common.snippet(address)!r}")
        message = dataclasses.replace(message, address=address)
        mail = self.build_message(message)
        settings = self._settings
        try:
            _, answer = await aiosmtplib.send(
                mail,
                hostname=settings.smtp_host,
                port=settings.smtp_port,
                username=settings.smtp_username or None,
                password=settings.smtp_password or None,
                use_tls=settings.smtp_use_tls,
                start_tls=settings.smtp_starttls and not settings.smtp_use_tls,
                timeout=settings.smtp_timeout_seconds,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            refused = exc.recipients[0] if exc.recipients else None
            if refused is None:
                return Retry("SMTP recipient refused")
            return response_result(refused)
        except aiosmtplib.SMTPAuthenticationError as exc:
            return Retry(f"SMTP login refused: {reply_reason(exc.code, exc.message)}")
        except aiosmtplib.SMTPResponseException as exc:
            return response_result(exc)
        except aiosmtplib.SMTPTimeoutError:
            return Retry(f"SMTP server silent for {settings.smtp_timeout_seconds:g} s")
        except (aiosmtplib.SMTPException, OSError, ssl.SSLError) as exc:
            return Retry(f"SMTP {type(exc).__name__}: {_common.snippet(str(exc))}".rstrip(": "))
        return Delivered(f"{mail['Message-ID']} {_common.snippet(answer)}".strip())


@register("email")
def build(env: ChannelEnv) -> EmailChannel | None:
    """None without ``smtp_host``; a sender address that cannot work is a configuration error,
    raised here, at start-up, rather than failing every message."""
    if not env.settings.smtp_host:
        return None
    if not valid_address(parseaddr(env.settings.smtp_from)[1]):
        raise ValueError(f"CRM_SMTP_FROM is not an email address: {env.settings.smtp_from!r}")
    return EmailChannel(env.settings)
