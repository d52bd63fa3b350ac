"""Long job-ad-like and CV-like texts built from ESCO, for occupation matching (``long_text.py``).

Every text belongs to one ESCO occupation and names it nowhere: its preferred, alternative and hidden
labels (and the halves of German "Koch/Köchin" pairs), in the singular, plural and, in German, with
inflected adjectives, are replaced by a pronoun wherever they occur (:class:`TitleScrubber`). What
is left of the occupation is what a real ad or CV tells about it:

* **signal**: the occupation's description sentences (ads: as task bullets; CVs: as a first-person
  profile), a seeded sample of its essential and optional skills (ads: "Ability to ...", "Knowledge
  of ..."; CVs: bullets under past positions and a skills line) and, in long texts, the ESCO
  descriptions of some of those skills (each one sentence or two about what the skill involves);
* **noise**: company blurbs, benefits, application and equal-opportunity boilerplate, contact lines
  with names, phones, e-mails and reference numbers, gender markers (``(m/f/d)``, ``(m/w/d)``), CV
  personal data, education, languages and interests. Ads open with a company blurb of random length,
  so what a truncating model reads first is mostly noise, as in real ads.

Lengths: ``short`` (at most 48 words: one segment window, read whole by every model), ``medium``
(~250-350 words) and ``long`` (~1,000-1,500 words; noise added until the length is reached).

English texts come from ESCO v1.1.1 (occupations with a description and at least 4 essential
skills). German texts come from ESCO v1.2.0 German occupations: that folder has no skills, so a
German text's signal is its description sentences only, in a German template with German noise.

The split is by occupation: ``stable_fraction(salt, "split", uri) < 0.5`` is dev, else test; each split
takes its first ``per_split`` occupations ordered by another stable fraction. Every choice inside a
text comes from a ``random.Random`` seeded by (salt, uri, language, genre, length), so the set is
the same on every run and machine.

This set uses the ESCO classification of the European Commission.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from jobmatch.quality import stable_fraction
from jobmatch.server.esco import EscoDataset, Occupation
from jobmatch.server.index.documents import gendered_pair

Genre = Literal["ad", "cv"]
Length = Literal["short", "medium", "long"]
Source = Literal["esco", "unindexed"]
GENRES: tuple[Genre, ...] = ("ad", "cv")
LENGTHS: tuple[Length, ...] = ("short", "medium", "long")
SALT = "jobmatch-long-text-v1"
SHORT_WORDS = 48  # segments.MAX_SEGMENT_WORDS: a short text is one window
TARGET_WORDS: dict[Length, tuple[int, int]] = {"short": (20, SHORT_WORDS), "medium": (250, 350), "long": (1000, 1500)}
MIN_SKILLS = 4


@dataclass(frozen=True, slots=True)
class LongText:
    """One text of the set and the occupation it is about."""

    text: str
    uri: str
    language: str
    genre: Genre
    length: Length
    split: str
    source: Source = "esco"

    @property
    def words(self) -> int:
        return len(self.text.split())


# -- the occupation's name, removed ---------------------------------------------------------------

_PLURAL = r"(?:s|es|en|n|e|innen|in|ies)?"
_INFLECTION = r"(?:e|er|en|es|em)?"


class TitleScrubber:
    """Replaces every form of an occupation's labels in a text by a pronoun (``they`` / ``sie``)."""

    def __init__(self, occupation: Occupation, language: str) -> None:
        labels = [
            occupation.preferred_label.get(language, ""),
            *occupation.alt_labels.get(language, ()),
            *occupation.hidden_labels.get(language, ()),
        ]
        forms = {form.strip() for label in labels for form in (label, *gendered_pair(label)) if len(form.strip()) > 2}
        patterns = [self._pattern(form) for form in sorted(forms, key=len, reverse=True)]
        self._regex = re.compile("|".join(patterns), re.IGNORECASE) if patterns else None
        self._pronoun = "sie" if language == "de" else "they"

    @staticmethod
    def _pattern(form: str) -> str:
        """``form``'s words, adjectives in any inflection, the last word in the singular or plural."""
        words = form.split()
        stems = [re.escape(re.sub(r"(?:er|en|es|em|e)$", "", w)) + _INFLECTION for w in words[:-1]]
        last = re.escape(words[-1][:-1] if words[-1].endswith("y") else words[-1])
        last += r"(?:y|ies)" if words[-1].endswith("y") else _PLURAL
        return r"(?<!\w)" + r"[\s-]+".join([*stems, last]) + r"(?!\w)"

    def __call__(self, text: str) -> str:
        if self._regex is None:
            return text
        return self._regex.sub(lambda m: self._replacement(text, m.start()), text)

    def _replacement(self, text: str, at: int) -> str:
        before = text[:at].rstrip(" \"'(")
        sentence_start = not before or before[-1] in ".!?:\n-•"
        return self._pronoun.capitalize() if sentence_start else self._pronoun

    def leaks(self, text: str) -> bool:
        """True if a label form is still in ``text``."""
        return bool(self._regex and self._regex.search(text))


# -- noise ------------------------------------------------------------------------------------------

_NOISE: dict[str, dict[str, tuple[str, ...]]] = {
    "en": {
        "blurb": (
            "{company} is one of the leading providers in its market, with more than {n} employees in {m} countries.",
            "Since our founding in {year}, we have grown steadily and remain independent and family-owned.",
            "Our culture is built on trust, openness and mutual respect.",
            "We believe that great results come from great people working together.",
            "Customers across Europe rely on our products and services every day.",
            "We are proud to have been named one of the best employers in the region for {k} years in a row.",
            "Sustainability is at the heart of everything we do, from our supply chain to our offices.",
            "Our headquarters are located in {city}, with further sites in {city2} and {city3}.",
            "We combine the stability of a large group with the short decision paths of a start-up.",
            "Diversity and inclusion are part of our DNA.",
            "Every year we invest a significant share of our revenue in innovation and the development of our people.",
            "Join a team that values curiosity, ownership and a good sense of humour.",
            "We are growing fast and are looking for reinforcement.",
            "Our mission is to make everyday life a little bit better for millions of people.",
            "With a turnover of {n} million euros, we are a reliable partner for our clients.",
        ),
        "intro": (
            "To strengthen our team in {city} we are looking for you (m/f/d), full-time or part-time, "
            "as soon as possible.",
            "For our location in {city} we are hiring a motivated new colleague (m/f/d).",
            "Are you ready for the next step in your career? Then join us in {city} (f/m/x)!",
            "We are looking for a new team member (m/f/d) for an unlimited contract in {city}.",
        ),
        "benefits": (
            "A competitive salary with an annual bonus.",
            "30 days of paid holiday plus your birthday off.",
            "Flexible working hours and the option to work from home two days a week.",
            "A company pension scheme and capital-forming benefits.",
            "Free fresh fruit, coffee and drinks.",
            "Bike leasing and a subsidised public transport ticket.",
            "Regular team events, a summer party and a Christmas celebration.",
            "A subsidised gym membership.",
            "A modern office in the city centre with good transport links.",
            "An individual training budget of {k}00 euros per year.",
            "A structured onboarding with a personal mentor.",
            "Employee discounts with more than 500 partner brands.",
            "Free parking spaces and charging stations for electric cars.",
            "Childcare allowance and support for working parents.",
            "A permanent contract in a crisis-proof company.",
            "Short decision paths and flat hierarchies.",
        ),
        "closing": (
            "We are an equal opportunity employer and welcome applications regardless of gender, age, origin, "
            "religion, disability or sexual orientation.",
            "Applications from people with severe disabilities are particularly welcome.",
            "Please send your application including your CV, certificates and earliest possible start date.",
            "Please apply online via our careers portal; we do not accept applications by post.",
            "We look forward to receiving your application!",
            "Your personal data will be processed in accordance with the General Data Protection Regulation.",
            "Recruitment agencies are kindly asked not to send unsolicited profiles.",
            "Interviews will take place on an ongoing basis, so do not wait too long to apply.",
            "Questions about the position? Just give us a call.",
        ),
        "contact": (
            "Contact: {name}, Talent Acquisition, phone {phone}, {email}",
            "Reference number: {ref}",
            "Location: {city}",
            "Start date: as soon as possible",
            "Employment type: full-time (40 hours per week), permanent",
            "Salary: {pay} euros per year, depending on experience",
        ),
        "team": (
            "You will join a friendly team of {k} colleagues who support each other.",
            "Our team is international and we speak English and German in the office.",
            "You will report directly to the head of department.",
            "We work in a hybrid model and meet in the office twice a week.",
            "Our application process has three steps: a short phone call, an interview and a trial day.",
            "After your application you will hear from us within two weeks.",
            "New colleagues get a laptop, a mobile phone and a welcome package on their first day.",
            "We celebrate successes together and learn from mistakes without blame.",
            "Internal career paths are open to everyone, and many of our managers started with us.",
            "Our offices are accessible and we support adjustments to your workplace.",
        ),
        "cv_position": (
            "Member of a team of {k} colleagues",
            "Reporting to the head of department",
            "Training and onboarding of new colleagues",
            "Participation in internal audits and quality meetings",
            "Documentation of my work in the company's software",
            "Coordination with colleagues from other departments",
            "Standing in for the team leader during holidays",
            "Reason for leaving: relocation to {city}",
        ),
        "cv_personal": (
            "Curriculum Vitae",
            "Name: {name}",
            "Address: {street} {k}, {zip} {city}",
            "Phone: {phone}",
            "E-mail: {email}",
            "Date of birth: {day}.{month}.{byear}",
            "Nationality: {nationality}",
            "Driving licence: category B",
        ),
        "cv_summary": (
            "Reliable, team-oriented and eager to learn.",
            "I am looking for a new challenge in a dynamic environment.",
            "I enjoy working independently and take responsibility for my results.",
            "Known among colleagues for a calm and structured way of working.",
            "I communicate openly and enjoy sharing knowledge with others.",
        ),
        "cv_education": (
            "{y1} - {y2}: Secondary school, {city}, general university entrance qualification",
            "{y1} - {y2}: Vocational training, {city2}",
            "{y1} - {y2}: Bachelor's degree studies, University of {city3}",
            "{y1}: First aid course (16 hours)",
            "{y1}: Seminar on time management and self-organisation",
        ),
        "cv_other": (
            "Languages: English (native), German (B2), Spanish (basic knowledge)",
            "IT: Microsoft Office (Word, Excel, Outlook), good",
            "Interests: hiking, photography, cooking for friends and playing the guitar",
            "Volunteering: coach of a youth football team since {y1}",
            "Voluntary work: helping out at the local food bank at weekends",
            "References available on request.",
            "{city}, {day}.{month}.{y2}",
            "Student job {y1} - {y2}: part-time sales assistant in a supermarket",
        ),
    },
    "de": {
        "blurb": (
            "Die {company} gehört mit über {n} Mitarbeitenden in {m} Ländern zu den führenden Anbietern ihrer Branche.",
            "Seit unserer Gründung im Jahr {year} sind wir stetig gewachsen und bis heute familiengeführt.",
            "Unsere Unternehmenskultur ist geprägt von Vertrauen, Offenheit und gegenseitigem Respekt.",
            "Wir sind überzeugt: Gute Ergebnisse entstehen, wenn gute Menschen zusammenarbeiten.",
            "Kunden in ganz Europa verlassen sich täglich auf unsere Produkte und Dienstleistungen.",
            "Bereits {k} Jahre in Folge wurden wir als einer der besten Arbeitgeber der Region ausgezeichnet.",
            "Nachhaltigkeit steht bei uns im Mittelpunkt, von der Lieferkette bis zum Büro.",
            "Unser Hauptsitz befindet sich in {city}, weitere Standorte gibt es in {city2} und {city3}.",
            "Wir verbinden die Stabilität eines Konzerns mit den kurzen Entscheidungswegen eines Start-ups.",
            "Vielfalt und Chancengleichheit sind fester Bestandteil unserer Werte.",
            "Jedes Jahr investieren wir einen großen Teil unseres Umsatzes in Innovation und in unsere Mitarbeitenden.",
            "Wir wachsen weiter und suchen Verstärkung.",
            "Mit einem Umsatz von {n} Millionen Euro sind wir ein verlässlicher Partner für unsere Kunden.",
        ),
        "intro": (
            "Zur Verstärkung unseres Teams in {city} suchen wir dich (m/w/d) ab sofort in Voll- oder Teilzeit.",
            "Für unseren Standort in {city} suchen wir eine motivierte Verstärkung (m/w/d).",
            "Bist du bereit für den nächsten Schritt? Dann komm zu uns nach {city} (w/m/d)!",
            "Wir suchen ein neues Teammitglied (m/w/d) in unbefristeter Anstellung in {city}.",
        ),
        "benefits": (
            "Eine attraktive Vergütung nach Tarif mit Weihnachts- und Urlaubsgeld.",
            "30 Tage Urlaub im Jahr und zusätzlich Heiligabend und Silvester frei.",
            "Flexible Arbeitszeiten und die Möglichkeit zum mobilen Arbeiten.",
            "Eine betriebliche Altersvorsorge und vermögenswirksame Leistungen.",
            "Kostenloses Obst, Kaffee und Getränke.",
            "JobRad-Leasing und ein Zuschuss zum Deutschlandticket.",
            "Regelmäßige Teamevents, Sommerfest und Weihnachtsfeier.",
            "Ein Zuschuss zur Mitgliedschaft im Fitnessstudio.",
            "Ein modernes Büro in zentraler Lage mit guter Anbindung.",
            "Ein persönliches Weiterbildungsbudget von {k}00 Euro im Jahr.",
            "Eine strukturierte Einarbeitung mit persönlicher Patenschaft.",
            "Mitarbeiterrabatte bei über 500 Partnermarken.",
            "Kostenlose Parkplätze und Ladestationen für E-Autos.",
            "Ein unbefristeter Arbeitsvertrag in einem krisensicheren Unternehmen.",
            "Kurze Entscheidungswege und flache Hierarchien.",
        ),
        "closing": (
            "Wir begrüßen Bewerbungen unabhängig von Geschlecht, Alter, Herkunft, Religion, Behinderung oder "
            "sexueller Identität.",
            "Schwerbehinderte Bewerbende werden bei gleicher Eignung bevorzugt berücksichtigt.",
            "Bitte sende uns deine vollständigen Bewerbungsunterlagen mit Lebenslauf, Zeugnissen und frühestem "
            "Eintrittstermin.",
            "Bitte bewirb dich online über unser Karriereportal; Bewerbungen per Post können wir nicht "
            "berücksichtigen.",
            "Wir freuen uns auf deine Bewerbung!",
            "Deine Daten werden gemäß der Datenschutz-Grundverordnung verarbeitet.",
            "Personalvermittlungen bitten wir, von unaufgeforderten Profilen abzusehen.",
            "Fragen zur Stelle? Ruf uns einfach an.",
        ),
        "contact": (
            "Ansprechpartnerin: {name}, Personalabteilung, Telefon {phone}, {email}",
            "Referenznummer: {ref}",
            "Arbeitsort: {city}",
            "Eintrittsdatum: ab sofort",
            "Anstellungsart: Vollzeit (40 Stunden pro Woche), unbefristet",
            "Gehalt: {pay} Euro brutto im Jahr, je nach Erfahrung",
        ),
        "team": (
            "Du wirst Teil eines freundlichen Teams von {k} Kolleginnen und Kollegen, die sich gegenseitig "
            "unterstützen.",
            "Unser Team ist international, im Büro sprechen wir Deutsch und Englisch.",
            "Du berichtest direkt an die Abteilungsleitung.",
            "Wir arbeiten hybrid und treffen uns zweimal pro Woche im Büro.",
            "Unser Bewerbungsprozess hat drei Schritte: ein kurzes Telefonat, ein Gespräch und einen Probetag.",
            "Nach deiner Bewerbung hörst du innerhalb von zwei Wochen von uns.",
            "Neue Kolleginnen und Kollegen erhalten am ersten Tag Laptop, Diensthandy und ein Willkommenspaket.",
            "Wir feiern Erfolge gemeinsam und lernen aus Fehlern, ohne Schuldige zu suchen.",
            "Interne Karrierewege stehen allen offen, viele unserer Führungskräfte haben bei uns angefangen.",
            "Unsere Büros sind barrierefrei und wir unterstützen die Anpassung deines Arbeitsplatzes.",
        ),
        "cv_position": (
            "Mitglied eines Teams von {k} Kolleginnen und Kollegen",
            "Berichtet an die Abteilungsleitung",
            "Einarbeitung neuer Kolleginnen und Kollegen",
            "Teilnahme an internen Audits und Qualitätsrunden",
            "Dokumentation der Arbeit in der Unternehmenssoftware",
            "Abstimmung mit anderen Abteilungen",
            "Urlaubsvertretung der Teamleitung",
            "Grund für den Wechsel: Umzug nach {city}",
        ),
        "cv_personal": (
            "Lebenslauf",
            "Name: {name}",
            "Anschrift: {street} {k}, {zip} {city}",
            "Telefon: {phone}",
            "E-Mail: {email}",
            "Geburtsdatum: {day}.{month}.{byear}",
            "Staatsangehörigkeit: deutsch",
            "Führerschein: Klasse B",
        ),
        "cv_summary": (
            "Zuverlässig, teamfähig und lernbereit.",
            "Ich suche eine neue Herausforderung in einem dynamischen Umfeld.",
            "Ich arbeite gern selbstständig und übernehme Verantwortung für meine Ergebnisse.",
            "Kolleginnen und Kollegen schätzen meine ruhige und strukturierte Arbeitsweise.",
            "Ich kommuniziere offen und teile mein Wissen gern.",
        ),
        "cv_education": (
            "{y1} - {y2}: Gymnasium in {city}, Abitur",
            "{y1} - {y2}: Berufsausbildung in {city2}",
            "{y1} - {y2}: Studium an der Hochschule {city3}",
            "{y1}: Erste-Hilfe-Kurs (16 Stunden)",
            "{y1}: Seminar Zeitmanagement und Selbstorganisation",
        ),
        "cv_other": (
            "Sprachen: Deutsch (Muttersprache), Englisch (B2), Spanisch (Grundkenntnisse)",
            "EDV: MS Office (Word, Excel, Outlook), gute Kenntnisse",
            "Hobbys: Wandern, Fotografie, Kochen mit Freunden und Gitarre spielen",
            "Ehrenamt: Trainer einer Jugendfußballmannschaft seit {y1}",
            "Ehrenamtlich an Wochenenden bei der örtlichen Tafel tätig",
            "Referenzen auf Anfrage.",
            "{city}, den {day}.{month}.{y2}",
            "Nebenjob {y1} - {y2}: Aushilfe im Verkauf in einem Supermarkt",
        ),
    },
}
_HEADINGS = {
    "en": {
        "tasks": "Your tasks:",
        "profile": "Your profile:",
        "offer": "What we offer:",
        "about": "About us",
        "summary": "Profile",
        "experience": "Work experience",
        "education": "Education",
        "skills": "Skills:",
        "more": "Further information",
    },
    "de": {
        "tasks": "Deine Aufgaben:",
        "profile": "Dein Profil:",
        "offer": "Das bieten wir:",
        "about": "Über uns",
        "summary": "Profil",
        "experience": "Berufserfahrung",
        "education": "Ausbildung",
        "skills": "Kenntnisse:",
        "more": "Weitere Angaben",
    },
}
_PROFILE_NOISE = {
    "en": (
        "A completed vocational training or degree.",
        "Several years of relevant professional experience.",
        "Good English skills, both written and spoken.",
        "A structured, independent and reliable way of working.",
        "Team spirit, flexibility and a hands-on mentality.",
    ),
    "de": (
        "Eine abgeschlossene Berufsausbildung oder ein abgeschlossenes Studium.",
        "Mehrjährige einschlägige Berufserfahrung.",
        "Sehr gute Deutschkenntnisse in Wort und Schrift.",
        "Eine strukturierte, selbstständige und zuverlässige Arbeitsweise.",
        "Teamgeist, Flexibilität und eine Hands-on-Mentalität.",
    ),
}
_FILL = {
    "company": ("Nordwerk GmbH", "Bluebay Group", "Kessler & Partner", "Altura Holding", "Meridian Services AG"),
    "city": ("Berlin", "Hamburg", "Munich", "Cologne", "Leipzig", "Dublin", "Manchester", "Rotterdam", "Vienna"),
    "name": ("Anna Schmidt", "Jonas Weber", "Maria Rossi", "Lukas Novak", "Sarah Miller", "Tom Becker", "Lea Wagner"),
    "street": ("Lindenstraße", "Station Road", "Gartenweg", "High Street", "Bahnhofstraße"),
    "nationality": ("German", "Irish", "Dutch", "Austrian", "Polish"),
}


def _fill(template: str, rng: random.Random) -> str:
    """A noise template with its placeholders filled at random (names, places, numbers)."""
    values = {key: rng.choice(options) for key, options in _FILL.items()}
    values.update(city2=rng.choice(_FILL["city"]), city3=rng.choice(_FILL["city"]))
    values.update(
        n=rng.randrange(200, 20000),
        m=rng.randrange(3, 40),
        k=rng.randrange(2, 12),
        year=rng.randrange(1890, 2015),
        phone=f"+49 {rng.randrange(30, 999)} {rng.randrange(100000, 9999999)}",
        email=f"jobs{rng.randrange(10, 99)}@example.com",
        ref=f"REF-{rng.randrange(10000, 99999)}",
        pay=f"{rng.randrange(32, 95)},000",
        zip=rng.randrange(10000, 99999),
        day=rng.randrange(1, 29),
        month=rng.randrange(1, 13),
        byear=rng.randrange(1965, 2003),
        y1=rng.randrange(1990, 2015),
        y2=rng.randrange(2015, 2025),
    )
    return template.format(**values)


# -- the occupation's own words ------------------------------------------------------------------

_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-ZÄÖÜ])")


@dataclass(frozen=True, slots=True)
class _Signal:
    """What a text may say about its occupation, scrubbed of its labels: description sentences,
    skills (essential and optional mixed, shuffled: (label, skill type)), skill descriptions."""

    sentences: tuple[str, ...]
    skills: tuple[tuple[str, str], ...]
    skill_descriptions: tuple[str, ...]


def _signal(dataset: EscoDataset, occupation: Occupation, language: str, source: Source, rng: random.Random) -> _Signal:
    """What the text tells of the occupation, by ``source`` (the module doc); no skills in German."""
    scrub = TitleScrubber(occupation, language)
    essential = [dataset.skills[u] for u in occupation.essential_skills if u in dataset.skills]
    optional = [dataset.skills[u] for u in occupation.optional_skills if u in dataset.skills]
    if source == "esco":
        sentences = [s.strip() for s in _SENTENCE.split(occupation.description.get(language, "")) if s.strip()]
        chosen = rng.sample(essential, min(len(essential), 15)) + rng.sample(optional, min(len(optional), 8))
        rng.shuffle(chosen)
    else:  # nothing the index embeds: optional skills, their descriptions standing in for the tasks
        chosen = rng.sample(optional, min(len(optional), 23))
        sentences = [_SENTENCE.split(s.description.get(language, ""))[0] for s in chosen[:3]]
        chosen = chosen[3:]
    skills = [(scrub(s.preferred_label[language]), s.skill_type) for s in chosen if s.preferred_label.get(language)]
    described = [scrub(s.description.get(language, "").strip()) for s in chosen[:14]]
    return _Signal(tuple(scrub(s) for s in sentences if s), tuple(skills), tuple(d for d in described if d))


def _capitalized(text: str) -> str:
    return text[:1].upper() + text[1:]


def _skill_line(label: str, skill_type: str, rng: random.Random, genre: Genre, language: str) -> str:
    """A skill as an ad requirement ("Ability to ...", "Knowledge of ...") or a CV bullet."""
    if genre == "cv" or language != "en":
        return _capitalized(label)
    if skill_type == "knowledge":
        return rng.choice(("Knowledge of {}.", "Sound knowledge of {}.", "Familiarity with {}.")).format(label)
    template = rng.choice(("Ability to {}.", "You will {}.", "Experience: {}.", "{}."))
    return _capitalized(template.format(label))


def _first_person(sentence: str, language: str) -> str:
    """A description sentence about "they" as a CV's "I" (English only: the verb form is the same)."""
    return re.sub(r"^They\b", "I", sentence) if language == "en" else sentence


# -- texts: sections of lines, noise sections padded to the length ---------------------------------


class _Noise:
    """Draws noise sentences of one language, each bank without repeats until it runs out."""

    def __init__(self, language: str, rng: random.Random) -> None:
        self.language = language
        self.rng = rng
        self._left: dict[str, list[str]] = {}

    def take(self, kind: str, count: int = 1) -> list[str]:
        out = []
        for _ in range(count):
            if not self._left.get(kind):
                self._left[kind] = self.rng.sample(_NOISE[self.language][kind], len(_NOISE[self.language][kind]))
            out.append(_fill(self._left[kind].pop(), self.rng))
        return out


@dataclass
class _Section:
    """A heading (may be empty) and its lines; ``pad`` names the noise bank that may lengthen it."""

    heading: str
    lines: list[str]
    pad: str | None = None
    bullets: bool = False

    def render(self) -> list[str]:
        lines = [f"- {line}" for line in self.lines] if self.bullets else self.lines
        return [self.heading, *lines] if self.heading else lines


def _short(signal: _Signal, language: str, genre: Genre, noise: _Noise) -> list[str]:
    skills = [label for label, _ in signal.skills[:3]]
    head = noise.take("intro") if genre == "ad" else [_HEADINGS[language]["summary"] + ":"]
    lead = signal.sentences[0] if genre == "ad" else _first_person(signal.sentences[0], language)
    lines = [*head, lead]
    if skills:
        lines.append(f"{_HEADINGS[language]['skills']} {', '.join(skills)}.")
    return lines


def _ad(signal: _Signal, language: str, length: Length, noise: _Noise) -> list[_Section]:
    """A job ad: blurb, intro, tasks, (skill details), profile, offer, team, closing, contact."""
    rng, h, long = noise.rng, _HEADINGS[language], length == "long"
    skills = signal.skills[: 16 if long else 8]
    lines = [_skill_line(lbl, t, rng, "ad", language) for lbl, t in skills]
    half = len(lines) // 2
    profile = lines[half:] + list(_PROFILE_NOISE[language][: rng.randrange(1, 4)])
    sections = [
        _Section(h["about"], noise.take("blurb", rng.randrange(2, 5)), pad="blurb"),
        _Section("", noise.take("intro")),
        _Section(h["tasks"], [*signal.sentences, *lines[:half]], bullets=True),
        _Section(h["more"], list(signal.skill_descriptions) if long else []),
        _Section(h["profile"], profile, bullets=True),
        _Section(h["offer"], noise.take("benefits", rng.randrange(4, 7)), pad="benefits", bullets=True),
        _Section("", noise.take("team", rng.randrange(0, 2)), pad="team"),
        _Section("", noise.take("closing", rng.randrange(2, 4)), pad="closing"),
        _Section("", noise.take("contact", rng.randrange(2, 5))),
    ]
    return [s for s in sections if s.lines]


def _cv(signal: _Signal, language: str, length: Length, noise: _Noise) -> list[_Section]:
    """A CV: personal data, profile, positions with skill bullets, education, skills, the rest."""
    rng, h, long = noise.rng, _HEADINGS[language], length == "long"
    skills = signal.skills[: 18 if long else 8]
    positions = 3 if long else 1
    sections = [
        _Section("", noise.take("cv_personal", rng.randrange(4, 8))),
        _Section(h["summary"], [_first_person(s, language) for s in signal.sentences] + noise.take("cv_summary")),
        _Section(h["experience"], []),
    ]
    for n in range(positions):
        mine = [_skill_line(lbl, t, rng, "cv", language) for lbl, t in skills[n::positions]]
        details = list(signal.skill_descriptions[3 * n : 3 * n + 3]) if long else []
        heading = _fill(f"{rng.randrange(2005, 2024)} - today: {{company}}, {{city}}", rng)
        sections.append(_Section(heading, mine + details + noise.take("cv_position"), pad="cv_position", bullets=True))
    sections += [
        _Section(h["education"], noise.take("cv_education", rng.randrange(2, 4)), pad="cv_education"),
        _Section("", [f"{h['skills']} {', '.join(label for label, _ in skills[-5:])}"] if skills else []),
        _Section("", noise.take("cv_other", rng.randrange(2, 5)), pad="cv_other"),
    ]
    return [s for s in sections if s.lines or s.heading == h["experience"]]


def _padded(sections: list[_Section], length: Length, noise: _Noise) -> list[str]:
    """The sections' lines, noise sections lengthened at random until the length's minimum is reached."""
    low, _ = TARGET_WORDS[length]
    paddable = [s for s in sections if s.pad]
    while sum(len(line.split()) for s in sections for line in s.render()) < low:
        section = noise.rng.choice(paddable)
        section.lines.insert(noise.rng.randrange(len(section.lines) + 1), noise.take(section.pad or "")[0])
    return [line for s in sections for line in s.render()]


def build_text(
    dataset: EscoDataset,
    occupation: Occupation,
    language: str,
    genre: Genre,
    length: Length,
    split: str,
    source: Source = "esco",
) -> LongText:
    """One text about ``occupation``: built, padded to its length, and scrubbed of the occupation's labels."""
    rng = _seeded(SALT, occupation.uri, language, genre, length, source)
    scrub = TitleScrubber(occupation, language)
    signal = _signal(dataset, occupation, language, source, rng)
    noise = _Noise(language, rng)
    if length == "short":
        lines = _short(signal, language, genre, noise)
    else:
        lines = _padded((_ad if genre == "ad" else _cv)(signal, language, length, noise), length, noise)
    text = scrub("\n".join(lines))
    if length == "short":
        text = " ".join(text.split()[:SHORT_WORDS])
    return LongText(text, occupation.uri, language, genre, length, split, source)


def _seeded(*parts: str) -> random.Random:
    return random.Random(int.from_bytes(hashlib.sha256("\x1f".join(parts).encode()).digest()[:8], "big"))


def eligible(dataset: EscoDataset, language: str, source: Source = "esco") -> list[Occupation]:
    """Occupations with a description in ``language`` and, where the dataset has skills, at least
    :data:`MIN_SKILLS` essential skills (``esco``) or 3 + :data:`MIN_SKILLS` optional ones (``unindexed``)."""
    has_skills = bool(dataset.skills)
    needed = (
        (lambda o: len(o.essential_skills) >= MIN_SKILLS)
        if source == "esco"
        else (lambda o: len(o.optional_skills) >= 3 + MIN_SKILLS)
    )
    return [
        o
        for o in dataset.occupations.values()
        if o.description.get(language, "").strip() and o.preferred_label.get(language) and (not has_skills or needed(o))
    ]


def split_of(uri: str) -> str:
    """``dev`` or ``test``, fixed by the occupation's URI."""
    return "dev" if stable_fraction(SALT, "split", uri) < 0.5 else "test"


def build_set(dataset: EscoDataset, language: str, per_split: int, source: Source = "esco") -> Iterator[LongText]:
    """``per_split`` occupations of each split, each as an ad and a CV of every length."""
    ordered = sorted(eligible(dataset, language, source), key=lambda o: stable_fraction(SALT, "pick", language, o.uri))
    for split in ("dev", "test"):
        chosen = [o for o in ordered if split_of(o.uri) == split][:per_split]
        for occupation in chosen:
            for genre in GENRES:
                for length in LENGTHS:
                    yield build_text(dataset, occupation, language, genre, length, split, source)
