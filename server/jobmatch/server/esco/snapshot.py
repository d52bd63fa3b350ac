"""A compact gzip JSON snapshot of an :class:`EscoDataset`, and the bundled v1.1.1 English one.

The snapshot keeps every :class:`Occupation` and :class:`IscoGroup` field, and of each skill
that some occupation references its URI, preferred labels, type and reuse level (not its alt
labels or description). So :func:`content_hash` gives the same value for a CSV load and for
its snapshot. Skills are stored once and referenced by index; the gzip stream is byte-for-byte
reproducible (no timestamp, sorted content).

Format (``format_version`` 1), a JSON object::

    {"format": "jobmatch-esco-snapshot", "format_version": 1, "esco_version": "v1.1.1",
     "languages": ["en"], "attribution": "...", "counts": {...}, "problems": [...],
     "isco_groups": [{"uri", "code", "label": {lang: str}}, ...],
     "skills": [[uri, skill_type, reuse_level, {lang: label}], ...],
     "occupations": [{"uri", "code", "isco", "label", "alt", "hidden", "desc",
                      "ess": [skill index deltas], "opt": [...], "broader": [uri, ...]}, ...]}

``ess``/``opt`` hold ascending skill indices as deltas (first index, then differences).
"""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Iterable, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from ._gcpause import gc_paused
from .errors import EscoFormatError
from .model import EscoDataset, IscoGroup, Occupation, Skill

__all__ = [
    "ATTRIBUTION",
    "DEFAULT_SNAPSHOT_NAME",
    "SNAPSHOT_FORMAT",
    "build_snapshot",
    "default_snapshot_path",
    "load_snapshot",
    "read_snapshot_metadata",
]

ATTRIBUTION = "This service uses the ESCO classification of the European Commission."
DEFAULT_SNAPSHOT_NAME = "esco-v1.1.1-en.json.gz"
SNAPSHOT_FORMAT = "jobmatch-esco-snapshot"
_FORMAT_VERSION = 1


def default_snapshot_path() -> Path:
    """Path of the bundled snapshot (``jobmatch/server/jobmatch/server/esco/data/esco-v1.1.1-en.json.gz``)."""
    return Path(str(resources.files(__package__).joinpath("data", DEFAULT_SNAPSHOT_NAME)))


def _deltas(values: Sequence[int]) -> list[int]:
    return [value - previous for previous, value in zip((0, *values), values, strict=False)]


def _undeltas(deltas: Iterable[int]) -> list[int]:
    total, values = 0, []
    for delta in deltas:
        total += delta
        values.append(total)
    return values


def _document(dataset: EscoDataset) -> dict[str, Any]:
    referenced = sorted({uri for occupation in dataset.occupations.values() for uri in occupation.skill_uris("all")})
    missing = [uri for uri in referenced if uri not in dataset.skills]
    if missing:
        raise ValueError(f"{len(missing)} referenced skill(s) not in dataset.skills, e.g. {missing[0]}")
    index = {uri: position for position, uri in enumerate(referenced)}
    skills = [
        [
            uri,
            dataset.skills[uri].skill_type,
            dataset.skills[uri].reuse_level,
            dataset.skills[uri].preferred_label,
        ]
        for uri in referenced
    ]
    occupations = []
    for uri in sorted(dataset.occupations):
        o = dataset.occupations[uri]
        entry: dict[str, Any] = {"uri": uri, "code": o.code, "isco": o.isco_group, "label": o.preferred_label}
        optional = {
            "alt": o.alt_labels,
            "hidden": o.hidden_labels,
            "desc": o.description,
            "ess": _deltas(sorted(index[s] for s in o.essential_skills)),
            "opt": _deltas(sorted(index[s] for s in o.optional_skills)),
            "broader": list(o.broader),
        }
        entry.update((key, value) for key, value in optional.items() if value)
        occupations.append(entry)
    isco_groups = [
        {"uri": g.uri, "code": g.code, "label": g.preferred_label} for _, g in sorted(dataset.isco_groups.items())
    ]
    return {
        "format": SNAPSHOT_FORMAT,
        "format_version": _FORMAT_VERSION,
        "esco_version": dataset.version,
        "languages": list(dataset.languages),
        "attribution": ATTRIBUTION,
        "counts": {
            "occupations": len(occupations),
            "skills": len(skills),
            "isco_groups": len(isco_groups),
            **dataset.relation_counts(),
        },
        "problems": list(dataset.problems),
        "isco_groups": isco_groups,
        "skills": skills,
        "occupations": occupations,
    }


def build_snapshot(dataset: EscoDataset, path: Path | str) -> int:
    """Write ``dataset`` as a snapshot to ``path`` (parents created); return its size in bytes."""
    payload = json.dumps(_document(dataset), ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, compresslevel=9, mtime=0) as stream:
        stream.write(payload)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(buffer.getvalue())
    tmp.replace(path)
    return len(buffer.getvalue())


def _read_document(path: Path | str | None) -> tuple[Path, dict[str, Any]]:
    path = Path(path) if path is not None else default_snapshot_path()
    try:
        with gzip.open(path, "rb") as stream:
            document = json.loads(stream.read().decode("utf-8"))
    except (OSError, EOFError, ValueError) as exc:  # bad gzip, truncated, bad JSON or UTF-8
        if isinstance(exc, FileNotFoundError):
            raise
        raise EscoFormatError(f"not a readable snapshot ({exc})", path=path) from exc
    if not isinstance(document, dict) or document.get("format") != SNAPSHOT_FORMAT:
        raise EscoFormatError(f"not a {SNAPSHOT_FORMAT} file", path=path)
    if document.get("format_version") != _FORMAT_VERSION:
        raise EscoFormatError(f"unsupported format_version {document.get('format_version')!r}", path=path)
    return path, document


def read_snapshot_metadata(path: Path | str | None = None) -> dict[str, Any]:
    """The snapshot's header: format, ESCO version, languages, attribution, counts, problems."""
    _, document = _read_document(path)
    return {k: v for k, v in document.items() if k not in ("isco_groups", "skills", "occupations")}


def load_snapshot(path: Path | str | None = None) -> EscoDataset:
    """Load a snapshot written by :func:`build_snapshot` (default: the bundled v1.1.1 English one).

    Raises:
        FileNotFoundError: no file at ``path`` (or the bundled file was not installed).
        EscoFormatError: not a snapshot of a supported format, or a corrupt one.
    """
    with gc_paused():
        path, document = _read_document(path)
        return _dataset(path, document)


def _dataset(path: Path, document: dict[str, Any]) -> EscoDataset:
    try:
        skill_uris: list[str] = []
        skills: dict[str, Skill] = {}
        for uri, skill_type, reuse_level, labels in document["skills"]:
            skill_uris.append(uri)
            skills[uri] = Skill(uri=uri, preferred_label=labels, skill_type=skill_type, reuse_level=reuse_level)
        occupations: dict[str, Occupation] = {}
        for entry in document["occupations"]:
            occupations[entry["uri"]] = Occupation(
                uri=entry["uri"],
                code=entry["code"],
                isco_group=entry["isco"],
                preferred_label=entry["label"],
                alt_labels={lang: tuple(v) for lang, v in entry.get("alt", {}).items()},
                hidden_labels={lang: tuple(v) for lang, v in entry.get("hidden", {}).items()},
                description=entry.get("desc", {}),
                essential_skills=tuple(skill_uris[i] for i in _undeltas(entry.get("ess", ()))),
                optional_skills=tuple(skill_uris[i] for i in _undeltas(entry.get("opt", ()))),
                broader=tuple(entry.get("broader", ())),
            )
        isco_groups = {
            g["code"]: IscoGroup(uri=g["uri"], code=g["code"], preferred_label=g["label"])
            for g in document["isco_groups"]
        }
        return EscoDataset(
            version=document["esco_version"],
            languages=tuple(document["languages"]),
            occupations=occupations,
            skills=skills,
            isco_groups=isco_groups,
            problems=list(document.get("problems", [])),
        )
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        raise EscoFormatError(f"corrupt snapshot ({type(exc).__name__}: {exc})", path=path) from exc
