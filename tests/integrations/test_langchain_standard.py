"""LangChain's standard suites (langchain-tests) against the live server: embeddings, retriever, tool.

Every standard test runs; none is skipped or marked xfail.
"""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.tools import BaseTool
from langchain_tests.integration_tests import (
    EmbeddingsIntegrationTests,
    RetrieversIntegrationTests,
    ToolsIntegrationTests,
)
from langchain_tests.unit_tests import EmbeddingsUnitTests, ToolsUnitTests

from langchain_jobmatch import (
    JobMatchEmbeddings,
    JobMatchRetriever,
    create_job_match_tool,
    create_skill_extraction_tool,
    create_skill_gap_tool,
)
from tests.integrations.conftest import DATA_SCIENTIST, SKILLS_TEXT


class _Live:
    """Points the suite's constructor parameters at the package's live server."""

    live_target = "127.0.0.1:50051"

    @pytest.fixture(autouse=True)
    def _live_server(self, target: str) -> None:
        self.live_target = target


class _Embeddings(_Live):
    @property
    def embeddings_class(self) -> type[JobMatchEmbeddings]:
        return JobMatchEmbeddings

    @property
    def embedding_model_params(self) -> dict[str, Any]:
        return {"target": self.live_target, "model": "jobbert", "timeout": 30}


class TestEmbeddingsUnit(_Embeddings, EmbeddingsUnitTests):
    pass


class TestEmbeddingsIntegration(_Embeddings, EmbeddingsIntegrationTests):
    pass


class TestRetrieverIntegration(_Live, RetrieversIntegrationTests):
    @property
    def retriever_constructor(self) -> type[JobMatchRetriever]:
        return JobMatchRetriever

    @property
    def retriever_constructor_params(self) -> dict[str, Any]:
        return {"target": self.live_target, "timeout": 30}

    @property
    def retriever_query_example(self) -> str:
        return "data scientist"


class _Tool(_Live):
    @property
    def tool_constructor(self) -> BaseTool:
        return create_job_match_tool(target=self.live_target, timeout=30)

    @property
    def tool_invoke_params_example(self) -> dict[str, Any]:
        return {"query": "data scientist", "k": 3, "kind": "job_title"}


class TestToolUnit(_Tool, ToolsUnitTests):
    pass


class TestToolIntegration(_Tool, ToolsIntegrationTests):
    pass


class _SkillExtractionTool(_Live):
    @property
    def tool_constructor(self) -> BaseTool:
        return create_skill_extraction_tool(target=self.live_target, timeout=30)

    @property
    def tool_invoke_params_example(self) -> dict[str, Any]:
        return {"text": SKILLS_TEXT, "k": 5}


class TestSkillExtractionToolUnit(_SkillExtractionTool, ToolsUnitTests):
    pass


class TestSkillExtractionToolIntegration(_SkillExtractionTool, ToolsIntegrationTests):
    pass


class _SkillGapTool(_Live):
    @property
    def tool_constructor(self) -> BaseTool:
        return create_skill_gap_tool(target=self.live_target, timeout=30)

    @property
    def tool_invoke_params_example(self) -> dict[str, Any]:
        return {"text": SKILLS_TEXT, "occupation": DATA_SCIENTIST}


class TestSkillGapToolUnit(_SkillGapTool, ToolsUnitTests):
    pass


class TestSkillGapToolIntegration(_SkillGapTool, ToolsIntegrationTests):
    pass
