"""Pure parts of matching: probe planning (vectors and heads per kind) and rank fusion."""

from __future__ import annotations

import pytest

from jobmatch.server.index import InvalidQuery, Layout
from jobmatch.server.index.fusion import RRF_K, Hit, family_weight, fuse, weighted
from jobmatch.server.index.strategies import plan_probes

LAYOUT = Layout(kind="occupations", languages=("en", "de"), skills_language="en")


def probes(kind: str, strategy: str | None = None, languages: tuple[str, ...] = ("en", "de")) -> set[tuple[str, str]]:
    return {(p.vector, p.side) for p in plan_probes(LAYOUT, kind, strategy, languages)}


def test_job_titles_use_the_anchor_head_and_skill_lists_the_positive_head() -> None:
    assert probes("job_title") == {("labels_en", "anchor"), ("labels_de", "anchor")}
    assert probes("job_title", "skills") == {("skills", "anchor")}  # a title against skill lists: cross-head
    assert probes("skills") == {("labels_en", "positive"), ("labels_de", "positive"), ("skills", "positive")}
    assert probes("skills", "title", ("de",)) == {("title_de", "positive")}


def test_free_text_meets_each_family_with_that_family_s_head() -> None:
    assert probes("text") == {("labels_en", "anchor"), ("labels_de", "anchor"), ("skills", "positive")}
    with_descriptions = Layout(kind="occupations", languages=("en",), skills_language="en", descriptions=True)
    planned = {(p.vector, p.side) for p in plan_probes(with_descriptions, "text", None, ("en",))}
    assert planned == {("labels_en", "anchor"), ("skills", "positive"), ("description_en", "positive")}


def test_a_strategy_the_index_cannot_serve_is_an_invalid_query() -> None:
    labels_only = Layout(kind="occupations", languages=("en", "de"))
    with pytest.raises(InvalidQuery, match="needs skills vectors; this index has: labels, title"):
        plan_probes(labels_only, "skills", "skills", ("en",))
    assert {p.vector for p in plan_probes(labels_only, "skills", None, ("en",))} == {"labels_en"}


def test_one_family_keeps_the_best_cosine_across_languages() -> None:
    hits = [
        Hit("a", "labels_en", "labels", 0.50),
        Hit("b", "labels_en", "labels", 0.70),
        Hit("a", "labels_de", "labels", 0.95),
    ]
    fused = fuse(hits)
    assert [(f.id, f.score, f.vector) for f in fused] == [("a", 0.95, "labels_de"), ("b", 0.70, "labels_en")]
    assert fused[0].scores == {"labels_en": 0.50, "labels_de": 0.95}


def test_several_families_fuse_by_reciprocal_rank() -> None:
    hits = [
        Hit("a", "labels_en", "labels", 0.9),
        Hit("b", "labels_en", "labels", 0.8),
        Hit("b", "skills", "skills", 0.6),
        Hit("c", "skills", "skills", 0.5),
    ]
    fused = {f.id: f for f in fuse(hits)}
    assert fused["b"].score == pytest.approx(1 / (RRF_K + 2) + 1 / (RRF_K + 1))
    assert fused["a"].score == pytest.approx(1 / (RRF_K + 1))
    assert [f.id for f in fuse(hits)] == ["b", "a", "c"]
    assert fused["b"].vector == "skills"  # ranked first there


LAYOUT = Layout(kind="occupations", languages=("en", "de"), skills_language="en")


def test_fused_weights_follow_the_query_kind() -> None:
    planned = {(p.vector, p.family) for p in plan_probes(LAYOUT, "skills", None, ("en",))}
    assert planned == {("labels_en", "labels*0.25"), ("skills", "skills*1")}
    planned = {(p.vector, p.family) for p in plan_probes(LAYOUT, "text", "fused", ("en", "de"))}
    assert planned == {("labels_en", "labels*1"), ("labels_de", "labels*1"), ("skills", "skills*0.25")}
    assert family_weight(weighted("labels", 0.25)) == ("labels", 0.25)
    assert family_weight("labels") == ("labels", None)


def test_weighted_families_fuse_by_the_weighted_mean_of_cosines() -> None:
    hits = [
        Hit("a", "skills", "skills*1", 0.9),
        Hit("b", "skills", "skills*1", 0.8),
        Hit("b", "labels_en", "labels*0.25", 0.7),
        Hit("b", "labels_de", "labels*0.25", 0.75),
        Hit("c", "labels_en", "labels*0.25", 0.6),
    ]
    fused = {f.id: f for f in fuse(hits)}
    assert fused["a"].score == pytest.approx((0.9 + 0.25 * 0.6) / 1.25)  # not among labels' hits: its floor
    assert fused["b"].score == pytest.approx((0.8 + 0.25 * 0.75) / 1.25)  # best language
    assert fused["c"].score == pytest.approx((0.8 + 0.25 * 0.6) / 1.25)
    assert [f.id for f in fuse(hits)] == ["a", "b", "c"]
    assert fused["b"].scores == {"skills": 0.8, "labels_en": 0.7, "labels_de": 0.75}
    assert (fused["a"].vector, fused["c"].vector) == ("skills", "labels_en")
    single = fuse([Hit("a", "labels_en", "labels*1", 0.5)])
    assert single[0].score == 0.5


def test_an_index_with_descriptions_matches_job_titles_fused() -> None:
    layout = Layout(kind="occupations", languages=("en",), skills_language="en", descriptions=True)
    planned = {(p.vector, p.family, p.side) for p in plan_probes(layout, "job_title", None, ("en",))}
    assert planned == {
        ("labels_en", "labels*1", "anchor"),
        ("skills", "skills*0.25", "anchor"),
        ("description_en", "description*0.25", "anchor"),
    }
    assert {p.vector for p in plan_probes(LAYOUT, "job_title", None, ("en",))} == {"labels_en"}
