"""ESCO CSV loader: real release records (v1.1.1 en, v1.2.0 en+de, cut into tests/data/esco) and
malformed inputs written to tmp_path."""

from __future__ import annotations

import csv
import dataclasses
from collections import Counter
from pathlib import Path

import pytest

from jobmatch.server.esco import EscoDataset, EscoFormatError, detect_bundle, load_bundles
from tests.support.esco_bundle import ESCO_FIXTURE as ESCO

MISSING_OCCUPATION = "http://data.europa.eu/esco/occupation/a9e54177-a185-404d-b6e6-15663d31137e"
TECHNICAL_DIRECTOR = "http://data.europa.eu/esco/occupation/00030d09-2b3a-4efd-87cc-c4ea39d27c34"
FLEET_COMMANDER = "http://data.europa.eu/esco/occupation/0b1d8dcb-d941-4d79-99bf-fc10c1806c43"
GENERAL_PRACTITIONER = "http://data.europa.eu/esco/occupation/71f09c8b-a172-408c-b9e7-32e580e39ff6"


def records(path: Path) -> list[dict[str, str]]:
    """The file's records as the csv module reads them: what the loader must account for, row by row."""
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def first_line(path: Path, start: str) -> int:
    """The 1-based line of the first line starting with ``start`` (in a file of one-line records)."""
    lines = path.read_text(encoding="utf-8").split("\n")
    return next(number for number, line in enumerate(lines, 1) if line.startswith(start))


@pytest.fixture(scope="module")
def v111() -> EscoDataset:
    return load_bundles([ESCO / "v1.1.1"])


# -- real data ---------------------------------------------------------------------------------


def test_v111_load_counts(v111: EscoDataset) -> None:
    """Every record is read (multi-line fields, CRLF records), the dangling rows excluded."""
    folder = ESCO / "v1.1.1"
    assert v111.version == "v1.1.1"
    assert v111.languages == ("en",)
    assert len(v111.occupations) == len(records(folder / "occupations_en.csv")) == 5
    assert len(v111.skills) == len(records(folder / "skills_en.csv")) > 200
    assert len(v111.isco_groups) == len(records(folder / "ISCOGroups_en.csv"))
    relations = records(folder / "occupationSkillRelations.csv")
    dangling = Counter(r["relationType"] for r in relations if r["occupationUri"] == MISSING_OCCUPATION)
    # the release README's relation counts include 55 essential + 12 optional rows for an occupation
    # that occupations_en.csv of v1.1.1 does not define: reported as a problem and excluded
    assert dangling == {"essential": 55, "optional": 12}
    kept = Counter(r["relationType"] for r in relations if r["occupationUri"] != MISSING_OCCUPATION)
    assert v111.relation_counts() == kept
    assert all(len(o.broader) == 1 for o in v111.occupations.values())


def test_v111_dangling_rows_are_reported(v111: EscoDataset) -> None:
    assert MISSING_OCCUPATION not in v111.occupations
    assert len(v111.problems) == 2
    relations, broader = v111.problems
    line = first_line(ESCO / "v1.1.1" / "occupationSkillRelations.csv", MISSING_OCCUPATION)
    assert relations.startswith(f"v1.1.1/occupationSkillRelations.csv:{line}: occupationUri {MISSING_OCCUPATION}")
    assert "67 row(s) excluded" in relations
    line = first_line(ESCO / "v1.1.1" / "broaderRelationsOccPillar.csv", f"Occupation,{MISSING_OCCUPATION},")
    assert broader.startswith(f"v1.1.1/broaderRelationsOccPillar.csv:{line}: conceptUri {MISSING_OCCUPATION}")
    assert "1 row(s) excluded" in broader


def test_v111_strict_refuses_dangling_relation() -> None:
    line = first_line(ESCO / "v1.1.1" / "occupationSkillRelations.csv", MISSING_OCCUPATION)
    with pytest.raises(EscoFormatError, match=rf"occupationSkillRelations\.csv:{line}: occupationUri .*a9e54177"):
        load_bundles([ESCO / "v1.1.1"], strict=True)


def test_v111_multiline_alt_labels(v111: EscoDataset) -> None:
    director = v111.occupations[TECHNICAL_DIRECTOR]
    assert director.preferred_label == {"en": "technical director"}
    assert director.alt_labels["en"] == (
        "technical and operations director",
        "head of technical",
        "director of technical arts",
        "head of technical department",
        "technical supervisor",
        "technical director",
        "technical manager",
    )
    assert director.code == "2654.1.7"
    assert director.isco_group == "2654"
    assert director.description["en"].startswith("Technical directors realise the artistic visions")
    doctor = v111.occupations[GENERAL_PRACTITIONER]
    assert len(doctor.hidden_labels["en"]) == 25
    texts = [
        text
        for o in v111.occupations.values()
        for text in (
            *o.preferred_label.values(),
            *(t for v in o.alt_labels.values() for t in v),
            *(t for v in o.hidden_labels.values() for t in v),
        )
    ]
    assert all("\n" not in t and "\r" not in t and t == t.strip() and t for t in texts)


def test_v111_isco_codes_keep_leading_zeros(v111: EscoDataset) -> None:
    assert {"0", "01", "011", "0110"} <= set(v111.isco_groups)
    assert v111.isco_groups["01"].uri == "http://data.europa.eu/esco/isco/C01"
    fleet = v111.occupations[FLEET_COMMANDER]
    assert (fleet.isco_group, fleet.code) == ("0110", "0110.9")
    assert v111.isco_label(fleet, "en") == v111.isco_groups["0110"].preferred_label["en"]
    assert {len(c) for c in v111.isco_groups} == {1, 2, 3, 4}
    assert all(len(o.isco_group) == 4 and o.code.startswith(o.isco_group) for o in v111.occupations.values())


def test_v111_skill_labels_and_hash(v111: EscoDataset) -> None:
    dataset = v111
    director = dataset.occupations[TECHNICAL_DIRECTOR]
    essential = dataset.skill_labels(director, "en")
    assert len(essential) == len(director.essential_skills) > 0
    assert "organise rehearsals" in essential
    assert dataset.skill_labels(director, "de") == ()
    assert len(dataset.skill_labels(director.uri, "de", "all", fallbacks=("en",))) == len(director.skill_uris("all"))
    assert list(director.essential_skills) == sorted(director.essential_skills)
    assert not set(director.essential_skills) & set(director.optional_skills)
    digest = dataset.content_hash(director)
    assert len(digest) == 64
    assert digest == dataset.content_hash(director.uri)
    # A changed skill label changes the hash of the occupations that use it.
    skill_uri = director.essential_skills[0]
    skills = dict(dataset.skills)
    skills[skill_uri] = dataclasses.replace(skills[skill_uri], preferred_label={"en": "renamed"})
    changed = dataclasses.replace(dataset, skills=skills)
    assert changed.content_hash(director) != digest
    other = next(o for o in dataset.occupations.values() if skill_uri not in o.skill_uris())
    assert changed.content_hash(other) == dataset.content_hash(other)


def test_v120_en_de_merged() -> None:
    dataset = load_bundles([ESCO / "v1.2.0" / "en", ESCO / "v1.2.0" / "de"])
    assert dataset.version == "v1.2.0"
    assert dataset.languages == ("en", "de")
    occupations = {lang: records(ESCO / "v1.2.0" / lang / f"occupations_{lang}.csv") for lang in ("en", "de")}
    assert {r["conceptUri"] for r in occupations["en"]} == {r["conceptUri"] for r in occupations["de"]}
    assert len(dataset.occupations) == len(occupations["en"]) > 30
    assert dataset.skills == {}
    assert dataset.relation_counts() == {"essential": 0, "optional": 0}
    assert dataset.problems == []
    assert all(set(o.preferred_label) == {"en", "de"} for o in dataset.occupations.values())
    director = dataset.occupations[TECHNICAL_DIRECTOR]
    assert director.preferred_label == {
        "en": "technical director",
        "de": "Technischer Leiter für Bühne, Film und Fernsehen/Technische Leiterin für Bühne, Film und Fernsehen",
    }
    assert "Inspizientin" in director.alt_labels["de"]
    assert dataset.isco_groups["01"].preferred_label == {
        "en": "Commissioned armed forces officers",
        "de": "Offiziere in regulären Streitkräften",
    }
    assert len(dataset.isco_groups) == len(records(ESCO / "v1.2.0" / "en" / "ISCOGroups_en.csv"))


def test_bundle_layout_detection() -> None:
    v111 = detect_bundle(ESCO / "v1.1.1")
    assert v111.language == "en"
    assert v111.relations is not None
    assert v111.relations.name == "occupationSkillRelations.csv"
    de = detect_bundle(ESCO / "v1.2.0" / "de")
    assert (de.language, de.skills, de.relations, de.broader) == ("de", None, None, None)


# -- synthetic bundles -------------------------------------------------------------------------

OCC_HEADER = (
    "conceptType,conceptUri,iscoGroup,preferredLabel,altLabels,hiddenLabels,status,modifiedDate,"
    "regulatedProfessionNote,scopeNote,definition,inScheme,description,code"
)
SKILL_HEADER = (
    "conceptType,conceptUri,skillType,reuseLevel,preferredLabel,altLabels,hiddenLabels,status,"
    "modifiedDate,scopeNote,definition,inScheme,description"
)
ISCO_HEADER = "conceptType,conceptUri,code,preferredLabel,status,altLabels,inScheme,description"
REL_HEADER = "occupationUri,relationType,skillType,skillUri"
BROADER_HEADER = "conceptType,conceptUri,broaderType,broaderUri"
O = "http://data.europa.eu/esco/occupation/"  # noqa: E741
S = "http://data.europa.eu/esco/skill/"
I = "http://data.europa.eu/esco/isco/"  # noqa: E741


def occ_row(uri: str, label: str, alt: str = "", isco: str = "2512", code: str = "2512.1", desc: str = "d") -> str:
    return f'Occupation,{O}{uri},{isco},{label},"{alt}",,released,,,,,,{desc},{code}'


def skill_row(uri: str, label: str) -> str:
    return f"KnowledgeSkillCompetence,{S}{uri},skill/competence,cross-sector,{label},,,released,,,,,"


def write(path: Path, *lines: str, newline: str = "\r\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(newline.join(lines).encode("utf-8") + newline.encode())
    return path


def make_bundle(
    root: Path,
    lang: str = "en",
    *,
    suffix_relations: bool = True,
    occupations: tuple[str, ...] | None = None,
    relations: tuple[str, ...] | None = None,
) -> Path:
    """A small v1.2.x-style bundle (relations suffixed) or v1.1.x-style (neutral)."""
    d = root / lang
    write(
        d / f"occupations_{lang}.csv",
        OCC_HEADER,
        *(
            occupations
            or (
                occ_row("o1", f"developer {lang}", alt="coder\nprogrammer\n\n  hacker  \ncoder"),
                occ_row("o2", f"soldier {lang}", isco="0110", code="0110.1"),
            )
        ),
    )
    write(
        d / f"skills_{lang}.csv",
        SKILL_HEADER,
        skill_row("s1", f"python {lang}"),
        skill_row("s2", f"git {lang}"),
    )
    write(
        d / f"ISCOGroups_{lang}.csv",
        ISCO_HEADER,
        f"ISCOGroup,{I}C2512,2512,Software developers {lang},released,,,",
        f"ISCOGroup,{I}C0110,0110,Commissioned officers {lang},released,,,",
        f"ISCOGroup,{I}C01,01,Officers {lang},released,,,",
    )
    name = f"occupationSkillRelations_{lang}.csv" if suffix_relations else "occupationSkillRelations.csv"
    write(
        d / name,
        REL_HEADER,
        *(
            relations
            or (
                f"{O}o1,essential,skill/competence,{S}s1",
                f"{O}o1,optional,skill/competence,{S}s2",
                f"{O}o2,essential,skill/competence,{S}s2",
            )
        ),
    )
    return d


def test_v12_layout_and_multiline_labels(tmp_path: Path) -> None:
    dataset = load_bundles([make_bundle(tmp_path)], version="v9.9")
    assert dataset.version == "v9.9"
    o1 = dataset.occupations[O + "o1"]
    assert o1.alt_labels == {"en": ("coder", "programmer", "hacker")}
    assert o1.hidden_labels == {}
    assert (o1.essential_skills, o1.optional_skills) == ((S + "s1",), (S + "s2",))
    assert dataset.skill_labels(o1, "en", "optional") == ("git en",)
    assert dataset.occupations[O + "o2"].isco_group == "0110"
    assert set(dataset.isco_groups) == {"2512", "0110", "01"}
    assert dataset.problems == []


def test_v11_layout_with_neutral_relations_bundle(tmp_path: Path) -> None:
    en = make_bundle(tmp_path / "esco-v1.1.0", suffix_relations=False)
    neutral = tmp_path / "esco-v1.1.0" / "relations"
    neutral.mkdir()
    (en / "occupationSkillRelations.csv").rename(neutral / "occupationSkillRelations.csv")
    write(neutral / "broaderRelationsOccPillar.csv", BROADER_HEADER, f"Occupation,{O}o1,ISCOGroup,{I}C2512")
    assert detect_bundle(neutral).language is None
    dataset = load_bundles([en, neutral])
    assert dataset.version == "v1.1.0"
    assert dataset.relation_counts() == {"essential": 2, "optional": 1}
    assert dataset.occupations[O + "o1"].broader == (I + "C2512",)


def test_languages_merge_by_uri(tmp_path: Path) -> None:
    en = make_bundle(tmp_path)
    de = tmp_path / "de"
    write(
        de / "occupations_de.csv",
        OCC_HEADER,
        occ_row("o1", "Entwickler/Entwicklerin", alt="Programmierer\nProgrammiererin", desc="Beschreibung"),
        occ_row("o3", "nur deutsch", isco="2512", code="2512.3"),
        newline="\n",
    )
    dataset = load_bundles([en, de])
    assert dataset.languages == ("en", "de")
    o1 = dataset.occupations[O + "o1"]
    assert o1.preferred_label == {"en": "developer en", "de": "Entwickler/Entwicklerin"}
    assert o1.alt_labels["de"] == ("Programmierer", "Programmiererin")
    assert o1.description == {"en": "d", "de": "Beschreibung"}
    assert o1.essential_skills == (S + "s1",)  # relations from the en bundle
    only_de = dataset.occupations[O + "o3"]
    assert only_de.preferred_label == {"de": "nur deutsch"}
    assert only_de.essential_skills == ()
    assert dataset.occupations[O + "o2"].preferred_label == {"en": "soldier en"}


def test_label_only_bundle(tmp_path: Path) -> None:
    d = write(tmp_path / "fr" / "occupations_fr.csv", OCC_HEADER, occ_row("o1", "développeur")).parent
    dataset = load_bundles([d])
    assert dataset.languages == ("fr",)
    assert dataset.occupations[O + "o1"].preferred_label == {"fr": "développeur"}
    assert dataset.isco_groups == {}
    assert dataset.version == "unknown"


def test_same_relations_in_two_languages_are_merged(tmp_path: Path) -> None:
    dataset = load_bundles([make_bundle(tmp_path, "en"), make_bundle(tmp_path, "de")])
    assert dataset.relation_counts() == {"essential": 2, "optional": 1}
    assert dataset.skills[S + "s1"].preferred_label == {"en": "python en", "de": "python de"}
    assert dataset.problems == []


def test_extra_columns_and_bom_are_tolerated(tmp_path: Path) -> None:
    d = tmp_path / "en"
    write(d / "occupations_en.csv", "\ufeffextra," + OCC_HEADER, "x," + occ_row("o1", "a"))
    assert list(load_bundles([d]).occupations) == [O + "o1"]


# -- malformed inputs --------------------------------------------------------------------------


def test_missing_column(tmp_path: Path) -> None:
    d = make_bundle(tmp_path)
    write(d / "skills_en.csv", SKILL_HEADER.replace("skillType,", ""), "a,b,c,d,e,f,g,h,i,j,k,l")
    with pytest.raises(EscoFormatError, match=r"skills_en\.csv:1: missing required column 'skillType'") as info:
        load_bundles([d])
    assert info.value.path == d / "skills_en.csv"
    assert info.value.line == 1


def test_unterminated_quote_reports_record_start(tmp_path: Path) -> None:
    d = make_bundle(tmp_path)
    rows = [occ_row("o1", "a", alt="x\ny"), occ_row("o2", "b", alt="x\ny"), occ_row("o3", "c")]
    rows[1] = rows[1].replace('"x\ny"', '"x\ny')  # quote never closed: the rest of the file is one field
    write(d / "occupations_en.csv", OCC_HEADER, *rows)
    with pytest.raises(EscoFormatError, match=r"occupations_en\.csv:4: ") as info:
        load_bundles([d])
    assert info.value.line == 4  # header 1, o1 on lines 2-3, o2 starts on line 4


def test_stray_quote_is_broken_quoting(tmp_path: Path) -> None:
    d = make_bundle(tmp_path)
    write(d / "occupations_en.csv", OCC_HEADER, occ_row("o1", "a"), occ_row("o2", 'b"c"d').replace(",b", ',"b'))
    with pytest.raises(EscoFormatError, match=r"occupations_en\.csv:3: malformed CSV record"):
        load_bundles([d])


def test_wrong_field_count(tmp_path: Path) -> None:
    d = make_bundle(tmp_path)
    write(d / "occupations_en.csv", OCC_HEADER, occ_row("o1", "a", alt="p\nq"), occ_row("o2", "b") + ",extra")
    with pytest.raises(EscoFormatError, match=r"occupations_en\.csv:4: expected 14 fields as in the header, found 15"):
        load_bundles([d])


def test_unknown_relation_type(tmp_path: Path) -> None:
    d = make_bundle(tmp_path, relations=(f"{O}o1,essential,,{S}s1", f"{O}o2,mandatory,,{S}s2"))
    with pytest.raises(EscoFormatError, match=r"occupationSkillRelations_en\.csv:3: relationType 'mandatory'"):
        load_bundles([d])


@pytest.mark.parametrize(
    ("row", "column"),
    [(f"{O}nope,essential,,{S}s1", "occupationUri"), (f"{O}o1,optional,,{S}nope", "skillUri")],
)
def test_dangling_uri(tmp_path: Path, row: str, column: str) -> None:
    relations = (f"{O}o1,essential,,{S}s1", row, f"{O}o2,essential,,{S}s2", row)
    d = make_bundle(tmp_path, relations=relations)
    with pytest.raises(EscoFormatError, match=rf"occupationSkillRelations_en\.csv:3: {column} .*nope"):
        load_bundles([d], strict=True)
    dataset = load_bundles([d])
    assert dataset.relation_counts() == {"essential": 2, "optional": 0}
    [problem] = dataset.problems
    assert problem.startswith(f"en/occupationSkillRelations_en.csv:3: {column} ")
    assert "2 row(s) excluded (lines 3, 5)" in problem


def test_conflicting_relation_types(tmp_path: Path) -> None:
    d = make_bundle(tmp_path, relations=(f"{O}o1,optional,,{S}s1", f"{O}o1,essential,,{S}s1"))
    dataset = load_bundles([d])
    assert dataset.occupations[O + "o1"].essential_skills == (S + "s1",)
    assert len(dataset.problems) == 1
    with pytest.raises(EscoFormatError, match=r"_en\.csv:3: .* is essential here but optional"):
        load_bundles([d], strict=True)


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ((occ_row("o1", "a"), occ_row("o1", "b")), r":3: conceptUri .*o1 repeated \(first at line 2\)"),
        ((occ_row("o1", "a", isco="110", code="110.1"),), r":2: iscoGroup '110' is not a 4-digit code"),
        (("Occupation,,2512,a,,,,,,,,,,2512.1",), r":2: empty conceptUri"),
    ],
)
def test_bad_occupation_rows(tmp_path: Path, rows: tuple[str, ...], message: str) -> None:
    d = make_bundle(tmp_path, occupations=rows, relations=(f"{O}o1,essential,,{S}s1",))
    with pytest.raises(EscoFormatError, match=r"occupations_en\.csv" + message):
        load_bundles([d])


def test_isco_code_lost_zero_collides(tmp_path: Path) -> None:
    d = make_bundle(tmp_path)
    write(
        d / "ISCOGroups_en.csv",
        ISCO_HEADER,
        f"ISCOGroup,{I}C1,1,Managers,released,,,",
        f"ISCOGroup,{I}C01,1,Officers,released,,,",
    )
    with pytest.raises(EscoFormatError, match=r"ISCOGroups_en\.csv:3: ISCO code 1 repeated"):
        load_bundles([d])


def test_bundle_errors(tmp_path: Path) -> None:
    with pytest.raises(EscoFormatError, match="no ESCO CSV file found"):
        load_bundles([tmp_path])
    en = make_bundle(tmp_path)
    with pytest.raises(EscoFormatError, match="language 'en' given twice"):
        load_bundles([en, en])
    write(en / "skills_de.csv", SKILL_HEADER)
    with pytest.raises(EscoFormatError, match=r"files for language\(s\) de found"):
        load_bundles([en])
    (en / "skills_de.csv").unlink()
    write(en / "occupationSkillRelations.csv", REL_HEADER)
    with pytest.raises(
        EscoFormatError, match=r"both occupationSkillRelations_en\.csv and occupationSkillRelations\.csv"
    ):
        load_bundles([en])


def test_relations_without_skills(tmp_path: Path) -> None:
    d = make_bundle(tmp_path)
    (d / "skills_en.csv").unlink()
    with pytest.raises(EscoFormatError, match=r"occupationSkillRelations_en\.csv: skill relations given, but no"):
        load_bundles([d])


def test_versions_must_agree(tmp_path: Path) -> None:
    a = make_bundle(tmp_path / "v1.1.1", "en")
    b = make_bundle(tmp_path / "v1.2.0", "de")
    with pytest.raises(EscoFormatError, match="different ESCO versions"):
        load_bundles([a, b])
    assert load_bundles([a, b], version="mixed").version == "mixed"
