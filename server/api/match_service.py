"""The MatchService servicer: occupations and skills from the ESCO index."""

from __future__ import annotations

import grpc

from jobmatch.server.api.handlers import MalformedMessage, require_decoded
from jobmatch.server.errors import ErrorKind, JobMatchError, start_failed
from jobmatch.server.index import OccupationIndex, OccupationMatch, OccupationRecord, SkillMatch, SyncProgress
from jobmatch.server.index.strategies import min_score
from jobmatch.v1 import match_pb2 as pb

DEFAULT_TOP_K = 10
MAX_TOP_K = 100
_KINDS = {
    pb.QUERY_KIND_UNSPECIFIED: "job_title",
    pb.QUERY_KIND_JOB_TITLE: "job_title",
    pb.QUERY_KIND_SKILLS: "skills",
    pb.QUERY_KIND_TEXT: "text",
}


def _top_k(value: int) -> int:
    if value > MAX_TOP_K:
        raise JobMatchError(ErrorKind.INVALID_ARGUMENT, f"top_k must be 1 to {MAX_TOP_K}, got {value}", field="top_k")
    return value or DEFAULT_TOP_K


def _kind(value: int) -> str:
    if value not in _KINDS:
        raise JobMatchError(ErrorKind.INVALID_ARGUMENT, f"unknown query kind {value}", field="kind")
    return _KINDS[value]


def _occupation_match(match: OccupationMatch) -> pb.OccupationMatch:
    return pb.OccupationMatch(
        uri=match.uri,
        preferred_label=match.preferred_label,
        isco_group=match.isco_group,
        score=match.score,
        skills=match.essential_skills,
        code=match.code,
        description=match.description,
    )


def _occupation(record: OccupationRecord, language: str | None) -> pb.Occupation:
    lang = record.label_language(language)  # labels, alternative labels and description: one language
    return pb.Occupation(
        uri=record.uri,
        code=record.code,
        isco_group=record.isco_group,
        preferred_label=record.preferred_label.get(lang, ""),
        alt_labels=record.alt_labels.get(lang, ()),
        description=record.description.get(lang, ""),
        essential_skills=[pb.SkillRef(uri=s.uri, label=s.label) for s in record.essential_skills],
        optional_skills=[pb.SkillRef(uri=s.uri, label=s.label) for s in record.optional_skills],
        preferred_labels=dict(record.preferred_label),
        esco_version=record.esco_version,
    )


def _skill_match(match: SkillMatch) -> pb.SkillMatch:
    return pb.SkillMatch(uri=match.uri, label=match.label, score=match.score, skill_type=match.skill_type)


class MatchServicer:
    """Answers from `index` once the server has one (UNAVAILABLE while it loads or syncs)."""

    def __init__(self) -> None:
        self.index: OccupationIndex | None = None
        self.start_failure: str | None = None  # why the index never came, when starting failed
        self.sync: SyncProgress | None = None  # the start-up sync of an empty index, while it runs

    def _ready(self) -> OccupationIndex:
        if self.start_failure is not None:
            raise start_failed(self.start_failure)
        if self.index is None:
            if self.sync is not None and self.sync.kind is not None:
                raise JobMatchError(ErrorKind.NOT_READY, f"the ESCO index is being built: {self.sync}; retry later")
            raise JobMatchError(ErrorKind.NOT_READY, "the ESCO index is still loading or syncing; retry shortly")
        return self.index

    async def MatchOccupations(
        self, request: pb.MatchOccupationsRequest | MalformedMessage, context: grpc.aio.ServicerContext
    ) -> pb.MatchOccupationsResponse:
        request = require_decoded(request)
        index = self._ready()
        kind = _kind(request.kind)
        threshold = min_score(kind, request.min_score if request.HasField("min_score") else None)
        matches = await index.match(
            request.query,
            kind=kind,
            top_k=_top_k(request.top_k),
            language=request.language or None,
            isco_prefixes=list(request.isco_group_prefixes),
            with_descriptions=request.include_descriptions,
        )
        manifest = index.manifest
        return pb.MatchOccupationsResponse(
            matches=[_occupation_match(m) for m in matches],
            model=index.embedder.model,
            esco_version=manifest.esco_version if manifest else "",
            no_fit=threshold > 0 and (not matches or matches[0].score < threshold),
            min_score=threshold,
        )

    async def GetOccupation(
        self, request: pb.GetOccupationRequest | MalformedMessage, context: grpc.aio.ServicerContext
    ) -> pb.GetOccupationResponse:
        request = require_decoded(request)
        record = await self._ready().get(request.uri)
        if record is None:
            raise JobMatchError(ErrorKind.OCCUPATION_NOT_FOUND, f"no occupation with URI {request.uri!r}", field="uri")
        return pb.GetOccupationResponse(occupation=_occupation(record, request.language or None))

    async def MatchSkills(
        self, request: pb.MatchSkillsRequest | MalformedMessage, context: grpc.aio.ServicerContext
    ) -> pb.MatchSkillsResponse:
        request = require_decoded(request)
        index = self._ready()
        matches = await index.match_skills(request.query, top_k=_top_k(request.top_k))
        return pb.MatchSkillsResponse(matches=[_skill_match(m) for m in matches], model=index.embedder.model)
