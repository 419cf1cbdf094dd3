"""Suggested categories from what a service says: deterministic word rules, each suggestion with its trigger words.

Rules are data a reader can check: for each category, *strong* phrases (one is enough) and *weak* words (two
different ones are needed, so "gentle music" in a Pilates class does not make it a music group). Names and the
organisation's name are read with the description. Exclusions drop phrases that look like a trigger but are not
one ("disabled access" says nothing about who the service is for). The rules were tuned against hand labels of
North Lincolnshire services written before the first rule (tests/directory/data/north_lincolnshire_labels.json).
"""

import hashlib
import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Suggestion:
    """One suggested category and the words in the service's text that triggered it."""

    code: str
    words: tuple[str, ...]


@dataclass(frozen=True)
class _Rule:
    strong: str
    weak: str = ""
    exclude: str = ""


_RULES: dict[str, _Rule] = {
    "housing": _Rule(
        strong=r"housing (advice|support|options|benefit|associations?)|tenancy|tenants?|landlords?|rent arrears"
        r"|evictions?|sheltered housing|home repairs?",
    ),
    "homelessness": _Rule(
        strong=r"homeless(ness)?|rough sleep(ing|ers?)|at risk of losing (their|your) home|night shelter",
    ),
    "welfare-benefits": _Rule(
        strong=r"benefits? (advice|checks?|claims?|appeals?|entitlements?)|universal credit|state benefits"
        r"|welfare (rights|benefits)|personal independence payment|attendance allowance|pension credit"
        r"|appointeeships?",
    ),
    "debt": _Rule(
        strong=r"debts?|money advice|budgeting|credit unions?|financial (difficulty|difficulties|hardship)",
    ),
    "fuel-energy": _Rule(
        strong=r"energy (bills?|advice|efficiency)|fuel poverty|keep(ing)? warm|warm (spaces?|hubs?|homes?)"
        r"|heating (bills?|costs?)",
    ),
    "food": _Rule(
        strong=r"food aid|supply of food|free food|pantry|community meals|meals? (delivered|direct to your door)"
        r"|basket (full )?(of|with) (a variety of )?foods?|fresh food|affordable grocer(y|ies)"
        r"|food ?banks?|food (pantry|pantries|parcels?|support|poverty|vouchers?|club)|free school meals?"
        r"|community (fridge|larder|supermarket|shop)|soup kitchen|hot meals?|holiday activities and food",
    ),
    "employment": _Rule(
        strong=r"employment (support|advice|programme)|job ?(search|seekers?|club|centre)|jobcentre"
        r"|help (into|finding|to find) (work|a job)|cv writing|careers? advice|interview skills"
        r"|back to work|apprenticeships?|supported employment",
    ),
    "carers": _Rule(
        strong=r"respite|(supporting|helping to support) an? (elderly|older)"
        r"|carers'? (support|peer|groups?|centre|service|assessment)|(unpaid|young|adult|parent) carers?"
        r"|you are a carer|caring for (a|an|someone|your)|disabled (brother|sister)"
        r"|brothers and sisters of disabled",
    ),
    "isolation": _Rule(
        strong=r"coffee(,)? (and|&) cake|cuppa|friendship( club)?|get together|games? (morning|night|and chat)"
        r"|bingo|board games|whist|luncheon club|over 60s club|women'?s institute|wi|company of others"
        r"|social (gathering|space)|community caf[eé]|drop in centre|breakfast club|coffee mornings?"
        r"|chill and chat|good (company|conversation)|and chat|chat with|garden(ing)? club|gardeners"
        r"|worship|prayer( meetings?)?|bible (study|course)|sociali[sz](e|ing)"
        r"|meet (new|other|like[- ]minded) people|meet new friends|make (new )?friends"
        r"|befriend(ing|ers?)?|lonel(y|iness)|isolat(ed|ion)|cuppa and (a )?(natter|chat)|natter"
        r"|coffee morning|coffee and (a )?chat"
        r"|social (groups?|club|tea|activity|activities|evenings?|events?|group)|fellowship"
        r"|community hubs?|tea dance|lunch club|reminiscence|get out of the house|peer support groups?"
        r"|chat about",
        exclude=r"social media|socially distanc",
    ),
    "family-early-years": _Rule(
        strong=r"tots|messy play|stay and play|under the age of five|childcare|childminders?|nurser(y|ies)"
        r"|fostering|young children|bab(y|ies)|toddlers?|under ?(5|fives?)'?s?|pre-?school|antenatal"
        r"|postnatal|breast ?feeding|new ?borns?|children'?s cent(re|er)s?|family hubs?|dads|parenting"
        r"|early years|pushchairs?|prams?|(aged?|from) [0-3] ?(-|to|–) ?[1-5] years",
    ),
    "domestic-abuse": _Rule(
        strong=r"domestic (abuse|violence)|coercive control|refuges?|sexual (abuse|violence)|survivors of abuse",
    ),
    "legal-immigration": _Rule(
        strong=r"legal (advice|aid)|solicitors?|immigration|asylum|refugees?|citizens advice",
    ),
    "digital-inclusion": _Rule(
        strong=r"internet access|ipads?|digital (skills|inclusion|support)|get(ting)? online|computers?"
        r"|i\.?t\.? (tuition|support|class(es)?)|online safety|smartphones?|tablets?",
    ),
    "language-interpreting": _Rule(
        strong=r"esol|english (language|for speakers|classes|conversation)|interpret(ing|ers?)|translat(ion|ing)",
        exclude=r"interpretations? of",
    ),
    "physical-activity": _Rule(
        strong=r"walks|running club|runners|kurling|curling|cheerleading|dance classes|sequence danc(e|ing)"
        r"|taiji|fishing|angling|fishery|exercises?|fitness|pilates|yoga|zumba|gym|football|footy|cricket"
        r"|tennis|squash|racketball|badminton|bowls|swim(ming)?|athletics"
        r"|walking (group|football|netball|cricket|sports)|wellbeing walk|martial arts?|karate|taekwondo"
        r"|judo|boxing|archery|horse riding|cycling|golf|leisure cent(re|er)s?|circuits"
        r"|strength and balance|gliding|climbing|netball|rugby|hockey|tai chi|keep fit|tea dance"
        r"|sports? (club|centre|coaching)|workouts?|personal train(er|ing)|aerobics|jogging|parkrun",
    ),
    "arts-culture": _Rule(
        strong=r"films?|film club|cinema|comedy|comedians?|art club|bell ringing|crafters|crafternoon"
        r"|written and performed|directed by|heritage railway|choirs?|concerts?|gigs?|albums?|theatre"
        r"|museums?|galler(y|ies)|exhibitions?|ukulele|piano|guitar|fiddle|orchestra|singers|singing"
        r"|songwriter|crafts?|crafty|stitch(ing)?|knit(ting)?|sewing|pottery|painting|drawing"
        r"|reading group|book (club|group)|poetry|drama|musicians?|folk (music|rock|band|songs?)",
        weak=r"music(al)?|bands?|songs?|perform(ance|ances|ing|ers?)|creative|art|arts|artists?|dance"
        r"|tour(ed|s)?|stage|folk|record(ed|ings?)",
        exclude=r"art therapy|creative process|martial arts?|state of the art",
    ),
    "mental-health": _Rule(
        strong=r"drugs?|alcohol|addictions?|gambling|grief|bereave(d|ment)|wellness recovery|trauma"
        r"|mental (health|wellbeing|ill[- ]?health)|counsell(ing|ors?)|psycholog(y|ical|ists?)"
        r"|psychotherap(y|ists?)|talking therap(y|ies)|anxiety|depression|stress|eating disorders?"
        r"|suicid(e|al)|self[- ]harm|emotional (support|wellbeing)|art therapy",
    ),
    "health-disability": _Rule(
        strong=r"palliative|end of life|hospice|brain injury|fibromyalgia|stop smoking|smoking|sexual health"
        r"|respite|domiciliary care|homecare|care and support needs|disabilit(y|ies)|disabled|dementia"
        r"|alzheimer'?s?|autis(m|tic)|down syndrome|arthritis|parkinson'?s?|strokes?|cancer|diabetes"
        r"|sight loss|deaf|hearing loss|blind|wheelchairs?|long[- ]term (health )?conditions?"
        r"|(discharge|home) from hospital|hospital discharge|speech and language therapy"
        r"|occupational therapy|physiotherapy|complex conditions|chronic (pain|illness|conditions?)"
        r"|multiple sclerosis|epilepsy",
        exclude=r"disabled (access|toilets?|parking|facilities|friendly)|wheelchair (access|accessible|friendly)"
        r"|accessible for (disabled|wheelchair)",
    ),
    "learning": _Rule(
        strong=r"local history|history (society|group|research)|u3a|esol|tuition|tutors?|lessons?|first aid"
        r"|family history|learners?|adult (learning|education)|learn(ing)? (how to|the basics|english)"
        r"|quiz",
        exclude=r"learning disabilit(y|ies)|riding lessons?|swimming lessons?",
    ),
    "young-people": _Rule(
        strong=r"school (admissions|places?|transport)|homework|youth|teens?|teenagers?|young people"
        r"|under ?(16|18)'?s|children aged ([5-9]|1[0-6])|children up to"
        r"|(aged?|for|ages) ([4-9]|1[0-6]) ?(-|to|–) ?(1[0-9]|[5-9])"
        r"|([4-9]|1[0-6]) ?(-|–) ?(1[0-9]|[5-9]) year olds?|kids|school years? [0-9]|paediatric",
        exclude=r"under 16s must be accompanied",
    ),
}


MAX_WORDS = 3  # more words of one category in one text say no more than three do
KEEP_DIVISOR = 2


def _compile(pattern: str) -> re.Pattern[str] | None:
    return re.compile(rf"\b(?:{pattern})\b", re.IGNORECASE) if pattern else None


_COMPILED = {code: tuple(_compile(p) for p in (r.strong, r.weak, r.exclude)) for code, r in _RULES.items()}

# Changes whenever a rule does, so a directory classified with older rules is classified again at start-up.
_RULES_TEXT = repr(sorted((c, r.strong, r.weak, r.exclude) for c, r in _RULES.items()))
RULES_VERSION = hashlib.sha256(_RULES_TEXT.encode()).hexdigest()[:16]


def categories() -> list[str]:
    """The category codes the rules can suggest."""
    return list(_RULES)


def suggest(*, name: str, description: str | None, organization: str | None) -> list[Suggestion]:
    """The categories the service's words point to, each with the words that triggered it, strongest first.

    A word in the service's name weighs 3, in its organisation's name 2, in its description 1; a category is kept
    when it weighs at least half the strongest one, so a long description that lists everything a community hub
    hosts does not make it every kind of service.
    """
    scored = []
    for code, (strong, weak, exclude) in _COMPILED.items():
        weight = 0
        words: list[str] = []
        for text, factor in ((name, 3), (organization or "", 2), (description or "", 1)):
            scrubbed = exclude.sub(" ", text) if exclude else text
            hits = _unique(m.group(0).lower() for m in strong.finditer(scrubbed)) if strong else []
            if not hits and weak is not None:
                weak_hits = _unique(m.group(0).lower() for m in weak.finditer(scrubbed))
                hits = weak_hits if len(weak_hits) >= 2 else []
            fresh = [w for w in hits if w not in words]
            weight += factor * min(len(fresh), MAX_WORDS)
            words += fresh
        if words:
            scored.append((weight, code, tuple(words[:5])))
    if not scored:
        return []
    top = max(weight for weight, _, _ in scored)
    kept = sorted((s for s in scored if s[0] * KEEP_DIVISOR >= top and (s[0] >= 2 or s[0] == top)), key=lambda s: -s[0])
    return [Suggestion(code, words) for _, code, words in kept]


def _unique(words: object) -> list[str]:
    seen: list[str] = []
    for word in words:  # type: ignore[attr-defined]
        if word not in seen:
            seen.append(word)
    return seen
