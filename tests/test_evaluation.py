"""Query files and ranking scores (jobmatch.evaluation): alternatives, lenient and strict scores, bad rows."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

from jobmatch.evaluation import CUTOFFS, LabelledQuery, RankingScores, read_queries, score_rankings

NURSE = "http://data.europa.eu/esco/occupation/nurse"
SPECIALIST = "http://data.europa.eu/esco/occupation/specialist-nurse"
ASSISTANT = "http://data.europa.eu/esco/occupation/nurse-assistant"
COOK = "http://data.europa.eu/esco/occupation/cook"
DATA = Path(__file__).resolve().parents[1] / "benchmarks" / "data" / "job_ad_titles.csv"


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_an_alternative_at_rank_1_is_a_lenient_hit_but_not_a_strict_one() -> None:
    scores = score_rankings([([SPECIALIST, NURSE], NURSE, (SPECIALIST,))])
    assert scores.recall == {1: 1.0, 5: 1.0, 10: 1.0}
    assert scores.mrr_at_10 == 1.0
    assert scores.strict_recall_at_1 == 0.0


def test_the_expected_uri_at_rank_1_is_a_hit_both_ways() -> None:
    scores = score_rankings([([NURSE, SPECIALIST], NURSE, (SPECIALIST,))])
    assert scores.recall[1] == 1.0
    assert scores.strict_recall_at_1 == 1.0


def test_mrr_counts_the_first_acceptable_uri() -> None:
    rankings = [
        ([COOK, ASSISTANT, NURSE], NURSE, (ASSISTANT,)),  # the alternative at rank 2: 1/2
        ([COOK, "a", "b", NURSE], NURSE, ()),  # the expected URI at rank 4: 1/4
        ([COOK] * 10 + [NURSE], NURSE, (SPECIALIST,)),  # rank 11: a miss for every cutoff and MRR@10
    ]
    scores = score_rankings(rankings)
    assert scores.mrr_at_10 == pytest.approx((1 / 2 + 1 / 4 + 0) / 3)
    assert scores.recall == {1: 0.0, 5: pytest.approx(2 / 3), 10: pytest.approx(2 / 3)}
    assert scores.strict_recall_at_1 == 0.0


def test_pairs_without_alternatives_score_as_before() -> None:
    scores = score_rankings([([NURSE], NURSE), ([COOK, NURSE], NURSE), ([COOK], NURSE)])
    assert scores.queries == 3
    assert scores.recall == {1: pytest.approx(1 / 3), 5: pytest.approx(2 / 3), 10: pytest.approx(2 / 3)}
    assert scores.mrr_at_10 == pytest.approx((1 + 1 / 2) / 3)
    assert scores.strict_recall_at_1 == pytest.approx(1 / 3)
    assert score_rankings([([], NURSE)]).strict_recall_at_1 == 0.0


def test_the_row_has_the_strict_column_after_the_lenient_ones() -> None:
    row = score_rankings([([SPECIALIST], NURSE, (SPECIALIST,))]).as_row()
    assert list(row) == [*(f"recall@{k}" for k in CUTOFFS), "mrr@10", "strict_recall@1"]
    assert row["recall@1"] == 1.0
    assert row["strict_recall@1"] == 0.0
    assert "strict_recall@1" not in RankingScores(1, {1: 1.0, 5: 1.0, 10: 1.0}, 1.0).as_row()


def test_no_rankings_is_an_error() -> None:
    with pytest.raises(ValueError, match="no rankings"):
        score_rankings([])


def test_alternatives_are_read_space_separated_without_repeats(tmp_path: Path) -> None:
    path = write(
        tmp_path / "q.csv",
        "query,expected_uri,also_acceptable_uris,language,split\n"
        f"ICU RN - Nights,{NURSE},  {SPECIALIST}   {ASSISTANT} {NURSE} {SPECIALIST} ,en,dev\n"
        f"Koch (m/w/d),{COOK},,de,test\n",
    )
    assert read_queries(path) == [
        LabelledQuery("ICU RN - Nights", NURSE, "en", (SPECIALIST, ASSISTANT)),
        LabelledQuery("Koch (m/w/d)", COOK, "de", ()),
    ]


def test_without_the_optional_columns_there_are_no_alternatives(tmp_path: Path) -> None:
    path = write(tmp_path / "q.csv", f"query,expected_uri\nnurse,{NURSE}\n")
    assert read_queries(path) == [LabelledQuery("nurse", NURSE, "", ())]


def test_the_split_column_is_ignored_unless_a_split_is_asked_for(tmp_path: Path) -> None:
    path = write(
        tmp_path / "q.csv",
        f"query,expected_uri,split\nnurse,{NURSE},dev\ncook,{COOK},test\n",
    )
    assert [q.query for q in read_queries(path)] == ["nurse", "cook"]
    assert [q.query for q in read_queries(path, split="test")] == ["cook"]
    with pytest.raises(ValueError, match=r"no queries in split 'train'"):
        read_queries(path, split="train")
    no_split = write(tmp_path / "plain.csv", f"query,expected_uri\nnurse,{NURSE}\n")
    with pytest.raises(ValueError, match=rf"{re.escape(str(no_split))}: no split column"):
        read_queries(no_split, split="dev")


def test_a_bad_row_names_the_file_and_its_line(tmp_path: Path) -> None:
    path = write(
        tmp_path / "q.csv",
        f"query,expected_uri,also_acceptable_uris\nnurse,{NURSE},{SPECIALIST}\ncook,,{NURSE}\n",
    )
    with pytest.raises(ValueError, match=rf"^{re.escape(str(path))}:3: empty query or expected_uri$"):
        read_queries(path)


def test_a_missing_column_names_the_file(tmp_path: Path) -> None:
    path = write(tmp_path / "q.csv", "query,uri\nnurse,x\n")
    with pytest.raises(ValueError, match=rf"^{re.escape(str(path))}: missing column\(s\) expected_uri$"):
        read_queries(path)


def test_the_bundled_job_ad_set_reads_and_splits_by_language() -> None:
    queries = read_queries(DATA)
    dev, test = read_queries(DATA, split="dev"), read_queries(DATA, split="test")
    assert len(dev) + len(test) == len(queries)
    for language, minimum in (("en", 210), ("de", 110)):
        in_language = [q for q in queries if q.language == language]
        assert len(in_language) >= minimum
        dev_share = sum(q.language == language for q in dev) / len(in_language)
        assert 0.45 <= dev_share <= 0.55
    assert all(0 <= len(q.also_acceptable) <= 2 and q.expected_uri not in q.also_acceptable for q in queries)
    with DATA.open(newline="", encoding="utf-8") as handle:
        header = next(csv.reader(handle))
    assert header == ["query", "expected_uri", "also_acceptable_uris", "language", "split"]
