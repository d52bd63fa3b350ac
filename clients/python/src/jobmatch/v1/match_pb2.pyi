from jobmatch.v1 import embedding_pb2 as _embedding_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class QueryKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    QUERY_KIND_UNSPECIFIED: _ClassVar[QueryKind]
    QUERY_KIND_JOB_TITLE: _ClassVar[QueryKind]
    QUERY_KIND_SKILLS: _ClassVar[QueryKind]
    QUERY_KIND_TEXT: _ClassVar[QueryKind]
QUERY_KIND_UNSPECIFIED: QueryKind
QUERY_KIND_JOB_TITLE: QueryKind
QUERY_KIND_SKILLS: QueryKind
QUERY_KIND_TEXT: QueryKind

class MatchOccupationsRequest(_message.Message):
    __slots__ = ("query", "kind", "top_k", "language", "isco_group_prefixes", "include_descriptions", "min_score")
    QUERY_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    TOP_K_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    ISCO_GROUP_PREFIXES_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_DESCRIPTIONS_FIELD_NUMBER: _ClassVar[int]
    MIN_SCORE_FIELD_NUMBER: _ClassVar[int]
    query: str
    kind: QueryKind
    top_k: int
    language: str
    isco_group_prefixes: _containers.RepeatedScalarFieldContainer[str]
    include_descriptions: bool
    min_score: float
    def __init__(self, query: _Optional[str] = ..., kind: _Optional[_Union[QueryKind, str]] = ..., top_k: _Optional[int] = ..., language: _Optional[str] = ..., isco_group_prefixes: _Optional[_Iterable[str]] = ..., include_descriptions: _Optional[bool] = ..., min_score: _Optional[float] = ...) -> None: ...

class OccupationMatch(_message.Message):
    __slots__ = ("uri", "preferred_label", "isco_group", "score", "skills", "code", "description")
    URI_FIELD_NUMBER: _ClassVar[int]
    PREFERRED_LABEL_FIELD_NUMBER: _ClassVar[int]
    ISCO_GROUP_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    SKILLS_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    uri: str
    preferred_label: str
    isco_group: str
    score: float
    skills: _containers.RepeatedScalarFieldContainer[str]
    code: str
    description: str
    def __init__(self, uri: _Optional[str] = ..., preferred_label: _Optional[str] = ..., isco_group: _Optional[str] = ..., score: _Optional[float] = ..., skills: _Optional[_Iterable[str]] = ..., code: _Optional[str] = ..., description: _Optional[str] = ...) -> None: ...

class MatchOccupationsResponse(_message.Message):
    __slots__ = ("matches", "model", "esco_version", "no_fit", "min_score")
    MATCHES_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    ESCO_VERSION_FIELD_NUMBER: _ClassVar[int]
    NO_FIT_FIELD_NUMBER: _ClassVar[int]
    MIN_SCORE_FIELD_NUMBER: _ClassVar[int]
    matches: _containers.RepeatedCompositeFieldContainer[OccupationMatch]
    model: str
    esco_version: str
    no_fit: bool
    min_score: float
    def __init__(self, matches: _Optional[_Iterable[_Union[OccupationMatch, _Mapping]]] = ..., model: _Optional[str] = ..., esco_version: _Optional[str] = ..., no_fit: _Optional[bool] = ..., min_score: _Optional[float] = ...) -> None: ...

class GetOccupationRequest(_message.Message):
    __slots__ = ("uri", "language")
    URI_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    uri: str
    language: str
    def __init__(self, uri: _Optional[str] = ..., language: _Optional[str] = ...) -> None: ...

class SkillRef(_message.Message):
    __slots__ = ("uri", "label")
    URI_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    uri: str
    label: str
    def __init__(self, uri: _Optional[str] = ..., label: _Optional[str] = ...) -> None: ...

class Occupation(_message.Message):
    __slots__ = ("uri", "code", "isco_group", "preferred_label", "alt_labels", "description", "essential_skills", "optional_skills", "preferred_labels", "esco_version")
    class PreferredLabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    URI_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    ISCO_GROUP_FIELD_NUMBER: _ClassVar[int]
    PREFERRED_LABEL_FIELD_NUMBER: _ClassVar[int]
    ALT_LABELS_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    ESSENTIAL_SKILLS_FIELD_NUMBER: _ClassVar[int]
    OPTIONAL_SKILLS_FIELD_NUMBER: _ClassVar[int]
    PREFERRED_LABELS_FIELD_NUMBER: _ClassVar[int]
    ESCO_VERSION_FIELD_NUMBER: _ClassVar[int]
    uri: str
    code: str
    isco_group: str
    preferred_label: str
    alt_labels: _containers.RepeatedScalarFieldContainer[str]
    description: str
    essential_skills: _containers.RepeatedCompositeFieldContainer[SkillRef]
    optional_skills: _containers.RepeatedCompositeFieldContainer[SkillRef]
    preferred_labels: _containers.ScalarMap[str, str]
    esco_version: str
    def __init__(self, uri: _Optional[str] = ..., code: _Optional[str] = ..., isco_group: _Optional[str] = ..., preferred_label: _Optional[str] = ..., alt_labels: _Optional[_Iterable[str]] = ..., description: _Optional[str] = ..., essential_skills: _Optional[_Iterable[_Union[SkillRef, _Mapping]]] = ..., optional_skills: _Optional[_Iterable[_Union[SkillRef, _Mapping]]] = ..., preferred_labels: _Optional[_Mapping[str, str]] = ..., esco_version: _Optional[str] = ...) -> None: ...

class GetOccupationResponse(_message.Message):
    __slots__ = ("occupation",)
    OCCUPATION_FIELD_NUMBER: _ClassVar[int]
    occupation: Occupation
    def __init__(self, occupation: _Optional[_Union[Occupation, _Mapping]] = ...) -> None: ...

class MatchSkillsRequest(_message.Message):
    __slots__ = ("query", "top_k")
    QUERY_FIELD_NUMBER: _ClassVar[int]
    TOP_K_FIELD_NUMBER: _ClassVar[int]
    query: str
    top_k: int
    def __init__(self, query: _Optional[str] = ..., top_k: _Optional[int] = ...) -> None: ...

class SkillMatch(_message.Message):
    __slots__ = ("uri", "label", "score", "skill_type")
    URI_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    SKILL_TYPE_FIELD_NUMBER: _ClassVar[int]
    uri: str
    label: str
    score: float
    skill_type: str
    def __init__(self, uri: _Optional[str] = ..., label: _Optional[str] = ..., score: _Optional[float] = ..., skill_type: _Optional[str] = ...) -> None: ...

class MatchSkillsResponse(_message.Message):
    __slots__ = ("matches", "model")
    MATCHES_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    matches: _containers.RepeatedCompositeFieldContainer[SkillMatch]
    model: str
    def __init__(self, matches: _Optional[_Iterable[_Union[SkillMatch, _Mapping]]] = ..., model: _Optional[str] = ...) -> None: ...

class ExtractSkillsRequest(_message.Message):
    __slots__ = ("text", "top_k", "min_score", "language", "occupation_uri")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    TOP_K_FIELD_NUMBER: _ClassVar[int]
    MIN_SCORE_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    OCCUPATION_URI_FIELD_NUMBER: _ClassVar[int]
    text: str
    top_k: int
    min_score: float
    language: str
    occupation_uri: str
    def __init__(self, text: _Optional[str] = ..., top_k: _Optional[int] = ..., min_score: _Optional[float] = ..., language: _Optional[str] = ..., occupation_uri: _Optional[str] = ...) -> None: ...

class Evidence(_message.Message):
    __slots__ = ("start", "end", "text")
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    start: int
    end: int
    text: str
    def __init__(self, start: _Optional[int] = ..., end: _Optional[int] = ..., text: _Optional[str] = ...) -> None: ...

class ExtractedSkill(_message.Message):
    __slots__ = ("uri", "label", "score", "skill_type", "evidence", "relation")
    URI_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    SKILL_TYPE_FIELD_NUMBER: _ClassVar[int]
    EVIDENCE_FIELD_NUMBER: _ClassVar[int]
    RELATION_FIELD_NUMBER: _ClassVar[int]
    uri: str
    label: str
    score: float
    skill_type: str
    evidence: _containers.RepeatedCompositeFieldContainer[Evidence]
    relation: str
    def __init__(self, uri: _Optional[str] = ..., label: _Optional[str] = ..., score: _Optional[float] = ..., skill_type: _Optional[str] = ..., evidence: _Optional[_Iterable[_Union[Evidence, _Mapping]]] = ..., relation: _Optional[str] = ...) -> None: ...

class SkillGap(_message.Message):
    __slots__ = ("occupation_uri", "occupation_label", "shown", "missing", "coverage")
    OCCUPATION_URI_FIELD_NUMBER: _ClassVar[int]
    OCCUPATION_LABEL_FIELD_NUMBER: _ClassVar[int]
    SHOWN_FIELD_NUMBER: _ClassVar[int]
    MISSING_FIELD_NUMBER: _ClassVar[int]
    COVERAGE_FIELD_NUMBER: _ClassVar[int]
    occupation_uri: str
    occupation_label: str
    shown: _containers.RepeatedCompositeFieldContainer[ExtractedSkill]
    missing: _containers.RepeatedCompositeFieldContainer[SkillRef]
    coverage: float
    def __init__(self, occupation_uri: _Optional[str] = ..., occupation_label: _Optional[str] = ..., shown: _Optional[_Iterable[_Union[ExtractedSkill, _Mapping]]] = ..., missing: _Optional[_Iterable[_Union[SkillRef, _Mapping]]] = ..., coverage: _Optional[float] = ...) -> None: ...

class ExtractSkillsResponse(_message.Message):
    __slots__ = ("skills", "model", "esco_version", "min_score", "gap")
    SKILLS_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    ESCO_VERSION_FIELD_NUMBER: _ClassVar[int]
    MIN_SCORE_FIELD_NUMBER: _ClassVar[int]
    GAP_FIELD_NUMBER: _ClassVar[int]
    skills: _containers.RepeatedCompositeFieldContainer[ExtractedSkill]
    model: str
    esco_version: str
    min_score: float
    gap: SkillGap
    def __init__(self, skills: _Optional[_Iterable[_Union[ExtractedSkill, _Mapping]]] = ..., model: _Optional[str] = ..., esco_version: _Optional[str] = ..., min_score: _Optional[float] = ..., gap: _Optional[_Union[SkillGap, _Mapping]] = ...) -> None: ...

class MatchOccupationsBatchRequest(_message.Message):
    __slots__ = ("queries",)
    QUERIES_FIELD_NUMBER: _ClassVar[int]
    queries: _containers.RepeatedCompositeFieldContainer[MatchOccupationsRequest]
    def __init__(self, queries: _Optional[_Iterable[_Union[MatchOccupationsRequest, _Mapping]]] = ...) -> None: ...

class MatchOccupationsResult(_message.Message):
    __slots__ = ("response", "error")
    RESPONSE_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    response: MatchOccupationsResponse
    error: _embedding_pb2.StreamError
    def __init__(self, response: _Optional[_Union[MatchOccupationsResponse, _Mapping]] = ..., error: _Optional[_Union[_embedding_pb2.StreamError, _Mapping]] = ...) -> None: ...

class MatchOccupationsBatchResponse(_message.Message):
    __slots__ = ("results",)
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[MatchOccupationsResult]
    def __init__(self, results: _Optional[_Iterable[_Union[MatchOccupationsResult, _Mapping]]] = ...) -> None: ...
