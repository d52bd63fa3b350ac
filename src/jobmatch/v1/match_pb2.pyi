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
