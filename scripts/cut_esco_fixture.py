"""Cut the small ESCO fixture of the tests (tests/data/esco) from the official ESCO CSV releases.

    python scripts/cut_esco_fixture.py --esco-dir PATH/TO/esco [--out tests/data/esco]

``--esco-dir`` holds ``v1.1.1/`` (``occupations_en.csv``, ``skills_en.csv``, ``ISCOGroups_en.csv``,
``occupationSkillRelations.csv``, ``broaderRelationsOccPillar.csv``: the official v1.1.1 English and
language-neutral bundles) and ``v1.2.0/en/`` and ``v1.2.0/de/`` (``occupations_<lang>.csv`` and
``ISCOGroups_<lang>.csv``). Records are copied byte for byte (quoting, CRLF or LF record ends and
the LF inside multi-value fields as released), header first, in release order; only which records
are kept is decided here:

* v1.1.1: the occupations the loader tests name (technical director: multi-line alternative
  labels; general practitioner: 25 hidden labels; fleet commander: ISCO codes with leading zeros)
  and, transitively, the occupations they are narrower than (technical director: art director); every
  relation and broader row of those occupations; the 67 relation rows and the broader row of
  ``a9e54177-...``, an occupation the release does not define (a dangling reference the loader
  must report) and what those rows point to; every skill the kept relation rows name; every ISCO
  group on the kept occupations' code paths (``0``, ``01``, ``011``, ``0110``) and the ISCO-to-ISCO
  broader rows between them.
* v1.2.0 en and de: data scientist, technical director and every 100th other occupation (by URI)
  of the release, in both languages; their ISCO unit groups, and ``0`` and ``01``.

Complete per occupation: a kept occupation loads exactly as from the full release (same skills,
broader links, ISCO group), which the tests check against the bundled snapshot. The output's
README.md lists what each file holds and the sha256 of the files it was cut from.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
from collections.abc import Callable, Iterable
from pathlib import Path

OCCUPATION = "http://data.europa.eu/esco/occupation/"
TECHNICAL_DIRECTOR = OCCUPATION + "00030d09-2b3a-4efd-87cc-c4ea39d27c34"
GENERAL_PRACTITIONER = OCCUPATION + "71f09c8b-a172-408c-b9e7-32e580e39ff6"
FLEET_COMMANDER = OCCUPATION + "0b1d8dcb-d941-4d79-99bf-fc10c1806c43"
DATA_SCIENTIST = OCCUPATION + "258e46f9-0075-4a2e-adae-1ff0477e0f30"
UNDEFINED = OCCUPATION + "a9e54177-a185-404d-b6e6-15663d31137e"  # named by v1.1.1's relations, not defined
V111_OCCUPATIONS = (TECHNICAL_DIRECTOR, GENERAL_PRACTITIONER, FLEET_COMMANDER)
V120_OCCUPATIONS = (DATA_SCIENTIST, TECHNICAL_DIRECTOR)
V120_EVERY = 100
V120_ISCO = ("0", "01")
ROOT = Path(__file__).resolve().parent.parent
ATTRIBUTION = "This service uses the ESCO classification of the European Commission."

Row = dict[str, str]


class CsvFile:
    """A CSV file as its raw header and records (each with its line end), and their parsed fields."""

    def __init__(self, path: Path) -> None:
        self.path = path
        with path.open(encoding="utf-8", newline="") as handle:
            text = handle.read()
        raw = _records(text)
        self.header = raw[0]
        self.columns = _fields(self.header)
        self.records = raw[1:]
        self.rows: list[Row] = [dict(zip(self.columns, _fields(r), strict=True)) for r in self.records]

    def cut(self, keep: Callable[[Row], bool], out: Path) -> int:
        """Write the header and the records whose row ``keep`` accepts to ``out``; return how many."""
        kept = [raw for raw, row in zip(self.records, self.rows, strict=True) if keep(row)]
        out.parent.mkdir(parents=True, exist_ok=True)
        with out.open("w", encoding="utf-8", newline="") as handle:
            handle.write(self.header + "".join(kept))
        return len(kept)


def _records(text: str) -> list[str]:
    """Raw CSV records: lines joined while a quoted field is open (an odd count of quotes)."""
    records: list[str] = []
    pending = ""
    lines = text.split("\n")
    for index, line in enumerate(lines):
        last = index == len(lines) - 1
        pending += line if last else line + "\n"
        if pending and pending.count('"') % 2 == 0:
            records.append(pending)
            pending = ""
    if pending:
        raise ValueError(f"unterminated quoted field at the end: {pending[:80]!r}")
    return records


def _fields(record: str) -> list[str]:
    return next(csv.reader(io.StringIO(record, newline=""), strict=True))


def _isco_path(code: str) -> set[str]:
    """An ISCO code and its ancestors: 0110 -> {0, 01, 011, 0110}."""
    return {code[:n] for n in range(1, len(code) + 1)}


def cut_v111(source: Path, out: Path) -> dict[str, int]:
    occupations = CsvFile(source / "occupations_en.csv")
    relations = CsvFile(source / "occupationSkillRelations.csv")
    broader = CsvFile(source / "broaderRelationsOccPillar.csv")
    skills = CsvFile(source / "skills_en.csv")
    isco = CsvFile(source / "ISCOGroups_en.csv")

    defined = {row["conceptUri"] for row in occupations.rows}
    links = [row for row in broader.rows if row["conceptType"] == "Occupation"]
    kept: set[str] = set()
    todo = [*V111_OCCUPATIONS, UNDEFINED]
    while todo:  # the occupations a kept one is narrower than, transitively
        uri = todo.pop()
        if uri in kept:
            continue
        kept.add(uri)
        todo += [r["broaderUri"] for r in links if r["conceptUri"] == uri and r["broaderType"] == "Occupation"]
    assert UNDEFINED not in defined
    named = {r["skillUri"] for r in relations.rows if r["occupationUri"] in kept}
    codes = set().union(*(_isco_path(r["iscoGroup"]) for r in occupations.rows if r["conceptUri"] in kept))
    isco_uris = {r["conceptUri"] for r in isco.rows if r["code"] in codes}

    def broader_row(row: Row) -> bool:
        if row["conceptType"] == "ISCOGroup":
            return row["conceptUri"] in isco_uris and row["broaderUri"] in isco_uris
        return row["conceptUri"] in kept

    return {
        "occupations_en.csv": occupations.cut(lambda r: r["conceptUri"] in kept, out / "occupations_en.csv"),
        "skills_en.csv": skills.cut(lambda r: r["conceptUri"] in named, out / "skills_en.csv"),
        "ISCOGroups_en.csv": isco.cut(lambda r: r["code"] in codes, out / "ISCOGroups_en.csv"),
        "occupationSkillRelations.csv": relations.cut(
            lambda r: r["occupationUri"] in kept, out / "occupationSkillRelations.csv"
        ),
        "broaderRelationsOccPillar.csv": broader.cut(broader_row, out / "broaderRelationsOccPillar.csv"),
    }


def cut_v120(source: Path, out: Path) -> dict[str, int]:
    occupations = {lang: CsvFile(source / lang / f"occupations_{lang}.csv") for lang in ("en", "de")}
    in_both = set.intersection(*({r["conceptUri"] for r in f.rows} for f in occupations.values()))
    sample = sorted(in_both)[::V120_EVERY]
    kept = {*V120_OCCUPATIONS, *sample}
    codes = {r["iscoGroup"] for r in occupations["en"].rows if r["conceptUri"] in kept} | set(V120_ISCO)
    counts = {}
    for lang, table in occupations.items():
        name = f"{lang}/occupations_{lang}.csv"
        counts[name] = table.cut(lambda r: r["conceptUri"] in kept, out / name)
        name = f"{lang}/ISCOGroups_{lang}.csv"
        counts[name] = CsvFile(source / name).cut(lambda r: r["code"] in codes, out / name)
    return counts


def _sha256(paths: Iterable[Path], root: Path) -> str:
    return "\n".join(f"{hashlib.sha256(p.read_bytes()).hexdigest()}  {p.relative_to(root)}" for p in paths)


def write_readme(out: Path, source: Path, counts: dict[str, int]) -> None:
    files = sorted(p for p in out.rglob("*.csv"))
    size = sum(p.stat().st_size for p in files)
    table = "\n".join(f"| `{name}` | {count:,} |" for name, count in counts.items())
    sources = _sha256(sorted(source / name for name in counts), source)
    text = f"""# ESCO test fixture

{ATTRIBUTION}

A small cut of two official ESCO CSV releases (European Skills, Competences, Qualifications and
Occupations, published by the European Commission under its reuse policy, with the attribution
above): records copied byte for byte, header first, in release order. The loader, snapshot and
multilingual index tests read it, so a fresh clone covers them without the full releases.

Made by `python scripts/cut_esco_fixture.py --esco-dir PATH/TO/esco` (the full releases: `v1.1.1/`
and `v1.2.0/en`, `v1.2.0/de`); the script's docstring says which records it keeps and why. Do not
edit the files by hand: cut them again. With `ESCO_DATA_DIR` set to that folder,
`tests/esco/test_esco_snapshot.py` also checks that the script reproduces these files and that the
bundled snapshot is a fresh build of the full v1.1.1 release.

| file | records |
| --- | --- |
{table}

{len(files)} files, {size / 1024:.0f} KiB. The files it was cut from (sha256):

```
{sources}
```
"""
    (out / "README.md").write_text(text, encoding="utf-8")
    (out / ".gitattributes").write_text(
        "# Release bytes as cut (CRLF records with LF inside fields in the English files): no line-ending "
        "conversion.\n*.csv -text\n",
        encoding="utf-8",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--esco-dir", type=Path, required=True, help="folder with v1.1.1/ and v1.2.0/{en,de}/")
    parser.add_argument("--out", type=Path, default=ROOT / "tests" / "data" / "esco")
    args = parser.parse_args()
    counts = {f"v1.1.1/{k}": v for k, v in cut_v111(args.esco_dir / "v1.1.1", args.out / "v1.1.1").items()}
    counts |= {f"v1.2.0/{k}": v for k, v in cut_v120(args.esco_dir / "v1.2.0", args.out / "v1.2.0").items()}
    write_readme(args.out, args.esco_dir, counts)
    for name, count in counts.items():
        print(f"{name}: {count} records")


if __name__ == "__main__":
    main()
