"""ESCO occupations, skills and ISCO groups: CSV loader, model and bundled snapshot.

>>> from jobmatch.server.esco import load_bundles, load_snapshot
>>> dataset = load_bundles([Path("esco/v1.2.0/en"), Path("esco/v1.2.0/de")])  # doctest: +SKIP
>>> dataset = load_snapshot()  # bundled ESCO v1.1.1 English, no CSV needed  # doctest: +SKIP

This service uses the ESCO classification of the European Commission (:data:`ATTRIBUTION`).
"""

from .bundle import Bundle, detect_bundle
from .csv_reader import read_rows, split_multi
from .errors import EscoFormatError
from .loader import load_bundles
from .model import (
    RELATION_TYPES,
    EscoDataset,
    IscoGroup,
    Occupation,
    Relation,
    Skill,
    content_hash,
    occupation_record,
    pick_label,
)
from .snapshot import (
    ATTRIBUTION,
    DEFAULT_SNAPSHOT_NAME,
    build_snapshot,
    default_snapshot_path,
    load_snapshot,
    read_snapshot_metadata,
)

__all__ = [
    "ATTRIBUTION",
    "DEFAULT_SNAPSHOT_NAME",
    "RELATION_TYPES",
    "Bundle",
    "EscoDataset",
    "EscoFormatError",
    "IscoGroup",
    "Occupation",
    "Relation",
    "Skill",
    "build_snapshot",
    "content_hash",
    "default_snapshot_path",
    "detect_bundle",
    "load_bundles",
    "load_snapshot",
    "occupation_record",
    "pick_label",
    "read_rows",
    "read_snapshot_metadata",
    "split_multi",
]
