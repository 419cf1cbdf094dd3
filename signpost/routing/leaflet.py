"""The patient's leaflet (plain text and accessible HTML) and an SMS that never names a sensitive need."""

import html
from dataclasses import dataclass

from signpost.routing.service import Offer

SMS_LIMIT = 612  # four concatenated GSM-7 segments of 153 characters
# Words that would reveal a sensitive need if a service's name carried them to the patient's phone.
SENSITIVE_WORDS = ("abuse", "violence", "refuge", "domestic", "coercive")


@dataclass(frozen=True)
class Contact:
    name: str
    phone: str | None
    url: str | None


def _line(contact: Contact) -> str:
    how = contact.phone or contact.url or ""
    return f"{contact.name}: {how}" if how else contact.name


def text(offers: list[Offer], contacts: dict[str, Contact]) -> str:
    """The leaflet as plain text; sensitive needs are left out (they are given in person)."""
    lines = ["Local services that can help you", "Your GP practice suggested these services.", ""]
    for offer in offers:
        if offer.need.sensitive or not offer.matches:
            continue
        lines.append(f"Help with: {offer.need.display}")
        lines += [f"- {_line(contacts[m.service_id])}" for m in offer.matches]
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def html_page(offers: list[Offer], contacts: dict[str, Contact]) -> str:
    """The leaflet as accessible HTML: a language, a title, headings, lists, links that say where they go."""
    parts = [
        '<!doctype html><html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>Local services that can help you</title></head><body><main>",
        "<h1>Local services that can help you</h1><p>Your GP practice suggested these services.</p>",
    ]
    for index, offer in enumerate(offers):
        if offer.need.sensitive or not offer.matches:
            continue
        heading = f"need-{index}"
        title = html.escape(offer.need.display)
        parts.append(f'<section aria-labelledby="{heading}"><h2 id="{heading}">Help with: {title}</h2><ul>')
        for match in offer.matches:
            contact = contacts[match.service_id]
            item = f"<strong>{html.escape(contact.name)}</strong>"
            if contact.phone:
                tel = "".join(ch for ch in contact.phone if ch.isdigit() or ch == "+")
                item += f', phone <a href="tel:{html.escape(tel)}">{html.escape(contact.phone)}</a>'
            if contact.url:
                item += f', website <a href="{html.escape(contact.url)}">{html.escape(contact.url)}</a>'
            parts.append(f"<li>{item}</li>")
        parts.append("</ul></section>")
    parts.append("</main></body></html>")
    return "".join(parts)


def sms(offers: list[Offer], contacts: dict[str, Contact]) -> str:
    """At most 612 characters; names services only, never a need, and nothing from a sensitive need."""
    hidden = {m.service_id for o in offers if o.need.sensitive for m in o.matches}
    text_ = "From your GP practice: local services that can help you."
    seen: set[str] = set()
    for offer in offers:
        for match in offer.matches:
            contact = contacts[match.service_id]
            if match.service_id in hidden or match.service_id in seen:
                continue
            if any(word in contact.name.lower() for word in SENSITIVE_WORDS):
                continue
            line = "\n" + _line(contact)
            if len(text_) + len(line) > SMS_LIMIT:
                return text_
            seen.add(match.service_id)
            text_ += line
    return text_
