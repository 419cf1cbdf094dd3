"""Needs → service categories (the ConceptMap in `fhir/`) → eligible services, ranked, each with reasons."""

import math
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlmodel import Session

from signpost.directory import read_model
from signpost.geography import service as geography
from signpost.template import conformance
from signpost.template.needs import Assessment, Need, Preferences

UK = ZoneInfo("Europe/London")


# Routing makes dozens of these a request. Not frozen (a frozen dataclass sets each field through
# object.__setattr__, several times the cost), slotted (no attribute can be added by mistake), and with an `__init__`
# of their own: compiled (signpost.native), the one a dataclass generates stays interpreted Python, and made a Match
# in about 5,800 machine instructions (bench/README.md, "Dataclasses' own constructors").
@dataclass(slots=True, init=False)
class Match:
    """One service offered for one need, and why (and, for a near miss, which of the patient's wishes it misses)."""

    service_id: str
    name: str
    reasons: list[str]
    same_day: bool
    distance_km: float | None
    description: str | None
    phone: str | None
    url: str | None
    misses: list[str]
    crisis_access: str | None
    verified: bool
    address: str | None  # the nearest premises (or the first listed, with no place to measure from)
    # "Open today 09:00 to 17:00", "Not open today", "Closed today (Christmas Day)", or None when no times are listed
    open_today: str | None

    def __init__(
        self,
        service_id: str,
        name: str,
        reasons: list[str],
        same_day: bool = False,
        distance_km: float | None = None,
        description: str | None = None,
        phone: str | None = None,
        url: str | None = None,
        misses: list[str] | None = None,
        crisis_access: str | None = None,
        verified: bool = False,
        address: str | None = None,
        open_today: str | None = None,
    ) -> None:
        self.service_id, self.name, self.reasons = service_id, name, reasons
        self.same_day, self.distance_km, self.description = same_day, distance_km, description
        self.phone, self.url, self.misses = phone, url, [] if misses is None else misses
        self.crisis_access, self.verified, self.address, self.open_today = crisis_access, verified, address, open_today

    @property
    def contactable(self) -> bool:
        """Whether the answer can tell the patient how to reach it (a phone, a website or premises)."""
        return bool(self.phone or self.url or self.address or self.distance_km is not None)


@dataclass(slots=True, init=False)  # its own __init__, as Match
class Offer:
    """The services offered for one need; `note` says plainly why there is no full fit and what to do instead;
    `act_now` (urgent needs) holds the 24-hour and same-day services whatever the preferences."""

    need: Need
    category_code: str | None
    matches: list[Match]
    note: str | None
    act_now: list[Match]
    act_now_note: str | None

    def __init__(
        self,
        need: Need,
        category_code: str | None,
        matches: list[Match] | None = None,
        note: str | None = None,
        act_now: list[Match] | None = None,
        act_now_note: str | None = None,
    ) -> None:
        self.need, self.category_code, self.note, self.act_now_note = need, category_code, note, act_now_note
        self.matches = [] if matches is None else matches
        self.act_now = [] if act_now is None else act_now

    @property
    def call_999(self) -> bool:
        """A risk of harm now: 999 comes first."""
        return self.need.danger


def forget_directory() -> None:
    """Read the directory afresh at the next route in this process."""
    read_model.forget()


def categories_for(need_code: str) -> list[str]:
    """The service categories a need routes to, in the ConceptMap's order."""
    return list(conformance.need_categories().get(need_code, ()))


def _area_reason(
    candidate: read_model.Candidate, place: geography.Place | None, local_authorities: list[str]
) -> str | None:
    """Why the service covers the patient, or None when it does not (or cannot be shown to)."""
    if not candidate.areas:
        return "No area limits listed"
    reasons = []
    for area in candidate.areas:
        if area.scope == "national":
            reasons.append("National service")
        elif area.scope == "local_authority":
            here = place.local_authority if place and place.known and place.local_authority else None
            if (here and area.area_code == here) or (not here and area.area_code in local_authorities):
                reasons.append("Covers the whole city")
        elif (
            area.scope == "ward"
            and place
            and place.known
            and area.area_code == place.ward_code
            and area.area_vintage in (None, place.ward_vintage)
        ):
            reasons.append(f"Covers the patient's ward ({place.ward_name or place.ward_code})")
    # The narrowest cover is the most telling reason.
    return sorted(reasons, key=lambda r: ("ward" not in r, "city" not in r))[0] if reasons else None


def _age_reason(service: read_model.Facts, age: int | None) -> tuple[bool, str | None]:
    low, high = service.minimum_age, service.maximum_age
    if low is None and high is None:
        return True, None
    limits = f"{low or 0}+" if high is None else f"{low or 0} to {high}"
    if age is None:
        return True, f"Ages {limits} (age not given)"
    if (low is not None and age < low) or (high is not None and age > high):
        return False, None
    return True, f"Age fits ({limits})"


def _mode_fits(service: read_model.Facts, preferences: Preferences) -> tuple[str | None, str | None]:
    """(reason, None) when the service can reach the patient as they asked, else (None, what it misses and what to
    do instead). A phone service with no number listed does not count as reachable by phone."""
    phoneable = service.by_phone and bool(service.phone)
    if preferences.no_phone:
        if service.in_person:
            return "Face to face", None
        if phoneable:
            return None, "By phone only: the practice can make the first call with the patient"
        if service.online:
            return None, "Online only: ask reception or a library to help the patient get online"
        return None, "How it is reached is not listed: ask reception to contact it for the patient"
    if preferences.phone_only:
        if phoneable:
            return "By phone (no internet needed)", None
        if service.in_person:
            return "Face to face (no internet needed)", None
        if service.online:
            return None, "Online only: ask reception or a library to help the patient get online"
        return None, "How it is reached is not listed: ask reception to contact it for the patient"
    return None, None


def _category_reason(matched: list[str], confirmed: list[str]) -> str:
    """Whether an editor (or the feed) put the service in the category, or it is only suggested from its words."""
    if confirmed:
        return f"Listed under {confirmed[0].replace('-', ' ')} (confirmed)"
    return f"Suggested for {matched[0].replace('-', ' ')} from its description (not yet confirmed by an editor)"


def _verified(service: read_model.Facts, today: date) -> str:
    if service.assured_date is None:
        return "Not yet verified"
    months = (today.year - service.assured_date.year) * 12 + today.month - service.assured_date.month
    if months <= 0:
        return "Verified this month"
    return f"Verified {months} month{'s' if months != 1 else ''} ago"


def _missed_words(preferences: Preferences, matches: list[Match]) -> str:
    """What the near misses miss, in words: the patient's contact preference, age or area."""
    kinds = []
    if any(m.misses and not m.misses[0].startswith(("For ages", "Does not list")) for m in matches):
        kinds.append("no phone or internet" if preferences.no_phone else "phone but no internet")
    if any(miss.startswith("For ages") for m in matches for miss in m.misses):
        kinds.append("the patient's age")
    if any(miss.startswith("Does not list") for m in matches for miss in m.misses):
        kinds.append("the patient's area")
    return " and ".join(kinds)


def _act_now(
    need: Need,
    cats: list[str],
    candidates: dict[str, read_model.Candidate],
    place: geography.Place | None,
    las: list[str],
    today: date,
) -> tuple[list[Match], str | None]:
    """The services marked 24-hour or same-day in the need's categories that cover the patient, whatever their
    preferences (a crisis is not the time to filter), 24-hour first, then the most recently verified."""
    found = []
    for candidate in candidates.values():
        service = candidate.service
        if not service.crisis_access or not any(c in candidate.categories for c in cats):
            continue
        area = _area_reason(candidate, place, las)
        if area is None:
            continue
        when = "Open 24 hours" if service.crisis_access == "24-hour" else "Answers the same day"
        reasons = [f"{when}: for {need.display.lower()}", area, _verified(service, today)]
        match = Match(
            service.id,
            service.name,
            reasons,
            True,
            None,
            service.description,
            service.phone,
            service.url,
            crisis_access=service.crisis_access,
            verified=service.assured_date is not None,
            address=candidate.nearest_address(place),
            open_today=candidate.open_today(today),
        )
        assured = service.assured_date.toordinal() if service.assured_date else 0
        found.append(((service.crisis_access != "24-hour", not match.contactable, -assured, service.name), match))
    found.sort(key=lambda pair: pair[0])
    matches = [m for _, m in found]
    if matches:
        return matches, None
    return [], (
        f"No 24-hour or same-day service for {need.display.lower()} is marked in the directory: "
        "the practice should contact the services below today, with the patient."
    )


def route(
    *,
    session: Session,
    assessment: Assessment,
    place: geography.Place | None,
    age: int | None,
    per_need: int,
    local_authorities: list[str],
    now: datetime,
    remember_seconds: float = 0.0,
) -> list[Offer]:
    """For each need, up to `per_need` eligible services: urgent needs to same-day services first, then the ones
    the patient can reach, the most recently verified, then the nearest. When none fits the patient's preferences,
    age or area, the best near misses are offered, each saying what it misses; a need with no service says so.
    What was read of the directory for a category is used again for `remember_seconds` (the server's
    `routing_cache_seconds`)."""
    wanted = {need.code: categories_for(need.code) for need in assessment.needs}
    candidates = read_model.candidates(session, {c for cats in wanted.values() for c in cats}, remember_seconds)
    local_now = now.astimezone(UK)
    today = local_now.date()
    prefs = assessment.preferences
    offers = []
    # What a candidate offers this patient is the same whichever need it is weighed for: found once.
    fits: dict[str, _Fit] = {}
    for need in assessment.needs:
        cats = wanted[need.code]
        # Every candidate is ranked; only those offered are put into words (a category may hold hundreds).
        ranked: list[_Scored] = []
        near: list[_Scored] = []
        for candidate in candidates.values():
            matched = [c for c in cats if c in candidate.categories]
            if not matched:
                continue
            service = candidate.service
            fit = fits.get(service.id)
            if fit is None:
                fit = fits[service.id] = _fit(candidate, place, age, prefs, local_authorities, today)
            confirmed = [c for c in matched if c not in candidate.suggested]
            key = (
                # A service that says it is not taking referrals comes last, whatever else fits.
                fit.full,
                float(len(fit.misses)),
                0.0 if (not need.urgent or fit.same_day) else 1.0,
                # A patient cannot act on an offer that gives no way to reach it (a service's own record may be bare).
                fit.unreachable,
                fit.no_language,
                0.0 if confirmed else 1.0,  # a suggested category ranks below every confirmed one
                float(cats.index((confirmed or matched)[0])),
                fit.assured,
                fit.distance if fit.distance is not None else math.inf,
            )
            (near if fit.misses else ranked).append(_Scored(key, service.name, service.id, fit, matched, confirmed))
        note = None
        if not ranked and near:
            ranked = near
        ranked.sort(key=lambda scored: (scored.key, scored.name, scored.service_id))
        chosen = [_match(scored, need, place, today) for scored in ranked[:per_need]]
        if ranked is near:
            note = (
                f"No service for {need.display.lower()} fits {_missed_words(prefs, chosen)}: these come closest, "
                "each saying what it misses and what to do instead."
            )
        elif not ranked:
            note = (
                f"No service for {need.display.lower()} is in the directory: tell the patient so, and ask the "
                "practice's social prescriber or care navigator what else is available."
            )
        act_now: list[Match] = []
        act_now_note = None
        if need.urgent:
            act_now, act_now_note = _act_now(need, cats, candidates, place, local_authorities, today)
        offers.append(Offer(need, cats[0] if cats else None, chosen, note, act_now, act_now_note))
    return offers


@dataclass(init=False)  # its own __init__, as Match
class _Fit:
    """How one candidate suits this patient, whichever need it is weighed for."""

    candidate: read_model.Candidate
    area: str | None  # why it covers the patient; None when it does not list the patient's area
    age: str | None  # the age reason, when the age fits
    mode: str | None  # the contact reason, when the way to reach it fits
    language: str | None
    misses: list[str]  # what a near miss misses, and what to do instead
    same_day: bool
    distance: float | None
    full: float  # 1.0 when it says it is not taking referrals
    unreachable: float  # 1.0 when the answer could give no way to reach it
    no_language: float  # 1.0 when it lists neither the patient's language nor interpreters
    assured: float  # minus the day it was verified: the most recent first
    # The nearest premises and today's hours, put into words once when it is first offered (a service may be offered
    # for several needs).
    words: tuple[str | None, str | None] | None

    def __init__(
        self,
        candidate: read_model.Candidate,
        area: str | None,
        age: str | None,
        mode: str | None,
        language: str | None,
        misses: list[str],
        same_day: bool,
        distance: float | None,
        full: float,
        unreachable: float,
        no_language: float,
        assured: float,
    ) -> None:
        self.candidate, self.area, self.age, self.mode, self.language = candidate, area, age, mode, language
        self.misses, self.same_day, self.distance, self.full = misses, same_day, distance, full
        self.unreachable, self.no_language, self.assured, self.words = unreachable, no_language, assured, None


def _fit(
    candidate: read_model.Candidate,
    place: geography.Place | None,
    age: int | None,
    prefs: Preferences,
    local_authorities: list[str],
    today: date,
) -> _Fit:
    service = candidate.service
    area = _area_reason(candidate, place, local_authorities)
    age_ok, age_reason = _age_reason(service, age)
    mode_reason, mode_miss = _mode_fits(service, prefs)
    misses = []
    if mode_miss:
        misses.append(mode_miss)
    if not age_ok:
        low, high = service.minimum_age, service.maximum_age
        limits = f"{low or 0}+" if high is None else f"{low or 0} to {high}"
        misses.append(f"For ages {limits}: ask whether they can help or know who can")
    if area is None:
        misses.append("Does not list the patient's area: ask whether they can help or know who can")
    language, no_language = None, 0.0
    if prefs.interpreter and prefs.language:
        name = prefs.language_display or prefs.language
        if prefs.language.lower() in candidate.languages:
            language = f"Offers {name}"
        elif service.interpretation_services:
            language = f"Arranges interpreters ({name} requested)"
        else:
            language, no_language = f"Does not list {name}: ask about an interpreter", 1.0
    distance = None
    if place and place.known and place.latitude is not None and place.longitude is not None and candidate.points:
        lat, lon = place.latitude, place.longitude
        distance = min(geography.distance_km(lat, lon, *point) for point in candidate.points)
    capacity = candidate.capacity
    reachable = service.phone or service.url or candidate.addresses or candidate.points
    return _Fit(
        candidate,
        area,
        age_reason if age_ok else None,
        mode_reason,
        language,
        misses,
        candidate.opens_on(today),
        distance,
        1.0 if capacity is not None and not capacity.taking else 0.0,
        0.0 if reachable else 1.0,
        no_language,
        -float(service.assured_date.toordinal() if service.assured_date else 0),
    )


@dataclass(slots=True, init=False)  # its own __init__, as Match
class _Scored:
    """One candidate for one need, ranked by `key` (then name and id), not yet put into words."""

    key: tuple[float, ...]
    name: str
    service_id: str
    fit: _Fit
    matched: list[str]
    confirmed: list[str]

    def __init__(
        self, key: tuple[float, ...], name: str, service_id: str, fit: _Fit, matched: list[str], confirmed: list[str]
    ) -> None:
        self.key, self.name, self.service_id = key, name, service_id
        self.fit, self.matched, self.confirmed = fit, matched, confirmed


def _match(scored: _Scored, need: Need, place: geography.Place | None, today: date) -> Match:
    """An offered candidate in words: why it is offered, in the order a clinician reads them."""
    fit = scored.fit
    candidate = fit.candidate
    service = candidate.service
    reasons = [f"Helps with {need.display.lower()}"] + ([fit.area] if fit.area else [])
    reasons.append(_category_reason(scored.matched, scored.confirmed))
    if fit.language:
        reasons.append(fit.language)
    if need.urgent and fit.same_day:
        reasons.append("Open today")
    reasons += [r for r in (fit.age, fit.mode) if r]
    reasons.append(_verified(service, today))
    capacity = candidate.capacity
    if capacity is not None and (not capacity.taking or capacity.wait_band):
        reasons.append(f"{capacity.label}, as of {capacity.set_on.strftime('%-d %b %Y')}")
    if fit.distance is not None:
        reasons.append(f"{fit.distance:.1f} km away")
    if fit.words is None:
        fit.words = candidate.nearest_address(place), candidate.open_today(today)
    address, open_today = fit.words
    return Match(
        service.id,
        service.name,
        reasons,
        fit.same_day,
        fit.distance,
        service.description,
        service.phone,
        service.url,
        misses=list(fit.misses),
        crisis_access=service.crisis_access,
        verified=service.assured_date is not None,
        address=address,
        open_today=open_today,
    )
