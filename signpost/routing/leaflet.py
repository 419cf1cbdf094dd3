"""The patient's leaflet (plain text and accessible HTML) and an SMS that never names a sensitive need.

The leaflet speaks to the patient: plain headings, each service once with every need it helps, each link once, the
practice and the date. Sensitive needs are left out of both: those services are given in person.
"""

import html
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache

from signpost.routing.service import Match, Offer

SMS_LIMIT = 612  # four concatenated GSM-7 segments of 153 characters
# Words that would reveal a sensitive need if a service's name carried them to the patient's phone.
SENSITIVE_WORDS = ("abuse", "violence", "refuge", "domestic", "coercive")
TITLE = "Local services that can help you"
# What each need is called when speaking to the patient (the clinical names stay in the record).
PATIENT_WORDS = {
    "homeless": "somewhere to stay",
    "housing-at-risk": "keeping your home",
    "temporary-accommodation": "your housing",
    "housing-conditions": "repairs and conditions at home",
    "overcrowding": "a home that is too small",
    "money-essentials": "money for essentials",
    "benefits-check": "checking your benefits",
    "debt-priority": "debts and bills",
    "fuel-poverty": "heating and energy bills",
    "food-insecurity": "food",
    "unemployment": "finding work",
    "carer": "caring for someone",
    "isolation": "meeting people",
    "early-years": "your young children",
    "domestic-abuse": "staying safe",
    "legal-immigration": "legal and immigration questions",
    "digital-exclusion": "getting online",
    "interpreter": "language and interpreting",
}


# Made for each service and need of every answer: each with an `__init__` of its own, not the dataclass's (which
# stays interpreted Python when compiled, as routing's Match says), so not frozen. A Contact is hashed by its fields
# all the same (its HTML is cached): nothing changes one once made.
@dataclass(init=False, unsafe_hash=True)
class Contact:
    name: str
    phone: str | None
    url: str | None
    address: str | None

    def __init__(self, name: str, phone: str | None, url: str | None, address: str | None = None) -> None:
        self.name, self.phone, self.url, self.address = name, phone, url, address


@dataclass(init=False)
class Entry:
    """One service, listed once, with every need (in the patient's words) it is offered for."""

    contact: Contact
    helps_with: list[str]
    show_url: bool  # False when another service above already printed the same link

    def __init__(self, contact: Contact, helps_with: list[str] | None = None, show_url: bool = True) -> None:
        self.contact, self.show_url = contact, show_url
        self.helps_with = [] if helps_with is None else helps_with


@dataclass(init=False)
class Section:
    heading: str
    entries: list[Entry]
    listed_above: list[str]  # services for this need that a section above lists

    def __init__(self, heading: str, entries: list[Entry] | None = None, listed_above: list[str] | None = None) -> None:
        self.heading = heading
        self.entries = [] if entries is None else entries
        self.listed_above = [] if listed_above is None else listed_above


@dataclass
class Leaflet:
    """What the leaflet says, whatever it is printed as."""

    practice: str
    on: date
    act_now: list[Entry] = field(default_factory=list)
    act_now_note: str | None = None
    call_999: bool = False
    sections: list[Section] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.act_now and not self.sections


def patient_words(offer: Offer) -> str:
    """The need as the patient would say it."""
    return PATIENT_WORDS.get(offer.need.code, offer.need.display.lower())


def contact_of(match: Match) -> Contact:
    return Contact(match.name, match.phone, match.url, match.address)


def build(offers: list[Offer], *, practice: str, on: date) -> Leaflet:
    """The leaflet's content: sensitive needs left out, each service once, each link once."""
    shown = [o for o in offers if not o.need.sensitive]
    leaflet = Leaflet(practice=practice, on=on)
    entries: dict[str, Entry] = {}
    links: set[str] = set()

    def entry_for(match: Match, words: str) -> tuple[Entry, bool]:
        found = entries.get(match.service_id)
        if found is None:
            found = entries[match.service_id] = Entry(contact_of(match))
            found.show_url = bool(match.url) and match.url not in links
            links.add(match.url or "")
            new = True
        else:
            new = False
        if words not in found.helps_with:
            found.helps_with.append(words)
        return found, new

    for offer in shown:
        if not offer.need.urgent:
            continue
        leaflet.call_999 = leaflet.call_999 or offer.call_999
        for match in offer.act_now:
            entry, new = entry_for(match, patient_words(offer))
            if new:
                leaflet.act_now.append(entry)
        if offer.act_now_note and not offer.act_now:
            leaflet.act_now_note = (
                "Contact the services below today. If you cannot reach them, go back to your GP practice."
            )
    for offer in shown:
        if not offer.matches:
            continue
        section = Section(heading=f"Help with {patient_words(offer)}")
        for match in offer.matches:
            entry, new = entry_for(match, patient_words(offer))
            if new:
                section.entries.append(entry)
            else:
                section.listed_above.append(entry.contact.name)
        leaflet.sections.append(section)
    return leaflet


def _heading_line(leaflet: Leaflet) -> str:
    return _from_on(leaflet.practice, leaflet.on)


@lru_cache(maxsize=256)
def _from_on(practice: str, on: date) -> str:
    # Formatting the month by name (strftime) cost more than the rest of the plain-text leaflet.
    return f"From {practice}, {on.day} {on:%B %Y}."


def _text_entry(entry: Entry) -> list[str]:
    lines = [f"- {entry.contact.name}"]
    if entry.contact.phone:
        lines.append(f"  Phone: {entry.contact.phone}")
    if entry.contact.url and entry.show_url:
        lines.append(f"  Website: {entry.contact.url}")
    if entry.contact.address:
        lines.append(f"  Address: {entry.contact.address}")
    if not entry.contact.phone and not entry.contact.url and not entry.contact.address:
        lines.append("  Ask at your GP practice's reception how to contact them.")
    lines.append(f"  Can help with: {', '.join(entry.helps_with)}")
    return lines


def text(leaflet: Leaflet) -> str:
    """The leaflet as plain text."""
    lines = [TITLE, _heading_line(leaflet), ""]
    if leaflet.act_now or leaflet.act_now_note or leaflet.call_999:
        lines.append("Act now: today")
        if leaflet.call_999:
            lines.append("If you are in danger now, call 999.")
        for entry in leaflet.act_now:
            lines += _text_entry(entry)
        if leaflet.act_now_note:
            lines.append(leaflet.act_now_note)
        lines.append("")
    for section in leaflet.sections:
        lines.append(section.heading)
        for entry in section.entries:
            lines += _text_entry(entry)
        for name in section.listed_above:
            lines.append(f"- {name} (see above)")
        lines.append("")
    if leaflet.empty:
        lines.append("Your GP practice will talk to you about where to get help.")
    return "\n".join(lines).rstrip() + "\n"


def _html_entry(entry: Entry) -> str:
    return _html_item(entry.contact, entry.show_url, tuple(entry.helps_with))


# The same services come back request after request: each entry's escaping is done once (directory contact details
# and needs in the patient's words, nothing about the patient).
@lru_cache(maxsize=4096)
def _html_item(contact: Contact, show_url: bool, helps_with: tuple[str, ...]) -> str:
    item = f"<strong>{html.escape(contact.name)}</strong>"
    if contact.phone:
        tel = "".join(ch for ch in contact.phone if ch.isdigit() or ch == "+")
        item += f'<br>Phone: <a href="tel:{html.escape(tel)}">{html.escape(contact.phone)}</a>'
    if contact.url and show_url:
        item += f'<br>Website: <a href="{html.escape(contact.url)}">{html.escape(contact.url)}</a>'
    if contact.address:
        item += f"<br>Address: {html.escape(contact.address)}"
    if not contact.phone and not contact.url and not contact.address:
        item += "<br>Ask at your GP practice's reception how to contact them."
    item += f"<br>Can help with: {html.escape(', '.join(helps_with))}"
    return f"<li>{item}</li>"


def html_body(leaflet: Leaflet, *, level: int = 2) -> str:
    """The leaflet's sections as HTML (headings from `level`), for a page or a document."""
    parts = [f"<p>{html.escape(_heading_line(leaflet))}</p>"]
    h = f"h{level}"
    if leaflet.act_now or leaflet.act_now_note or leaflet.call_999:
        parts.append(f'<section class="sp-act-now"><{h}>Act now: today</{h}>')
        if leaflet.call_999:
            parts.append("<p><strong>If you are in danger now, call 999.</strong></p>")
        if leaflet.act_now:
            parts.append("<ul>" + "".join(_html_entry(e) for e in leaflet.act_now) + "</ul>")
        if leaflet.act_now_note:
            parts.append(f"<p>{html.escape(leaflet.act_now_note)}</p>")
        parts.append("</section>")
    for section in leaflet.sections:
        parts.append(f"<section><{h}>{html.escape(section.heading)}</{h}><ul>")
        parts += [_html_entry(e) for e in section.entries]
        parts += [f"<li>{html.escape(name)} (see above)</li>" for name in section.listed_above]
        parts.append("</ul></section>")
    if leaflet.empty:
        parts.append("<p>Your GP practice will talk to you about where to get help.</p>")
    return "".join(parts)


def html_page(leaflet: Leaflet) -> str:
    """The leaflet as an accessible HTML document: a language, a title, headings, lists, links saying where they go."""
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{TITLE}</title></head><body><main><h1>{TITLE}</h1>"
        f"{html_body(leaflet)}</main></body></html>"
    )


def sms(offers: list[Offer]) -> str:
    """At most 612 characters; names services only, never a need, and nothing from a sensitive need; empty when there
    is nothing to send. Act-now services come first."""
    hidden = {m.service_id for o in offers if o.need.sensitive for m in (*o.matches, *o.act_now)}
    lead = "From your GP practice: local services that can help you."
    text_ = lead
    seen: set[str] = set()
    ordered = [m for o in offers if o.need.urgent for m in o.act_now] + [m for o in offers for m in o.matches]
    for match in ordered:
        if match.service_id in hidden or match.service_id in seen:
            continue
        if any(word in match.name.lower() for word in SENSITIVE_WORDS):
            continue
        if not match.phone and not match.url:
            continue  # a name alone is not something the patient can act on from a text
        line = f"\n{match.name}: {match.phone or match.url}"
        if len(text_) + len(line) > SMS_LIMIT:
            break
        seen.add(match.service_id)
        text_ += line
    return text_ if seen else ""
