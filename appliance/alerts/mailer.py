"""One e-mail through the admin's SMTP relay: STARTTLS (or TLS from the first byte) and a password login.

smtplib, ssl and email load with the first e-mail, so a box that sends none never carries them.
"""

from __future__ import annotations

from pathlib import Path

from ..config.alerts import Smtp

AUDIO_TYPES = {".flac": ("audio", "flac"), ".wav": ("audio", "wav")}


def send_mail(smtp: Smtp, password: str | None, to: str, subject: str, body: str,
              attachment: Path | None = None) -> None:
    """Send, or raise (OSError, smtplib.SMTPException, ssl.SSLError): the sender retries later."""
    import smtplib
    import ssl
    from email.message import EmailMessage
    from email.utils import formatdate, make_msgid

    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = smtp.sender, to, subject
    message["Date"], message["Message-ID"] = formatdate(localtime=False), make_msgid(domain="hotline.local")
    message.set_content(body)
    if attachment is not None:
        maintype, subtype = AUDIO_TYPES.get(attachment.suffix.lower(), ("application", "octet-stream"))
        message.add_attachment(attachment.read_bytes(), maintype=maintype, subtype=subtype,
                               filename=attachment.name)
    context = ssl.create_default_context(cafile=smtp.ca_file)  # the certificate is checked, and its name
    if smtp.security == "tls":
        client: smtplib.SMTP = smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=smtp.timeout, context=context)
    else:
        client = smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout)
    with client:
        client.ehlo()
        if smtp.security == "starttls":
            client.starttls(context=context)  # raises if the relay offers no STARTTLS: never a plain fallback
            client.ehlo()
        if smtp.username:
            if password is None:
                raise OSError("the relay needs a password: none is set (data/smtp-password)")
            client.login(smtp.username, password)
        client.send_message(message)
