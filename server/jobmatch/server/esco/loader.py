"""Load and validate ESCO CSV bundles (one directory per language) into an :class:`EscoDataset`.

Policy, applied before anything is returned (the caller may write to a database only after a
successful load):

* Malformed files always raise :class:`EscoFormatError` with ``file:line``: missing column, broken
  quoting, wrong field count, empty URI, URI repeated within a file, ``relationType`` other than
  essential/optional, ``iscoGroup`` not 4 digits or ISCO ``code`` not 1-4 digits (leading zeros
  lost by a spreadsheet), unknown ``conceptType``/``broaderType`` in the broader relations.
* Inconsistencies between otherwise valid files are *problems*. With ``strict=False`` (default)
  they are listed in :attr:`EscoDataset.problems` (as ``<bundle dir>/<file>:line: message``)
  and the offending rows are excluded, with a count; with ``strict=True`` the first one raises
  :class:`EscoFormatError` with ``file:line``. They are: relation or broader rows naming a URI
  that is not in the dataset (dangling), an occupation/skill given different codes or types by
  two languages (the first bundle wins), a pair marked both essential and optional (essential
  wins), an empty preferred label (no label in that language), an ESCO code outside its ISCO
  unit group, an occupation whose ISCO group is not in the loaded ISCO files.

The default is lenient because the official v1.1.1 release itself has 67 relation rows and one
broader row for an occupation (``a9e54177-...``) that its ``occupations_en.csv`` does not define.

Rows of ``broaderRelationsOccPillar`` between two ISCO groups are not read: the ISCO hierarchy
is implied by the codes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ._gcpause import gc_paused
from .bundle import Bundle, detect_bundle
from .csv_reader import read_rows, split_multi
from .errors import EscoFormatError
from .model import RELATION_TYPES, EscoDataset, IscoGroup, Occupation, Skill

__all__ = ["load_bundles"]

_ISCO_UNIT = re.compile(r"\d{4}")
_ISCO_CODE = re.compile(r"\d{1,4}")
_VERSION = re.compile(r"(?<![0-9A-Za-z])v(\d+(?:\.\d+){1,3})(?!\.?[0-9A-Za-z])")
_MAX_LINES_SHOWN = 10


def _short(path: Path) -> str:
    """``<bundle dir>/<file>``: how problems name a file (portable, unambiguous within a load)."""
    return f"{path.parent.name}/{path.name}"


@dataclass(slots=True)
class _Draft:
    """An occupation or skill being merged from several language bundles."""

    uri: str
    path: Path  # where it was first defined
    line: int
    code: str = ""
    isco_group: str = ""
    skill_type: str = ""
    reuse_level: str = ""
    preferred_label: dict[str, str] = field(default_factory=dict)
    alt_labels: dict[str, tuple[str, ...]] = field(default_factory=dict)
    hidden_labels: dict[str, tuple[str, ...]] = field(default_factory=dict)
    description: dict[str, str] = field(default_factory=dict)
    essential: list[str] = field(default_factory=list)
    optional: list[str] = field(default_factory=list)
    broader: list[str] = field(default_factory=list)


@dataclass(slots=True)
class _Dangling:
    """Rows of one file that name the same missing URI in the same column."""

    path: Path
    column: str
    uri: str
    what: str
    lines: list[int] = field(default_factory=list)

    def message(self) -> str:
        shown = ", ".join(map(str, self.lines[:_MAX_LINES_SHOWN]))
        more = ", ..." if len(self.lines) > _MAX_LINES_SHOWN else ""
        return (
            f"{_short(self.path)}:{self.lines[0]}: {self.column} {self.uri} is not {self.what} of the "
            f"dataset; {len(self.lines)} row(s) excluded (lines {shown}{more})"
        )


class _Loader:
    """One load: the state shared by the phases of :func:`load_bundles`."""

    def __init__(self, strict: bool) -> None:
        self.strict = strict
        self.problems: list[str] = []
        self.dangling: dict[tuple[Path, str, str], _Dangling] = {}
        self.occupations: dict[str, _Draft] = {}
        self.skills: dict[str, _Draft] = {}
        self.isco: dict[str, IscoGroup] = {}
        self.isco_origin: dict[str, str] = {}  # code -> "file:line" of its first definition

    def problem(self, message: str, path: Path, line: int) -> None:
        if self.strict:
            raise EscoFormatError(message, path=path, line=line)
        self.problems.append(f"{_short(path)}:{line}: {message}")

    def missing(self, path: Path, line: int, column: str, uri: str, what: str) -> None:
        if self.strict:
            raise EscoFormatError(f"{column} {uri} is not {what} of the dataset", path=path, line=line)
        key = (path, column, uri)
        entry = self.dangling.get(key)
        if entry is None:
            entry = self.dangling[key] = _Dangling(path, column, uri, what)
        entry.lines.append(line)

    # -- ISCO groups ---------------------------------------------------------------------------

    def read_isco(self, path: Path, lang: str) -> None:
        seen: dict[str, int] = {}
        for line, (uri, code, label) in read_rows(path, ("conceptUri", "code", "preferredLabel")):
            if not _ISCO_CODE.fullmatch(code):
                raise EscoFormatError(f"ISCO code {code!r} is not 1 to 4 digits", path=path, line=line)
            if not uri:
                raise EscoFormatError("empty conceptUri", path=path, line=line)
            if code in seen:
                raise EscoFormatError(f"ISCO code {code} repeated (first at line {seen[code]})", path=path, line=line)
            seen[code] = line
            group = self.isco.get(code)
            if group is None:
                group = self.isco[code] = IscoGroup(uri=uri, code=code, preferred_label={})
                self.isco_origin[code] = f"{path.name}:{line}"
            elif group.uri != uri:
                self.problem(f"ISCO code {code} has URI {uri}, but {group.uri} in {self.isco_origin[code]}", path, line)
                continue
            if label:
                group.preferred_label[lang] = label
            else:
                self.problem(f"ISCO group {code} has no preferred label in {lang!r}", path, line)

    # -- occupations and skills ----------------------------------------------------------------

    def read_occupations(self, path: Path, lang: str) -> None:
        columns = (
            "conceptUri",
            "code",
            "iscoGroup",
            "preferredLabel",
            "altLabels",
            "hiddenLabels",
            "description",
        )
        seen: dict[str, int] = {}
        for line, (uri, code, isco, label, alt, hidden, description) in read_rows(path, columns):
            self._check_uri(uri, seen, path, line)
            if not _ISCO_UNIT.fullmatch(isco):
                raise EscoFormatError(
                    f"iscoGroup {isco!r} is not a 4-digit code (leading zeros lost?)", path=path, line=line
                )
            draft = self.occupations.get(uri)
            if draft is None:
                draft = self.occupations[uri] = _Draft(uri, path, line, code=code, isco_group=isco)
                if not code.startswith(isco):
                    self.problem(f"code {code!r} of {uri} is outside its ISCO group {isco}", path, line)
            elif (draft.code, draft.isco_group) != (code, isco):
                self.problem(
                    f"{uri} has code {code!r} / iscoGroup {isco}, but {draft.code!r} / {draft.isco_group} "
                    f"in {draft.path.name}:{draft.line} (kept)",
                    path,
                    line,
                )
            self._texts(draft, lang, label, alt, description, path, line)
            if hidden_labels := split_multi(hidden):
                draft.hidden_labels[lang] = hidden_labels

    def read_skills(self, path: Path, lang: str) -> None:
        columns = ("conceptUri", "skillType", "reuseLevel", "preferredLabel", "altLabels", "description")
        seen: dict[str, int] = {}
        for line, (uri, skill_type, reuse, label, alt, description) in read_rows(path, columns):
            self._check_uri(uri, seen, path, line)
            draft = self.skills.get(uri)
            if draft is None:
                draft = self.skills[uri] = _Draft(uri, path, line, skill_type=skill_type, reuse_level=reuse)
            elif (draft.skill_type, draft.reuse_level) != (skill_type, reuse):
                self.problem(
                    f"{uri} has skillType/reuseLevel {skill_type!r}/{reuse!r}, but "
                    f"{draft.skill_type!r}/{draft.reuse_level!r} in {draft.path.name}:{draft.line} (kept)",
                    path,
                    line,
                )
            self._texts(draft, lang, label, alt, description, path, line)

    @staticmethod
    def _check_uri(uri: str, seen: dict[str, int], path: Path, line: int) -> None:
        if not uri:
            raise EscoFormatError("empty conceptUri", path=path, line=line)
        if uri in seen:
            raise EscoFormatError(f"conceptUri {uri} repeated (first at line {seen[uri]})", path=path, line=line)
        seen[uri] = line

    def _texts(self, draft: _Draft, lang: str, label: str, alt: str, description: str, path: Path, line: int) -> None:
        label = label.strip()
        if label:
            draft.preferred_label[lang] = label
        else:
            self.problem(f"{draft.uri} has no preferred label in {lang!r}", path, line)
        if alt_labels := split_multi(alt):
            draft.alt_labels[lang] = alt_labels
        description = description.strip()
        if description:
            draft.description[lang] = description

    # -- relations -----------------------------------------------------------------------------

    def read_relations(self, path: Path, pairs: dict[tuple[str, str], tuple[str, Path, int]]) -> None:
        occupations, skills = self.occupations, self.skills
        for line, (occupation, relation, skill) in read_rows(path, ("occupationUri", "relationType", "skillUri")):
            if relation not in RELATION_TYPES:
                raise EscoFormatError(
                    f"relationType {relation!r} is neither 'essential' nor 'optional'", path=path, line=line
                )
            if not occupation or not skill:
                raise EscoFormatError("empty occupationUri or skillUri", path=path, line=line)
            ok = True
            if occupation not in occupations:
                self.missing(path, line, "occupationUri", occupation, "an occupation")
                ok = False
            if skill not in skills:
                self.missing(path, line, "skillUri", skill, "a skill")
                ok = False
            if not ok:
                continue
            key = (occupation, skill)
            previous = pairs.get(key)
            if previous is None:
                pairs[key] = (relation, path, line)
            elif previous[0] != relation:
                self.problem(
                    f"{occupation} / {skill} is {relation} here but {previous[0]} at "
                    f"{previous[1].name}:{previous[2]} (kept as essential)",
                    path,
                    line,
                )
                pairs[key] = ("essential", path, line)

    def read_broader(self, path: Path, links: set[tuple[str, str]]) -> None:
        isco_uris = {group.uri for group in self.isco.values()}
        columns = ("conceptType", "conceptUri", "broaderType", "broaderUri")
        for line, (concept_type, uri, broader_type, broader) in read_rows(path, columns):
            if concept_type == "ISCOGroup":
                continue
            if concept_type != "Occupation":
                raise EscoFormatError(
                    f"conceptType {concept_type!r} is not Occupation or ISCOGroup", path=path, line=line
                )
            if broader_type not in ("Occupation", "ISCOGroup"):
                raise EscoFormatError(
                    f"broaderType {broader_type!r} is not Occupation or ISCOGroup", path=path, line=line
                )
            if not uri or not broader:
                raise EscoFormatError("empty conceptUri or broaderUri", path=path, line=line)
            ok = True
            if uri not in self.occupations:
                self.missing(path, line, "conceptUri", uri, "an occupation")
                ok = False
            if broader_type == "Occupation" and broader not in self.occupations:
                self.missing(path, line, "broaderUri", broader, "an occupation")
                ok = False
            if broader_type == "ISCOGroup" and isco_uris and broader not in isco_uris:
                self.missing(path, line, "broaderUri", broader, "an ISCO group")
                ok = False
            if ok:
                links.add((uri, broader))

    # -- result --------------------------------------------------------------------------------

    def dataset(self, version: str, languages: tuple[str, ...]) -> EscoDataset:
        for entry in self.dangling.values():
            self.problems.append(entry.message())
        occupations = {
            uri: Occupation(
                uri=uri,
                code=d.code,
                isco_group=d.isco_group,
                preferred_label=d.preferred_label,
                alt_labels=d.alt_labels,
                hidden_labels=d.hidden_labels,
                description=d.description,
                essential_skills=tuple(sorted(d.essential)),
                optional_skills=tuple(sorted(d.optional)),
                broader=tuple(sorted(d.broader)),
            )
            for uri, d in sorted(self.occupations.items())
        }
        skills = {
            uri: Skill(
                uri=uri,
                preferred_label=d.preferred_label,
                skill_type=d.skill_type,
                reuse_level=d.reuse_level,
                alt_labels=d.alt_labels,
                description=d.description,
            )
            for uri, d in sorted(self.skills.items())
        }
        isco_groups = dict(sorted(self.isco.items()))
        return EscoDataset(version, languages, occupations, skills, isco_groups, self.problems)


def load_bundles(dirs: Sequence[Path | str], *, version: str | None = None, strict: bool = False) -> EscoDataset:
    """Load ESCO CSV bundles, one directory per language, merged by URI.

    Args:
        dirs: bundle directories (``occupations_<lang>.csv`` gives the language), and possibly a
            v1.1.x language-neutral relations directory. The first language's values win when
            two languages disagree on a code or type.
        version: ESCO version to record; by default taken from a ``v1.2.0``-like component of the
            directory paths (``"unknown"`` if none; an error if the directories disagree).
        strict: raise on the first problem instead of listing it and excluding its rows (see the
            module docstring for what is an error and what is a problem).

    Raises:
        EscoFormatError: a malformed or inconsistent input, with file and line.
    """
    with gc_paused():
        return _load(dirs, version, strict)


def _load(dirs: Sequence[Path | str] | Path | str, version: str | None, strict: bool) -> EscoDataset:
    """The body of :func:`load_bundles` (which also accepts a single directory)."""
    if isinstance(dirs, (str, Path)):
        dirs = [dirs]  # one directory, not a sequence of characters
    if not dirs:
        raise EscoFormatError("no ESCO bundle directory given")
    bundles = [detect_bundle(Path(d)) for d in dirs]
    languages = _languages(bundles)
    if version is None:
        version = _infer_version([b.directory for b in bundles])
    if not languages:
        raise EscoFormatError("no occupations_<lang>.csv in any bundle", path=bundles[0].directory)

    loader = _Loader(strict)
    for bundle in bundles:
        if bundle.isco_groups and bundle.language:
            loader.read_isco(bundle.isco_groups, bundle.language)
    for bundle in bundles:
        if bundle.occupations and bundle.language:
            loader.read_occupations(bundle.occupations, bundle.language)
    for bundle in bundles:
        if bundle.skills and bundle.language:
            loader.read_skills(bundle.skills, bundle.language)

    if loader.isco:
        for draft in loader.occupations.values():
            if draft.isco_group not in loader.isco:
                loader.problem(
                    f"iscoGroup {draft.isco_group} of {draft.uri} is not an ISCO group",
                    draft.path,
                    draft.line,
                )

    relation_files = _unique(b.relations for b in bundles)
    if relation_files and not loader.skills:
        raise EscoFormatError(
            "skill relations given, but no bundle has a skills_<lang>.csv to resolve them",
            path=relation_files[0],
        )
    pairs: dict[tuple[str, str], tuple[str, Path, int]] = {}
    for path in relation_files:
        loader.read_relations(path, pairs)
    for (occupation, skill), (relation, _, _) in pairs.items():
        draft = loader.occupations[occupation]
        (draft.essential if relation == "essential" else draft.optional).append(skill)

    links: set[tuple[str, str]] = set()
    for path in _unique(b.broader for b in bundles):
        loader.read_broader(path, links)
    for uri, broader in links:
        loader.occupations[uri].broader.append(broader)

    return loader.dataset(version, languages)


def _languages(bundles: Sequence[Bundle]) -> tuple[str, ...]:
    """Bundle languages in order; a language given twice is an error."""
    seen: dict[str, Path] = {}
    for bundle in bundles:
        if bundle.language is None:
            continue
        if bundle.language in seen:
            raise EscoFormatError(
                f"language {bundle.language!r} given twice (also {seen[bundle.language]})",
                path=bundle.directory,
            )
        seen[bundle.language] = bundle.directory
    return tuple(seen)


def _unique(paths: Iterable[Path | None]) -> list[Path]:
    """Distinct existing paths, in order (the same neutral file may be listed twice)."""
    result: list[Path] = []
    for path in paths:
        if path is not None and all(not path.samefile(p) for p in result):
            result.append(path)
    return result


def _infer_version(directories: Sequence[Path]) -> str:
    """The ``vX.Y.Z`` found in the directory paths (nearest component first), else "unknown"."""
    found: dict[str, Path] = {}
    for directory in directories:
        for part in reversed(directory.resolve().parts):
            match = _VERSION.search(part)
            if match:
                found.setdefault("v" + match.group(1), directory)
                break
    if len(found) > 1:
        listed = ", ".join(f"{v} ({d})" for v, d in found.items())
        raise EscoFormatError(f"bundles come from different ESCO versions: {listed}; pass version= to override")
    return next(iter(found), "unknown")
