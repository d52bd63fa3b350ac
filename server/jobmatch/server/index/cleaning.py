"""Job-ad noise removal for job-title queries, in English and German.

Titles copied from job ads carry words that name the posting, not the occupation::

    "Senior Software Engineer (m/w/d) Backend"        -> "Software Engineer Backend"
    "HGV Class 1 Driver - Nights - £18/hr"            -> "HGV Class 1 Driver"
    "Erzieher/in für unsere Kita | Leipzig | Vollzeit" -> "Erzieher"

ESCO labels carry none of them, so they only pull a query away from its occupation.
:func:`clean_job_title` strips, in this order:

1. a ``@ Company`` tail;
2. gender markers: ``(m/w/d)``, ``(w/m/d)``, ``(m/f/d)``, ``(d/m/w)``, ``(m/f)``, ``(all genders)``,
   a bare ``m/w/d``, and the German suffixes ``/in``, ``/-in``, ``:in``, ``*in``, ``_in``,
   ``/innen``, ``/-frau``, ``/r`` (German rules only when ``language`` is ``de`` or unknown);
3. pay and ratings: an amount with a currency (``£14.50/hr``, ``€45k``, ``$80,000``,
   ``bis 60.000 €``, ``3.200 € brutto``) and a hotel's ``4*``, anywhere in the title;
4. parenthesised or bracketed asides (``(RN)``, ``(Java/Spring)``, ``[Remote]``);
5. tails after `` - ``, an en or em dash, `` | ``, ``•``: the first part with a role left in it is kept
   (places, shifts and pay mostly live in these tails); parts joined by `` / `` are kept unless
   they are noise only (``Koch / Köchin`` stays, ``Sales Assistant / Part Time`` loses its tail);
   within a part, the employer's phrase: ``for our ...``, ``für unsere ...`` (a possessive after
   *for*: ``Pflegefachkraft für unsere Seniorenresidenz``; ``Elektroniker für Betriebstechnik`` stays);
6. word by word from either end of what is left:

   * contract and shift words (``part-time``, ``Vollzeit``, ``Minijob``, ``nights``, ``remote``,
     ``befristet``, ``ab sofort``, ...), pay words (``OTE``, ``bonus``, ``brutto``) and dangling
     connectors (``in``, ``für``, ``and``); words that also start real titles (``remote``,
     ``contract``, ``night``) are only taken from the end (``Contract Manager`` stays);
   * seniority: a leading ``Senior``, ``Sr.``, ``Jr.``, ``Junior``, ``Lead``, ``Principal``,
     ``Trainee``, ``Graduate``, ``Apprentice``, ``Werkstudent``, ``Praktikant``, ``Azubi``, ...
     (the role stays: ``Lead Data Engineer`` -> ``Data Engineer``), a trailing ``Senior``/``Junior``
     or grade (``II``, ``III``);

7. ``Head of X`` becomes ``X manager`` (the role of a head of marketing is a marketing manager,
   not marketing);

then collapses whitespace and stray punctuation. The rules are general patterns and lists of
noise words; they name no occupation. Known misses: a leading seniority word that belongs to the
role (``Lead Generation Specialist``, ``Junior School Teacher``) is dropped too.

If nothing with a letter is left (``"(m/w/d)"``, ``"Senior"``, ``"Vollzeit"``, ``"---"``), the
result is the empty string: the query names no job, and the caller says so (the index answers
INVALID_ARGUMENT) rather than send noise to the model.

:func:`named_title` reads one more posting convention: a gender marker closes the job's name, and what
follows it narrows the job (``Lokführer (m/w/d) Güterverkehr``, ``Filialleiter (m/w/d)
Lebensmitteleinzelhandel``). The search adds that name as a further cleaned form, so the named job
counts more than its qualifier, which stays in the cleaned title.
"""

from __future__ import annotations

import re

__all__ = ["clean_job_title", "has_letters", "named_title"]

_FLAGS = re.IGNORECASE

# -- gender markers ----------------------------------------------------------------------------
_GENDER_LETTER = r"[mwfdxhi]"
_GENDER_MARKER = re.compile(
    rf"\(\s*{_GENDER_LETTER}(?:\s*[/|,.-]\s*{_GENDER_LETTER}){{1,3}}\s*\)"  # (m/w/d), (w|m|d), (m/f)
    r"|\(\s*(?:all|any)\s+genders?\s*\)|\(\s*alle\s+geschlechter\s*\)|\(\s*(?:gn\*?|mwd|d)\s*\)"
    rf"|(?<![\w/]){_GENDER_LETTER}\s*/\s*{_GENDER_LETTER}\s*/\s*{_GENDER_LETTER}(?![\w/])",  # bare m/w/d
    _FLAGS,
)
# Erzieher/in, Referent/-in, Sozialarbeiter:in, Verkäufer*in, Lehrer_innen, Kaufmann/-frau, Angestellte/r
_GERMAN_SUFFIX = re.compile(r"(?<=\w)(?:\s?/\s?-?|[:*_])(?:innen|in|frau|mann|r)\b", _FLAGS)

# -- pay: an amount with a currency; {0,15} bounds the work per position on long digit runs -----
_CURRENCY = r"(?:[£$€]|\b(?:EUR|GBP|USD|CHF)\b)"
_AMOUNT = r"\d[\d.,']{0,15}(?:\s?[kK]\b)?"
_PER = (
    r"(?:\s?(?:/|\bper\b|\bpro\b|\bp/?)\s?"
    r"(?:hour|hr|h|std\.?|stunde|day|d|tag|year|yr|annum|a|month|monat|mth|week|woche|wk|mile|shift)\b\.?)?"
)
_PAY = re.compile(
    r"(?:\b(?:up\s+to|bis\s+zu|bis|ab|from|ca\.?|circa)\s+)?"
    rf"(?:{_CURRENCY}\s?{_AMOUNT}|{_AMOUNT}\s?{_CURRENCY})"
    rf"(?:\s?[-\u2013]\s?{_CURRENCY}?\s?{_AMOUNT}{_CURRENCY}?)?{_PER}"
    r"(?:\s?(?:brutto|netto|gross|p\.\s?a\.|pa|ph|pro\s+rata)\b)?",
    _FLAGS,
)

_STAR_RATING = re.compile(r"(?<!\w)\d\s?\*+(?!\w)")  # a 4* hotel

# -- company, tails ------------------------------------------------------------------------------
_COMPANY = re.compile(r"\s@\s?\S.*$")
_TAIL_SEPARATOR = re.compile(r" ?[|•·\u2013\u2014] ?| - ")  # on collapsed whitespace: no backtracking
_SLASH_SEPARATOR = re.compile(r" / ")
# "for our client", "für unser Team": from "for" + a possessive on, who posts, not the job
_FOR_EN, _FOR_DE = r"for", r"für|fuer"
_POSSESSIVE_EN, _POSSESSIVE_DE = r"our|your", r"unser(?:e[mnrs]?)?|ihre?[mnrs]?|eure?[mnrs]?"


def _employer_phrase(fors: str, possessives: str) -> re.Pattern[str]:
    return re.compile(rf"\s(?:{fors})\s+(?:{possessives})\b.*$", _FLAGS)


_EMPLOYER_PHRASE = {
    False: _employer_phrase(_FOR_EN, _POSSESSIVE_EN),
    True: _employer_phrase(f"{_FOR_EN}|{_FOR_DE}", f"{_POSSESSIVE_EN}|{_POSSESSIVE_DE}"),
}
_OPENING, _CLOSING = "([{", ")]}"

# -- noise words, matched whole against 1-3 lowercased words at either end of a title -------------
_SENIORITY_LEADING = (
    r"senior|sr|snr|junior|jr|jnr|lead|principal|trainee|graduate|apprentice|intern|entry[\s-]level|"
    r"mid[\s-](?:level|senior)|experienced|werkstudent(?:in)?|praktikant(?:in)?|auszubildende[rn]?|azubi|"
    r"berufseinsteiger(?:in)?|ausbildung (?:zum|zur|als)|praktikum (?:im|in der|als)"
)
_SENIORITY_TRAILING = r"senior|sr|junior|jr|ii|iii|iv"
# Either end: seldom the first word of a real title ("night" and "evening" are: Night Auditor).
_EDGE_NOISE_EN = (
    r"part[\s-]?time|full[\s-]?time|temp|temporary|weekends?|nights|night[\s-]?shifts?|evenings|"
    r"seasonal|freelance|interim|locum|relief|per diem|prn"
)
_EDGE_NOISE_DE = r"teilzeit|vollzeit|minijob(?:ber)?|nebenjob|aushilfsweise"
# The end only: these also start real titles (Contract Manager, Remote Sensing Analyst), and
# connectors left dangling once a tail is gone ("Friseur in Vollzeit" -> "Friseur in" -> "Friseur").
_END_NOISE_EN = (
    r"night|evening|remote|hybrid|contract|permanent|perm|temp to perm|fixed[\s-]term|zero[\s-]hours?|days|"
    r"day[\s-]?shifts?|on[\s-]call|immediate start|urgent|urgently required|wanted|needed|"
    r"ote|doe|bonus|benefits|commission|tips|uncapped|negotiable|and|or|with|for|in|at|on|to|of"
)
_END_NOISE_DE = (
    r"befristet|unbefristet|ab sofort|sofort|gesucht|dringend|homeoffice|home[\s-]office|mobiles arbeiten|"
    r"schichtbetrieb|wechselschicht|frühschicht|spätschicht|nachtschicht|nachtdienst|tagdienst|wochenende|"
    r"wochenendarbeit|\d-schicht\S*|(?:auf )?\S*basis|brutto|netto|"
    r"und|oder|mit|für|fuer|in|im|ab|auf|zum|zur|bei|als"
)


def _words(*alternatives: str) -> re.Pattern[str]:
    return re.compile("|".join(alternatives))


_LEADING = {
    False: _words(_SENIORITY_LEADING, _EDGE_NOISE_EN),
    True: _words(_SENIORITY_LEADING, _EDGE_NOISE_EN, _EDGE_NOISE_DE),
}
_TRAILING = {
    False: _words(_SENIORITY_TRAILING, _EDGE_NOISE_EN, _END_NOISE_EN),
    True: _words(_SENIORITY_TRAILING, _EDGE_NOISE_EN, _END_NOISE_EN, _EDGE_NOISE_DE, _END_NOISE_DE),
}
_HYPHENATED_SENIORITY = re.compile(r"^(?:senior|junior|sr|jr)\.?-(?=\w)", _FLAGS)  # Senior-Entwickler
_WORD_PUNCTUATION = ".,;:!?()[]{}|/*\"'-\u2013\u2014"
_PHRASE_WORDS = (3, 2, 1)

_LEADING_PUNCTUATION = " -\u2013\u2014|/,;:.*&+"
_TRAILING_PUNCTUATION = " -\u2013\u2014|/,;:.*"
_SPACE_BEFORE_PUNCTUATION = re.compile(r"\s+([,;:.)])")
_WHITESPACE = re.compile(r"\s+")


def has_letters(text: str) -> bool:
    """Whether ``text`` has at least one letter (in any script): punctuation-only input has none."""
    return any(ch.isalpha() for ch in text)


def _german_rules(language: str | None) -> bool:
    """German noise rules apply to German queries and to queries of unknown language (None or "")."""
    return not language or language.lower().startswith("de")


def _tidy(text: str) -> str:
    """Collapse whitespace and strip punctuation left dangling at either end."""
    text = _SPACE_BEFORE_PUNCTUATION.sub(r"\1", _WHITESPACE.sub(" ", text))
    return text.lstrip(_LEADING_PUNCTUATION).rstrip(_TRAILING_PUNCTUATION)


def _remove_asides(text: str) -> str:
    """Remove bracketed asides (outermost pairs, nested ones with them) in one pass; stray brackets become spaces."""
    keep = [True] * len(text)
    open_at: list[int] = []
    for i, ch in enumerate(text):
        if ch in _OPENING:
            open_at.append(i)
        elif ch in _CLOSING:
            if not open_at:
                keep[i] = False
                continue
            start = open_at.pop()
            if not open_at:
                keep[start : i + 1] = [False] * (i + 1 - start)
    for i in open_at:
        keep[i] = False
    return "".join(ch if kept else " " for ch, kept in zip(text, keep, strict=True))


def _noise_run(keys: list[str], at: int, step: int, pattern: re.Pattern[str]) -> int:
    """How many words from ``keys[at]`` (onwards for step 1, backwards for -1) form one noise phrase."""
    for size in _PHRASE_WORDS:
        window = keys[at : at + size] if step == 1 else keys[max(at - size + 1, 0) : at + 1]
        if len(window) == size and pattern.fullmatch(" ".join(window)):
            return size
    return 0 if any(ch.isalnum() for ch in keys[at]) else 1  # a lone "&", "+" or "-"


def _strip_edges(words: list[str], german: bool) -> list[str]:
    """Drop noise words from the start and the end (linear in the number of words)."""
    keys = [word.strip(_WORD_PUNCTUATION).lower() for word in words]
    start, end = 0, len(words)
    while start < end and (run := _noise_run(keys, start, 1, _LEADING[german])):
        start += run
    while end > start and (run := _noise_run(keys, end - 1, -1, _TRAILING[german])):
        end -= run
    kept = words[start:end]
    if kept and _HYPHENATED_SENIORITY.match(kept[0]):
        kept[0] = _HYPHENATED_SENIORITY.sub("", kept[0])
    return kept


def _clean_part(text: str, german: bool) -> str:
    """One part of a title without the employer's phrase and the noise words at its ends, then
    ``Head of X`` -> ``X manager``."""
    words = _strip_edges(_tidy(_EMPLOYER_PHRASE[german].sub("", text)).split(), german)
    if len(words) > 2 and [w.lower() for w in words[:2]] == ["head", "of"]:
        words = [*words[2:], "manager"]
    return _tidy(" ".join(words))


def _clean_segment(segment: str, german: bool) -> str:
    """One tail-separated segment: its `` / ``-joined parts that keep a role, rejoined."""
    parts = (_clean_part(part, german) for part in _SLASH_SEPARATOR.split(segment))
    return " / ".join(part for part in parts if has_letters(part))


def clean_job_title(text: str, language: str | None = None) -> str:
    """``text`` without job-ad noise (gender markers, pay, asides, tails, contract, shift, seniority).

    ``language`` is the query's ISO 639-1 code, or None (or "") when unknown; English noise words
    are removed in every language (German ads are full of English titles), German ones for ``de``
    and unknown. Returns "" when nothing with a letter is left. See the module docstring for the rules.
    """
    original = _WHITESPACE.sub(" ", text).strip()
    german = _german_rules(language)
    cleaned = _GENDER_MARKER.sub(" ", _COMPANY.sub("", original))
    if german:
        cleaned = _GERMAN_SUFFIX.sub("", cleaned)
    cleaned = _WHITESPACE.sub(" ", _remove_asides(_STAR_RATING.sub(" ", _PAY.sub(" ", cleaned))))
    for segment in _TAIL_SEPARATOR.split(cleaned):
        kept = _clean_segment(segment, german)
        if has_letters(kept):
            return kept
    return ""


def named_title(text: str, language: str | None = None) -> str:
    """The cleaned job name before a gender marker that a qualifier follows; "" for any other title.

    ``"Lokführer (m/w/d) Güterverkehr"`` -> ``"Lokführer"``; ``"Lokführer (m/w/d) - Vollzeit"`` ->
    ``""`` (only noise follows: the cleaned title is the name already); ``"Lokführer"`` -> ``""``.
    """
    marker = _GENDER_MARKER.search(text)
    if marker is None or not clean_job_title(text[marker.end() :], language):
        return ""
    return clean_job_title(text[: marker.start()], language)
