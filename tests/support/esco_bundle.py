"""Write a synthetic ESCO v1.2-style CSV bundle of any size (for syncs that must be cut midway); and
where the small cut of the real releases lives (:data:`ESCO_FIXTURE`)."""

from __future__ import annotations

import csv
from pathlib import Path

ESCO_FIXTURE = Path(__file__).resolve().parents[1] / "data" / "esco"
"""Records of the official ESCO CSV releases, cut by scripts/cut_esco_fixture.py: v1.1.1/ (English
with skills, relations and broader relations) and v1.2.0/en, v1.2.0/de (occupations, ISCO groups)."""
OCCUPATION = "http://data.europa.eu/esco/occupation/"
SKILL = "http://data.europa.eu/esco/skill/"
ISCO = "http://data.europa.eu/esco/isco/"
OCCUPATION_COLUMNS = [
    *("conceptType", "conceptUri", "iscoGroup", "preferredLabel", "altLabels", "hiddenLabels", "status"),
    *("modifiedDate", "regulatedProfessionNote", "scopeNote", "definition", "inScheme", "description", "code"),
]
SKILL_COLUMNS = [
    *("conceptType", "conceptUri", "skillType", "reuseLevel", "preferredLabel", "altLabels", "hiddenLabels"),
    *("status", "modifiedDate", "scopeNote", "definition", "inScheme", "description"),
]
ISCO_COLUMNS = ["conceptType", "conceptUri", "code", "preferredLabel", "status", "altLabels", "inScheme", "description"]
RELATION_COLUMNS = ["occupationUri", "relationType", "skillType", "skillUri"]
_ROLES = ("engineer", "nurse", "driver", "teacher", "cook", "welder", "analyst", "clerk", "baker", "pilot")
_FIELDS = ("software", "care", "transport", "school", "kitchen", "metal", "data", "office", "bakery", "flight")


def _write(path: Path, columns: list[str], rows: list[dict[str, str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, columns, lineterminator="\r\n")
        writer.writeheader()
        writer.writerows(rows)


def write_bundle(root: Path, occupations: int, skills: int = 40, lang: str = "en", tag: str = "") -> Path:
    """`occupations` occupations (distinct labels, two skills each) and `skills` skills under root/lang.

    `tag` ends every occupation label and description (a bundle per language with its own words).
    """
    folder = root / lang
    folder.mkdir(parents=True, exist_ok=True)
    occupation_rows = []
    for i in range(occupations):
        label = f"{_FIELDS[i % 10]} {_ROLES[i // 10 % 10]} grade {i}{tag}"
        occupation_rows.append(
            {
                "conceptType": "Occupation",
                "conceptUri": f"{OCCUPATION}o{i}",
                "iscoGroup": "2512",
                "preferredLabel": label,
                "altLabels": f"{label} assistant\n{_ROLES[i % 10]} {i}{tag}",
                "status": "released",
                "description": f"works as {label}",
                "code": f"2512.{i + 1}",
            }
        )
    _write(folder / f"occupations_{lang}.csv", OCCUPATION_COLUMNS, occupation_rows)
    skill_rows = [
        {
            "conceptType": "KnowledgeSkillCompetence",
            "conceptUri": f"{SKILL}s{k}",
            "skillType": "skill/competence",
            "reuseLevel": "cross-sector",
            "preferredLabel": f"{_FIELDS[k % 10]} skill {k}",
            "status": "released",
        }
        for k in range(skills)
    ]
    _write(folder / f"skills_{lang}.csv", SKILL_COLUMNS, skill_rows)
    isco = [{"conceptType": "ISCOGroup", "conceptUri": f"{ISCO}C2512", "code": "2512", "preferredLabel": "Software"}]
    _write(folder / f"ISCOGroups_{lang}.csv", ISCO_COLUMNS, isco)
    relations = [
        {"occupationUri": f"{OCCUPATION}o{i}", "relationType": kind, "skillType": "skill/competence",
         "skillUri": f"{SKILL}s{(i + offset) % skills}"}
        for i in range(occupations)
        for offset, kind in ((0, "essential"), (7, "optional"))
    ]  # fmt: skip
    _write(folder / f"occupationSkillRelations_{lang}.csv", RELATION_COLUMNS, relations)
    return folder
