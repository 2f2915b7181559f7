"""The assistant's quality and speed over real sockets (make bench): the evaluation set, per intent.

- Accuracy per intent and overall, on the development set and, separately, on the held-out sets
  (tests/perf/eval/assistant_questions.md says how each was written and what its first run gave).
- The share of answers citing a code that does not exist: each citation, and each code the Markdown
  shows in backticks, looked up with the lookup service's BatchGetCodes. It must be 0.
- Ask latency p50/p99 and AskStream time to first chunk, the assistant's own server over the real
  lookup (full catalog) and accounts servers.

MEDCODE_TEST_CATALOG_URL may name a built catalog (tests/conftest.py) to skip the build.
"""

from __future__ import annotations

import json
import statistics
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import pytest_asyncio
from medcode.assistant.v1 import assistant_pb2 as pb
from medcode.lookup.v1 import lookup_pb2

from services.assistant.code_mentions import codes_in_markdown, shape_systems
from tests.support.accounts_server import running_accounts, settings
from tests.support.assistant_server import bearer, running_assistant

pytestmark = pytest.mark.perf

EVAL_DIR = Path(__file__).with_name("eval")
SETS = {
    "development": "assistant_questions.jsonl",
    "held out": "assistant_questions_holdout.jsonl",
    "held out, second": "assistant_questions_holdout2.jsonl",
}
GOAL = 0.90
FIGURES: list[str] = []


def load(name: str) -> list[dict]:
    return [json.loads(line) for line in (EVAL_DIR / name).read_text(encoding="utf-8").splitlines() if line]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


@dataclass
class Scores:
    per_intent: dict[str, list[bool]] = field(default_factory=lambda: defaultdict(list))
    failures: list[str] = field(default_factory=list)
    invented: list[str] = field(default_factory=list)
    top1: list[bool] = field(default_factory=list)

    @property
    def correct(self) -> int:
        return sum(sum(v) for v in self.per_intent.values())

    @property
    def total(self) -> int:
        return sum(len(v) for v in self.per_intent.values())


@pytest.fixture(scope="module", autouse=True)
def print_figures():
    yield
    print("\n\nAssistant figures (tests/perf/test_assistant_quality.py)")
    for line in FIGURES:
        print(f"  {line}")


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def assistant(lookup_server, tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('assistant-bench')}/accounts.db"
    async with running_accounts(url, settings(free_questions=None)) as accounts:
        token = (await accounts.account()).session_token
        async with running_assistant(
            f"127.0.0.1:{lookup_server.port}", f"127.0.0.1:{accounts.running.port}"
        ) as harness:
            yield harness, token


def satisfied(answer: str, must: list) -> list:
    lowered = answer.lower()
    return [m for m in must if not any(a.lower() in lowered for a in (m if isinstance(m, list) else [m]))]


async def missing_codes(lookup, codes: set[str], cited: list[pb.Citation]) -> list[str]:
    """Codes that exist in no system: citations checked in their system, backticked ones in any
    system their shape fits."""
    missing = []
    for citation in cited:
        found = await lookup.BatchGetCodes(
            lookup_pb2.BatchGetCodesRequest(system=citation.system, codes=[citation.code])
        )
        if found.missing:
            missing.append(citation.code)
    for code in codes:
        exists = False
        for system in shape_systems(code):
            try:
                found = await lookup.BatchGetCodes(
                    lookup_pb2.BatchGetCodesRequest(
                        system=lookup_pb2.CodeSystem.Value(f"CODE_SYSTEM_{system.upper()}"), codes=[code]
                    )
                )
            except Exception:  # a system that is not loaded (CPT, HCPCS) holds nothing
                continue
            exists = exists or not found.missing
        if not exists:
            missing.append(code)
    return missing


async def test_every_code_the_evaluation_set_expects_exists(lookup):
    for name in SETS.values():
        for item in load(name):
            expected = [a for m in item["must"] for a in (m if isinstance(m, list) else [m])] + item.get(
                "cite", []
            )
            codes = {
                e.strip("`").split("`")[0] for e in expected if shape_systems(e.strip("`").split("`")[0])
            }
            assert await missing_codes(lookup, codes, []) == [], item["id"]


async def test_quality_and_speed_of_answers(assistant, lookup):
    harness, token = assistant
    ask_ms: list[float] = []
    results: dict[str, Scores] = {}
    for set_name, file_name in SETS.items():
        scores = results[set_name] = Scores()
        for item in load(file_name):
            conversation = ""
            for question in item["turns"]:
                started = time.perf_counter()
                response = await harness.stub.Ask(
                    pb.AskRequest(
                        question=question,
                        conversation_id=conversation,
                        context_code=item.get("context_code", ""),
                    ),
                    metadata=bearer(token),
                )
                ask_ms.append((time.perf_counter() - started) * 1000)
                conversation = response.conversation_id
            intent = pb.Intent.Name(response.intent).removeprefix("INTENT_").lower()
            lacking = satisfied(response.answer, item["must"])
            cited = [c.code for c in response.citations]
            uncited = [c for c in item.get("cite", []) if c not in cited]
            correct = intent == item["intent"] and not lacking and not uncited
            scores.per_intent[item["intent"]].append(correct)
            if not correct:
                scores.failures.append(
                    f"{item['id']} {item['turns'][-1]!r}: {intent}, lacking {lacking + uncited}"
                )
            if item["intent"] == "find_code" and item["must"]:
                first = item["must"][0]
                scores.top1.append(
                    bool(cited) and cited[0] in (first if isinstance(first, list) else [first])
                )
            invented = await missing_codes(
                lookup, set(codes_in_markdown(response.answer)), list(response.citations)
            )
            if invented:
                scores.invented.append(f"{item['id']}: {invented}")

    first_chunk_ms, stream_ms = [], []
    for item in load(SETS["development"]):
        if len(item["turns"]) > 1:
            continue
        started = time.perf_counter()
        first = None
        async for event in harness.stub.AskStream(
            pb.AskStreamRequest(question=item["turns"][0], context_code=item.get("context_code", "")),
            metadata=bearer(token),
        ):
            if first is None and event.WhichOneof("event") == "chunk":
                first = time.perf_counter()
        stream_ms.append((time.perf_counter() - started) * 1000)
        first_chunk_ms.append((first - started) * 1000)

    for set_name, scores in results.items():
        FIGURES.append(
            f"{set_name} set: {scores.correct}/{scores.total} correct ({scores.correct / scores.total:.1%}); "
            f"answers citing a code that does not exist: {len(scores.invented)}/{scores.total}"
        )
        for intent, marks in sorted(scores.per_intent.items()):
            FIGURES.append(f"    {intent:<14} {sum(marks):>3}/{len(marks):<3} {sum(marks) / len(marks):.0%}")
        if scores.top1:
            FIGURES.append(
                f"    find_code best match is the expected code: {sum(scores.top1)}/{len(scores.top1)}"
            )
        FIGURES.extend(f"    failed {failure}" for failure in scores.failures)
    FIGURES.append(
        f"Ask latency over {len(ask_ms)} calls: p50 {statistics.median(ask_ms):.1f} ms, "
        f"p99 {percentile(ask_ms, 0.99):.1f} ms"
    )
    FIGURES.append(
        f"AskStream over {len(first_chunk_ms)} calls: first chunk p50 {statistics.median(first_chunk_ms):.1f} ms, "
        f"p99 {percentile(first_chunk_ms, 0.99):.1f} ms; whole stream p50 {statistics.median(stream_ms):.1f} ms"
    )

    for set_name, scores in results.items():
        assert scores.invented == [], f"{set_name}: answers cite codes that do not exist"
        assert scores.correct / scores.total >= GOAL, f"{set_name}: {scores.failures}"
