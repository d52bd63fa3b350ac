"""Job matching from LangChain against a local jobmatch server.

    jobmatch serve                                   # in another terminal (syncs ESCO on first start)
    pip install langchain-jobmatch
    python integrations/langchain/examples/langchain_job_matching.py "Senior Data Scientist (m/w/d)"
    python integrations/langchain/examples/langchain_job_matching.py "Python, SQL, statistics" --kind skills

It prints the matched ESCO occupations as the retriever's Documents, the agent tool's answer, and how
close the query's JobBERT title vector is to the top occupation's skill list. To hand the tool to an
agent, pass it with your chat model, e.g. ``langchain.agents.create_agent(model, tools=[tool])``.
"""

from __future__ import annotations

import argparse
import asyncio

import numpy as np

from langchain_jobmatch import JobMatchEmbeddings, JobMatchRetriever, create_job_match_tool


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("query", help="a job title, a comma-separated skill list, or free text")
    parser.add_argument("--server", default="127.0.0.1:50051", help="host:port of the jobmatch server")
    parser.add_argument("--kind", default="job_title", choices=["job_title", "skills", "text"])
    parser.add_argument("-k", type=int, default=3, help="occupations to show")
    parser.add_argument("--isco", action="append", default=[], help="ISCO group prefix filter, repeatable")
    return parser.parse_args(argv)


async def run(args: argparse.Namespace) -> None:
    retriever = JobMatchRetriever(target=args.server, k=args.k, kind=args.kind, isco_prefixes=args.isco)
    documents = await retriever.ainvoke(args.query)
    print(f"Retriever: {len(documents)} occupations for {args.query!r}")
    for doc in documents:
        print(f"  {doc.metadata['score']:.3f}  {doc.metadata['uri']}")
        print(f"         {doc.page_content.splitlines()[0]} (ISCO {doc.metadata['isco_group']})")

    tool = create_job_match_tool(retriever)
    call = {"type": "tool_call", "id": "1", "name": tool.name, "args": {"query": args.query, "k": args.k}}
    message = await tool.ainvoke({**call, "args": {**call["args"], "kind": args.kind}})
    print(f"\nTool {tool.name!r} (what an agent's model reads):\n{message.content}")

    if documents:
        embeddings = JobMatchEmbeddings(target=args.server)  # queries: anchor head; documents: positive head
        title = np.asarray(await embeddings.aembed_query(args.query))
        skills = np.asarray((await embeddings.aembed_documents([", ".join(documents[0].metadata["skills"])]))[0])
        print(f"\nCosine of the query (anchor) and the top occupation's skill list (positive): {title @ skills:.3f}")
        await embeddings.aclose()
    await retriever.aclose()


def main(argv: list[str] | None = None) -> None:
    asyncio.run(run(parse_args(argv)))


if __name__ == "__main__":
    main()
