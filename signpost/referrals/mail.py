"""E-mail to a provider about its referrals: that there are new or late ones, never what they are for."""

import logging
import smtplib
from email.message import EmailMessage

from signpost.config import Settings

log = logging.getLogger("signpost.referrals.mail")
TIMEOUT_SECONDS = 10


def enabled(settings: Settings) -> bool:
    return bool(settings.smtp_host)


def new_referral_message(*, service_name: str, token_hint: str, base_url: str) -> tuple[str, str]:
    """(subject, body) for a new referral: the service and the token's first group; no need, no person."""
    subject = f"New referral to {service_name}"
    body = (
        f"A new referral to {service_name} has been made through Signpost.\n\n"
        f"Its token starts {token_hint}. The person will give you the whole token when they contact you.\n\n"
        f"Sign in with your organisation's key to answer it: {base_url.rstrip('/')}/provider\n"
    )
    return subject, body


def late_message(*, count: int, working_days: int, base_url: str) -> tuple[str, str]:
    subject = f"{count} referral{'s' if count != 1 else ''} waiting for a reply"
    body = (
        f"{count} referral{'s' if count != 1 else ''} to your services "
        f"{'have' if count != 1 else 'has'} had no reply for more than {working_days} working days.\n\n"
        f"Please accept or decline {'them' if count != 1 else 'it'}: {base_url.rstrip('/')}/provider\n"
    )
    return subject, body


def send(settings: Settings, *, to: str, subject: str, body: str) -> bool:
    """Send one message through the configured server; a failure is logged (without the address) and returned."""
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = settings.smtp_from, to, subject
    message.set_content(body)
    try:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=TIMEOUT_SECONDS) as server:
            if settings.smtp_starttls:
                server.starttls()
            if settings.smtp_username:
                server.login(settings.smtp_username, settings.smtp_password)
            server.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        log.warning("referral e-mail not sent", extra={"error": type(exc).__name__})
        return False
    return True
