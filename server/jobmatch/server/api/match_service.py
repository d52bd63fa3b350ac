"""The MatchService servicer: occupations and skills from the ESCO index.

`MatchOccupationsBatch` answers each of its queries through the very function that answers a unary
`MatchOccupations` call, so a query gets the same response, or the same error (as a `StreamError`).
"""

from __future__ import annotations

import grpc

from jobmatch.server.api.handlers import MalformedMessage, as_job_match_error, require_decoded
from jobmatch.server.api.status import stream_error
from jobmatch.server.config import ServerSettings
from jobmatch.server.errors import ErrorKind, JobMatchError, start_failed
from jobmatch.server.index import (
    DEFAULT_EXTRACT_TOP_K,
    ExtractedSkill,
    OccupationIndex,
    OccupationMatch,
    OccupationRecord,
    SkillExtraction,
    SkillGap,
    SkillMatch,
    SkillRef,
    SyncProgress,
)
from jobmatch.server.index._aio import gather_or_cancel
from jobmatch.server.index.strategies import min_score
from jobmatch.v1 import match_pb2 as pb

DEFAULT_TOP_K = 10
_KINDS = {
    pb.QUERY_KIND_UNSPECIFIED: "job_title",
    pb.QUERY_KIND_JOB_TITLE: "job_title",
    pb.QUERY_KIND_SKILLS: "skills",
    pb.QUERY_KIND_TEXT: "text",
}


def _top_k(value: int) -> int:
    """The proto's 0 is the default; the index checks the range (``MAX_TOP_K``), once for every caller."""
    return value or DEFAULT_TOP_K


def _kind(value: int) -> str:
    """The index's name of a QueryKind number; an unknown number as text, which the index refuses."""
    return _KINDS.get(value, f"QueryKind {value}")


def _check_length(text: str, field: str, limit: int) -> None:
    if len(text) > limit:
        raise JobMatchError(
            ErrorKind.INPUT_TOO_LONG, f"{field} has {len(text)} characters; the limit is {limit}", field=field
        )


def _batch_queries(request: pb.MatchOccupationsBatchRequest, limit: int) -> list[pb.MatchOccupationsRequest]:
    count = len(request.queries)
    if count == 0:
        raise JobMatchError(ErrorKind.EMPTY_INPUT, "no queries: send at least one", field="queries")
    if count > limit:
        raise JobMatchError(
            ErrorKind.TOO_MANY_INPUTS, f"{count} queries in one batch; the limit is {limit}: split it", field="queries"
        )
    return list(request.queries)


def _check_size(response: pb.MatchOccupationsBatchResponse, queries: int, limit: int) -> None:
    """A clear error for a batch whose answers would not fit in one gRPC message (gRPC's own would be an
    opaque RESOURCE_EXHAUSTED, which clients retry in vain)."""
    size = response.ByteSize()
    if size > limit:
        fitting = max(1, queries * limit // size)
        raise JobMatchError(
            ErrorKind.RESPONSE_TOO_LARGE,
            f"the answers to {queries} queries take {size:,} bytes, over the server's --max-message-bytes "
            f"({limit:,}): send at most about {fitting} such queries per call, or ask for fewer matches",
            field="queries",
        )


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


def _extracted_skill(skill: ExtractedSkill) -> pb.ExtractedSkill:
    return pb.ExtractedSkill(
        uri=skill.uri,
        label=skill.label,
        score=skill.score,
        skill_type=skill.skill_type,
        evidence=[pb.Evidence(start=e.start, end=e.end, text=e.text) for e in skill.evidence],
        relation=skill.relation,
    )


def _skill_ref(skill: SkillRef) -> pb.SkillRef:
    return pb.SkillRef(uri=skill.uri, label=skill.label)


def _skill_gap(gap: SkillGap) -> pb.SkillGap:
    return pb.SkillGap(
        occupation_uri=gap.occupation_uri,
        occupation_label=gap.occupation_label,
        shown=[_extracted_skill(s) for s in gap.shown],
        missing=[_skill_ref(s) for s in gap.missing],
        coverage=gap.coverage,
    )


def _extraction_response(extraction: SkillExtraction, index: OccupationIndex) -> pb.ExtractSkillsResponse:
    manifest = index.manifest
    response = pb.ExtractSkillsResponse(
        skills=[_extracted_skill(s) for s in extraction.skills],
        model=index.embedder.model,
        esco_version=manifest.esco_version if manifest else "",
        min_score=extraction.min_score,
    )
    if extraction.gap is not None:
        response.gap.CopyFrom(_skill_gap(extraction.gap))
    return response


class MatchServicer:
    """Answers from `index` once the server has one (UNAVAILABLE while it loads or syncs)."""

    def __init__(self, settings: ServerSettings) -> None:
        self.index: OccupationIndex | None = None
        self.start_failure: str | None = None  # why the index never came, when starting failed
        self.sync: SyncProgress | None = None  # the start-up sync of an empty index, while it runs
        self._max_input_chars = settings.max_input_chars
        self._max_batch_queries = settings.max_batch_queries
        self._batch_concurrency = settings.batch_concurrency
        self._max_message_bytes = settings.max_message_bytes

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
        return await self._match_occupations(require_decoded(request))

    async def MatchOccupationsBatch(
        self, request: pb.MatchOccupationsBatchRequest | MalformedMessage, context: grpc.aio.ServicerContext
    ) -> pb.MatchOccupationsBatchResponse:
        """Each query answered as MatchOccupations answers it, `batch_concurrency` at a time, in query order.

        The call as a whole fails only for what concerns it: a malformed request, no or too many queries,
        a server that is not ready, answers too large for one message, the deadline or a cancellation
        (which cancel the queries in flight; those not yet started never start).
        """
        queries = _batch_queries(require_decoded(request), self._max_batch_queries)
        self._ready()
        results = [pb.MatchOccupationsResult()] * len(queries)  # placeholders: every slot is replaced
        positions = iter(range(len(queries)))

        async def work() -> None:
            for position in positions:  # one shared iterator: each worker takes the next query
                results[position] = await self._match_result(queries[position])

        await gather_or_cancel([work() for _ in range(min(self._batch_concurrency, len(queries)))])
        response = pb.MatchOccupationsBatchResponse(results=results)
        _check_size(response, len(queries), self._max_message_bytes)
        return response

    async def _match_result(self, request: pb.MatchOccupationsRequest) -> pb.MatchOccupationsResult:
        try:
            return pb.MatchOccupationsResult(response=await self._match_occupations(request))
        except Exception as err:  # a query's own failure; cancellation (BaseException) ends the call
            return pb.MatchOccupationsResult(error=stream_error(as_job_match_error(err)))

    async def _match_occupations(self, request: pb.MatchOccupationsRequest) -> pb.MatchOccupationsResponse:
        """The answer to one MatchOccupations request: the unary call's, and each query's of a batch."""
        index = self._ready()
        _check_length(request.query, "query", self._max_input_chars)
        kind = _kind(request.kind)
        matches = await index.match(
            request.query,
            kind=kind,
            top_k=_top_k(request.top_k),
            language=request.language or None,
            isco_prefixes=list(request.isco_group_prefixes),
            with_descriptions=request.include_descriptions,
        )
        threshold = min_score(kind, request.min_score if request.HasField("min_score") else None)  # kind: checked
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

    async def ExtractSkills(
        self, request: pb.ExtractSkillsRequest | MalformedMessage, context: grpc.aio.ServicerContext
    ) -> pb.ExtractSkillsResponse:
        """The index checks the text, top_k, min_score and occupation; only the length is checked here
        (the server's --max-input-chars). Proto defaults (0, unset, "") become the index's defaults."""
        request = require_decoded(request)
        index = self._ready()
        _check_length(request.text, "text", self._max_input_chars)
        extraction = await index.extract_skills(
            request.text,
            top_k=request.top_k or DEFAULT_EXTRACT_TOP_K,
            min_score=request.min_score if request.HasField("min_score") else None,
            language=request.language or None,
            occupation_uri=request.occupation_uri or None,
        )
        return _extraction_response(extraction, index)
