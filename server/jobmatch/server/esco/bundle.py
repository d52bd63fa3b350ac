"""Find the files of one ESCO CSV bundle (one directory, one language) and their layout.

* v1.2.x: every file carries the language suffix, relations included:
  ``occupations_en.csv``, ``skills_en.csv``, ``ISCOGroups_en.csv``,
  ``occupationSkillRelations_en.csv``, ``broaderRelationsOccPillar_en.csv``.
* v1.1.x: the relations are language-neutral, without suffix: ``occupationSkillRelations.csv``,
  ``broaderRelationsOccPillar.csv``; they may sit next to a language's files or alone in a
  directory of their own (a "neutral" bundle, ``language`` None).

Only ``occupations_<lang>.csv`` is required in a language bundle; the language comes from its
name. File names are matched case-insensitively; other files are ignored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from .errors import EscoFormatError

__all__ = ["Bundle", "detect_bundle"]

_LANG = r"([a-z]{2,3}(?:-[a-z0-9]+)*)"
_OCCUPATIONS = re.compile(rf"occupations_{_LANG}\.csv")
_SUFFIXED = {
    "skills": "skills_{lang}.csv",
    "isco_groups": "iscogroups_{lang}.csv",
    "relations": "occupationskillrelations_{lang}.csv",
    "broader": "broaderrelationsoccpillar_{lang}.csv",
}
_NEUTRAL = {"relations": "occupationskillrelations.csv", "broader": "broaderrelationsoccpillar.csv"}
_ANY_SUFFIX = re.compile(rf"(?:skills|iscogroups|occupationskillrelations|broaderrelationsoccpillar)_{_LANG}\.csv")


@dataclass(frozen=True, slots=True)
class Bundle:
    """The ESCO files found in one directory; None where a file is absent."""

    directory: Path
    language: str | None
    occupations: Path | None = None
    skills: Path | None = None
    isco_groups: Path | None = None
    relations: Path | None = None
    broader: Path | None = None


def detect_bundle(directory: Path) -> Bundle:
    """Inspect ``directory`` and return its :class:`Bundle`.

    Raises:
        EscoFormatError: not a directory, several ``occupations_<lang>.csv`` files, files of
            another language than the occupations', both the suffixed and the neutral form of a
            relations file, or no ESCO file at all.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise EscoFormatError("not a directory", path=directory)
    files = {p.name.lower(): p for p in directory.iterdir() if p.is_file()}

    languages = sorted(m.group(1) for name in files if (m := _OCCUPATIONS.fullmatch(name)))
    if len(languages) > 1:
        raise EscoFormatError(
            f"several occupation files ({', '.join(languages)}): use one directory per language",
            path=directory,
        )
    lang = languages[0] if languages else None

    others = sorted({m.group(1) for name in files if (m := _ANY_SUFFIX.fullmatch(name))} - {lang})
    if others:
        expected = f"'{lang}' (from occupations_{lang}.csv)" if lang else "none (no occupations_<lang>.csv)"
        raise EscoFormatError(f"files for language(s) {', '.join(others)} found, expected {expected}", path=directory)

    found: dict[str, Path | None] = {}
    if lang is not None:
        found["occupations"] = files[f"occupations_{lang}.csv"]
        for role, pattern in _SUFFIXED.items():
            found[role] = files.get(pattern.format(lang=lang))
    for role, name in _NEUTRAL.items():
        neutral, suffixed = files.get(name), found.get(role)
        if neutral is not None and suffixed is not None:
            raise EscoFormatError(f"both {suffixed.name} and {neutral.name} present: keep one", path=directory)
        if neutral is not None:
            found[role] = neutral

    if not any(found.values()):
        raise EscoFormatError(
            "no ESCO CSV file found (expected occupations_<lang>.csv, or the language-neutral "
            "occupationSkillRelations.csv / broaderRelationsOccPillar.csv)",
            path=directory,
        )
    return Bundle(directory=directory, language=lang, **found)
