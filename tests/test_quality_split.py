"""The held-out ESCO evaluation (jobmatch.quality): the split, duplicates, noise and skill-list queries.

No model: the bundled v1.1.1 snapshot and hand-made occupations only.
"""

from __future__ import annotations

import dataclasses
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from jobmatch import quality
from jobmatch.evaluation import read_queries
from jobmatch.server.esco import EscoDataset, Occupation, load_snapshot


@pytest.fixture(scope="module")
def snapshot() -> EscoDataset:
    return load_snapshot()


@pytest.fixture(scope="module")
def split(snapshot: EscoDataset) -> quality.Split:
    return quality.split_dataset(snapshot)


def indexed_labels(dataset: EscoDataset) -> set[str]:
    return set(quality.label_counts(dataset))


def test_held_out_labels_are_not_in_the_indexed_dataset(snapshot: EscoDataset, split: quality.Split) -> None:
    assert split.held_out
    indexed = indexed_labels(split.dataset)
    assert not {quality.normalize_label(h.label) for h in split.held_out} & indexed
    for held in split.held_out:
        original = snapshot.occupations[held.uri]
        assert len(original.alt_labels[held.language]) >= quality.MIN_ALT_LABELS
        source = original.alt_labels if held.kind == "alt" else original.hidden_labels
        assert held.label in source[held.language]
    # only labels were removed: same occupations, preferred labels, skills, descriptions
    assert split.dataset.occupations.keys() == snapshot.occupations.keys()
    assert split.dataset.skills is snapshot.skills
    removed = 0
    for uri, occupation in split.dataset.occupations.items():
        before = snapshot.occupations[uri]
        assert dataclasses.replace(occupation, alt_labels={}, hidden_labels={}) == dataclasses.replace(
            before, alt_labels={}, hidden_labels={}
        )
        for field in ("alt_labels", "hidden_labels"):
            kept, was = getattr(occupation, field).get("en", ()), getattr(before, field).get("en", ())
            assert set(kept) <= set(was)
            assert list(kept) == [label for label in was if label in kept]  # order kept
            removed += len(was) - len(kept)
    assert removed == len(split.held_out)


def test_the_split_is_deterministic_and_close_to_its_share(snapshot: EscoDataset, split: quality.Split) -> None:
    again = quality.split_dataset(snapshot)
    assert again.held_out == split.held_out
    assert again.dataset == split.dataset
    unique = split.candidates - split.ambiguous
    assert len(split.held_out) / unique == pytest.approx(quality.DEFAULT_SHARE, abs=0.01)
    # pinned: a change of the recipe (hash, salt, rules) shows up here, not silently in the numbers
    assert split.summary()["held_out"] == {"en": 5663}
    assert split.ambiguous == 4603
    other = quality.split_dataset(snapshot, salt="another salt")
    assert other.held_out != split.held_out
    assert len(other.held_out) / unique == pytest.approx(quality.DEFAULT_SHARE, abs=0.01)


def test_stable_fraction_does_not_depend_on_the_hash_seed() -> None:
    code = (
        "from jobmatch import quality as q; print(q.stable_fraction('a', 'b'), q.noisy_title('nurse', language='en'))"
    )
    outputs = {
        subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
        ).stdout
        for seed in ("1", "2")
    }
    assert outputs == {f"{quality.stable_fraction('a', 'b')} {quality.noisy_title('nurse', language='en')}\n"}


def occupation(name: str, preferred: str, alt: tuple[str, ...], hidden: tuple[str, ...] = ()) -> Occupation:
    return Occupation(
        uri=f"http://example.org/{name}",
        code="2511.1",
        isco_group="2511",
        preferred_label={"en": preferred},
        alt_labels={"en": alt},
        hidden_labels={"en": hidden} if hidden else {},
    )


def test_duplicate_labels_are_never_held_out_nor_queried() -> None:
    occupations = [
        occupation("ds", "data scientist", ("data scientist", "Data  Analyst", "data wrangler"), ("dta scientist",)),
        occupation("bio", "bioinformatics scientist", ("data analyst", "bioinformatician", "genome scientist")),
        occupation("few", "lone worker", ("only alt",)),  # fewer than 2 alt labels: never split
    ]
    dataset = EscoDataset("test", ("en",), {o.uri: o for o in occupations}, {}, {})
    split = quality.split_dataset(dataset, share=1.0)  # hold out every label that qualifies
    held = {(h.uri.rsplit("/", 1)[1], h.label, h.kind) for h in split.held_out}
    assert held == {
        ("ds", "data wrangler", "alt"),
        ("ds", "dta scientist", "hidden"),
        ("bio", "bioinformatician", "alt"),
        ("bio", "genome scientist", "alt"),
    }
    # "data scientist" (also the preferred label) and "data analyst" (two owners, any case) stay indexed
    assert split.ambiguous == 3
    ds, bio, few = (split.dataset.occupations[o.uri] for o in occupations)
    assert ds.alt_labels == {"en": ("data scientist", "Data  Analyst")}
    assert ds.hidden_labels == {}
    assert bio.alt_labels == {"en": ("data analyst",)}
    assert few == occupations[2]
    assert split.candidates == 7
    assert quality.split_dataset(dataset, share=0.0).held_out == ()


def test_noise_is_deterministic_and_job_ad_like(split: quality.Split) -> None:
    labels = quality.sample(split.in_language("en"), 200, seed=5)
    assert labels == quality.sample(split.in_language("en"), 200, seed=5)
    assert labels != quality.sample(split.in_language("en"), 200, seed=6)
    first = quality.label_queries(labels, noisy=True)
    assert first == quality.label_queries(labels, noisy=True)
    clean = quality.label_queries(labels)
    assert [q.expected_uri for q in first] == [q.expected_uri for q in clean] == [h.uri for h in labels]
    markers = ("Senior ", "Junior ", "Lead ", "(m/f/d)", "(f/m/x)", " - ", "(")
    for noisy, held in zip(first, labels, strict=True):
        assert noisy.query != held.label
        assert any(marker in noisy.query for marker in markers)
    tech = quality.noisy_title("nurse", language="en", isco_group="2221", key="k")
    assert not any(stack in tech for stack in ("Python", "Java", "SAP", "React", "Linux", ".NET"))
    german = [quality.noisy_title("Pflegefachkraft", language="de", key=str(i)) for i in range(50)]
    assert any("(m/w/d)" in t or "(w/m/d)" in t for t in german)
    assert not any("(m/f/d)" in t or "night shift" in t for t in german)


def one_edit(a: str, b: str) -> bool:
    """b is a with at most one deletion, insertion, substitution or swap of neighbours."""
    if len(b) == len(a) - 1:
        return any(a[:i] + a[i + 1 :] == b for i in range(len(a)))
    if len(b) == len(a) + 1:
        return any(b[:i] + b[i + 1 :] == a for i in range(len(b)))
    diff = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
    return len(diff) <= 1 or (len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]])


def test_a_misspelling_is_one_edit_inside_a_word_of_four_letters_or_more() -> None:
    text = "IT data engineer"
    edited = {quality.misspell(text, random.Random(seed)) for seed in range(300)}
    assert len(edited) > 50
    for typo in edited:
        assert one_edit(text, typo), typo
        words = typo.split(" ")
        assert words[0] == "IT"  # short words untouched
        assert words[1][0] == "d"  # never the first letter
        assert words[2][0] == "e"
    assert quality.misspell("IT HR", random.Random(1)) == "IT HR"  # no word of 4 letters: unchanged


def test_skill_queries_are_subsets_of_the_occupation_s_skills(snapshot: EscoDataset) -> None:
    queries = quality.skill_queries(snapshot, count=50, seed=3)
    assert queries == quality.skill_queries(snapshot, count=50, seed=3)
    assert len(queries) == 50
    for query in queries:
        skills = query.query.split(", ")
        assert quality.MIN_SKILLS <= len(skills) <= quality.SKILLS_PER_QUERY
        assert set(skills) <= set(snapshot.skill_labels(query.expected_uri, "en", "essential"))
    optional = quality.skill_queries(snapshot, count=20, seed=3, relation="optional")
    for query in optional:
        assert set(query.query.split(", ")) <= set(snapshot.skill_labels(query.expected_uri, "en", "optional"))


def test_query_files_are_what_jobmatch_eval_reads(tmp_path: Path, split: quality.Split) -> None:
    queries = quality.label_queries(quality.sample(split.in_language("en"), 20, seed=1), noisy=True)
    assert quality.write_queries(tmp_path / "q.csv", queries) == 20
    assert read_queries(tmp_path / "q.csv") == queries


def test_baseline_text_has_labels_and_description(split: quality.Split) -> None:
    held = split.held_out[0]
    text = quality.baseline_text(split.dataset.occupations[held.uri], "en")
    occupation = split.dataset.occupations[held.uri]
    assert text.startswith(occupation.preferred_label["en"] + " ")
    assert text.endswith(occupation.description["en"])
    assert all(label in text for label in occupation.alt_labels["en"])


def test_description_queries_are_seeded_descriptions(split: quality.Split) -> None:
    queries = quality.description_queries(split.dataset, count=30, seed=2)
    assert queries == quality.description_queries(split.dataset, count=30, seed=2)
    assert len({q.expected_uri for q in queries}) == 30
    for query in queries:
        assert query.query == split.dataset.occupations[query.expected_uri].description["en"].strip()
