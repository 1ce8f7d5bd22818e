"""Sending email: to the log (development), over SMTP, or through Amazon SES.

`EmailFailed` means "not sent, try again later"; its message holds no address or content.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage as MimeMessage
from typing import Protocol

import boto3
from botocore.exceptions import BotoCoreError, ClientError

SMTP_TIMEOUT_SECONDS = 10

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EmailMessage:
    to: str
    subject: str
    text: str


class EmailFailed(Exception):
    pass


class EmailSender(Protocol):
    def send(self, message: EmailMessage) -> None: ...


class ConsoleSender:
    """Development only: the message, link and all, goes to the log for a person to follow.
    (Refused in production, where the log must hold no live token.)"""

    def send(self, message: EmailMessage) -> None:
        log.info("email to %s: %s\n%s", message.to, message.subject, message.text)


class SmtpSender:
    def __init__(
        self,
        host: str,
        port: int,
        sender: str,
        *,
        starttls: bool = True,
        username: str = "",
        password: str = "",
    ) -> None:
        self._host, self._port, self._sender = host, port, sender
        self._starttls, self._username, self._password = starttls, username, password

    def send(self, message: EmailMessage) -> None:
        mime = MimeMessage()
        mime["From"], mime["To"], mime["Subject"] = self._sender, message.to, message.subject
        mime.set_content(message.text)
        try:
            with smtplib.SMTP(self._host, self._port, timeout=SMTP_TIMEOUT_SECONDS) as smtp:
                if self._starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self._username:
                    smtp.login(self._username, self._password)
                smtp.send_message(mime, to_addrs=[message.to])  # the one recipient, whatever the header says
        except (OSError, smtplib.SMTPException) as error:
            raise EmailFailed(f"SMTP: {type(error).__name__}") from None


class SesSender:
    """Amazon SES (API v2), with boto3's default credentials (IRSA in EKS)."""

    def __init__(self, sender: str) -> None:
        self._sender = sender
        self._client = boto3.client("sesv2")

    def send(self, message: EmailMessage) -> None:
        try:
            self._client.send_email(
                FromEmailAddress=self._sender,
                Destination={"ToAddresses": [message.to]},
                Content={
                    "Simple": {
                        "Subject": {"Data": message.subject, "Charset": "UTF-8"},
                        "Body": {"Text": {"Data": message.text, "Charset": "UTF-8"}},
                    }
                },
            )
        except ClientError as error:
            raise EmailFailed(f"SES: {error.response.get('Error', {}).get('Code', 'error')}") from None
        except BotoCoreError as error:
            raise EmailFailed(f"SES: {type(error).__name__}") from None
