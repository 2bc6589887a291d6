"""Play each case against a system and score it.

`base` is the model alone (no retrieval, no signals); `rag` is the full graph; `tuned` is the full
graph on the merged LoRA model; `signals` plays only the clarification turns (no model, seconds
for hundreds of cases), to measure the slot decision; `context` plays them too and scores the
context the answer step would be given in place of an answer (no model runs, no tool checks):
the most of a case's keywords an answer could copy, to measure knowledge-base and retrieval
changes in seconds. Conversations are played as design.md says: ask, record what the system
asked for, resume with the case's answers ("I don't know" for a slot with none), at most 3
clarification turns, then score the final answer.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from langchain_core.messages import HumanMessage, SystemMessage
from langgraph.checkpoint.memory import InMemorySaver
from tqdm import tqdm

from nanoscale.aws_catalog import invalid_references
from nanoscale.config import Settings
from nanoscale.engine import AskResult, Engine
from nanoscale.errors import InputError, ModelNotAvailable
from nanoscale.evals import metrics
from nanoscale.evals.calibrated import calibrated_groundedness, label_counts, system_kind
from nanoscale.evals.cases import Case
from nanoscale.evals.confirm import names_confirm_command
from nanoscale.evals.fixtures import Worlds, fill
from nanoscale.evals.intervals import bootstrap
from nanoscale.evals.report import PER_CASE_KEYS, record, write_run
from nanoscale.grounding import judge, split_sentences
from nanoscale.nodes.clarify import apply_reply
from nanoscale.nodes.retrieve import retrieve
from nanoscale.nodes.signals import begin, signals
from nanoscale.prompts import fit_blocks
from nanoscale.resources import Resources
from nanoscale.tools.findings import split_block

SYSTEMS = ("base", "rag", "tuned", "signals", "context")
BASE_PROMPT = "You are a DevOps troubleshooting assistant. Answer the question concisely and concretely."
MAX_TURNS = 3


@dataclass
class Played:
    """What a system did with one case."""

    answer: str
    asked: list[str]
    supported: int
    unsupported: int
    invalid: list[str]
    turns: int
    answered: bool = True  # False for the signals-only system: no answer to score
    judged: bool = True  # False where no answer was judged for support (signals, context)
    unsupported_sentences: list[str] = field(default_factory=list)
    sources: list[dict[str, Any]] = field(default_factory=list)
    findings: list[dict[str, Any]] = field(default_factory=list)
    contradictions: list[dict[str, str]] = field(default_factory=list)
    revised: list[str] = field(default_factory=list)
    log: list[dict[str, Any]] = field(default_factory=list)  # each turn: user, status, text, asked, trace_id


def label(system: str, settings: Settings) -> str:
    return f"{system}@{settings.model.preset}"


def reply_for(asked: list[str], case: Case) -> str:
    """The simulated user's reply: the case's answers for the asked slots, else "I don't know"."""
    known = [case.answers[slot] for slot in asked if slot in case.answers]
    return "; ".join(known) if known else "I don't know"


def _turn(user: str, result: AskResult) -> dict[str, Any]:
    """One exchange as the dashboard's conversation view shows it, with the trace to open."""
    return {"user": user, "status": result.status, "text": result.text, "asked": result.asked, "trace_id": result.trace_id}


def play_graph(engine: Engine, case: Case) -> Played:
    result = engine.send(case.question)
    log = [_turn(case.question, result)]
    turns = 0
    asked: list[str] = []
    while result.status == "needs_input" and turns < MAX_TURNS:
        asked.extend(s for s in result.asked if s not in asked)
        turns += 1
        reply = reply_for(result.asked, case)
        result = engine.send(reply, result.thread_id)
        log.append(_turn(reply, result))
    asked.extend(s for s in result.asked if s not in asked)
    judged = len(split_sentences(result.answer))
    unsupported = len(result.unsupported_sentences)
    return Played(
        result.answer,
        asked,
        judged - unsupported,
        unsupported,
        result.invalid_aws_actions,
        turns,
        unsupported_sentences=result.unsupported_sentences,
        sources=result.sources,
        findings=result.findings,
        contradictions=result.contradictions,
        revised=result.revised,
        log=log,
    )


def signal_turns(case: Case, settings: Settings) -> tuple[dict[str, Any], list[str]]:
    """The clarification turns alone, through the graph's own signals and clarify functions: the
    state they end in (the slots the user gave) and every slot asked for."""
    state: dict[str, Any] = {**begin({}), "question": case.question, "slots": {}}
    asked: list[str] = []
    while True:
        state.update(signals(state, settings=settings.graph))
        if not state["pending"]:
            return state, asked
        asked.extend(s for s in state["pending"] if s not in asked)
        reply = reply_for(state["pending"], case)
        state.update(apply_reply(state, state["pending"], reply, settings.graph))


def play_signals(case: Case, settings: Settings) -> Played:
    """The slot decision alone: what was asked, no answer to score."""
    state, asked = signal_turns(case, settings)
    return Played("", asked, 0, 0, [], state["turns"], answered=False, judged=False)


def play_context(resources: Resources, settings: Settings, case: Case) -> Played:
    """The clarification turns, then the context blocks the answer step would be given (the same
    search and token budget), scored in place of an answer."""
    state, asked = signal_turns(case, settings)
    documents = retrieve(state, {}, retriever=resources.retriever)["documents"]
    blocks, used = fit_blocks(documents, resources.count_tokens, settings.retrieval.context_tokens)
    keys = ("kb", "source", "section", "score")
    sources = [{"n": n, **{key: doc.get(key) for key in keys}} for n, doc in enumerate(used, start=1)]
    context = "\n\n".join(blocks)
    turn = {"user": case.question, "status": "context", "text": context, "asked": asked, "trace_id": ""}
    return Played(context, asked, 0, 0, [], state["turns"], judged=False, sources=sources, log=[turn])


def play_tool_case(engine: Engine, case: Case, worlds: Worlds) -> tuple[Case, Played]:
    """A tool case inside its fixture's world, with `{name}` values filled in."""
    assert case.tool_fixture is not None
    with worlds.applied(case.tool_fixture) as values:
        case = replace(
            case,
            question=fill(case.question, values),
            answers={slot: fill(text, values) for slot, text in case.answers.items()},
            expected_findings=[fill(text, values) for text in case.expected_findings],
        )
        return case, play_graph(engine, case)


def finding_scores(case: Case, played: Played) -> dict[str, Any]:
    """Tool-case scores: expected findings in the Checked block and in the prose, contradictions
    left in the final answer (marked), a revision."""
    if not case.tool_fixture:
        return {}
    block, prose = split_block(played.answer, played.findings)
    return {
        "expected_findings": case.expected_findings,
        "finding_coverage_block": metrics.keyword_coverage(block, case.expected_findings),
        "finding_coverage_prose": metrics.keyword_coverage(prose, case.expected_findings),
        "contradicted": bool(played.contradictions),
        "contradictions": played.contradictions,
        "revised": played.revised,
        "checks": [f"{f['check']}:{f['status']}" for f in played.findings],
    }


def play_base(resources: Resources, settings: Settings, case: Case) -> Played:
    """The model alone, judged against the same evidence pool as the graph (its retrieved context
    and the user's words), so base and rag groundedness compare like for like."""
    response = resources.chat_model.invoke([SystemMessage(BASE_PROMPT), HumanMessage(case.question)])
    answer = str(response.content).strip()
    evidence = [doc.page_content for doc in resources.retriever.invoke(case.question)] if resources.retriever else []
    judgements = judge(
        split_sentences(answer),
        [*evidence, case.question],
        resources.embed,
        settings.graph.support_similarity,
        settings.graph.support_overlap,
        settings.graph.support_overlap_kind,
    )
    unsupported = [j.sentence for j in judgements if not j.supported]
    return Played(
        answer,
        [],
        len(judgements) - len(unsupported),
        len(unsupported),
        invalid_references(answer, settings.cache_dir),
        0,
        unsupported_sentences=unsupported,
        log=[{"user": case.question, "status": "answer", "text": answer, "asked": [], "trace_id": ""}],
    )


def score(case: Case, played: Played, system: str, latency: float, tokens: int) -> dict[str, Any]:
    clarification = metrics.clarification(played.asked, case.must_ask)
    found = metrics.keywords_found(played.answer, case.expected_keywords) if played.answered else []
    return {
        "id": case.id,
        "category": case.category,
        "in_kb": case.in_kb,
        "system": system,
        "question": case.question,
        "asked": played.asked,
        "must_ask": case.must_ask,
        "answer": played.answer,
        "keyword_coverage": metrics.keyword_coverage(played.answer, case.expected_keywords)
        if played.answered
        else None,
        "confirm_command": names_confirm_command(played.answer, case.category) if played.answered else None,
        "keywords_hit": found,
        "keywords_missed": [k for k in case.expected_keywords if k not in found] if played.answered else [],
        "unsupported_sentences": played.unsupported_sentences,
        "sources": played.sources,
        "tool_findings": played.findings,
        "turns_log": played.log,
        "trace_id": played.log[-1]["trace_id"] if played.log else "",
        "clarification_correct": clarification["correct"],
        "slot_precision": clarification["precision"],
        "slot_recall": clarification["recall"],
        "groundedness": metrics.groundedness(played.supported, played.unsupported),
        "hallucinated": played.unsupported > 0 if played.judged else None,
        "invalid_aws_actions": played.invalid,
        # invented names the reader would take for real: not struck through by the verify step
        "invalid_unmarked": metrics.unmarked_names(played.answer, played.invalid),
        "turns": played.turns,
        "latency_s": round(latency, 3),
        "tokens": tokens,
        **finding_scores(case, played),
    }


def run_system(
    system: str, cases: list[Case], settings: Settings, progress: bool = True, callbacks: list | None = None
) -> list[dict[str, Any]]:
    """Every case against one system, in order, deterministic decoding; `callbacks` (a tracer)
    record the graph's runs so the dashboard can open each case's trace."""
    if system not in SYSTEMS:
        raise ValueError(f"unknown system {system}")
    preset = "tuned" if system == "tuned" else settings.model.preset
    settings = replace(settings, model=replace(settings.model, deterministic=True, preset=preset))
    if any(case.tool_fixture for case in cases):  # the fixtures are local worlds: checks run against them
        settings = replace(settings, tools=replace(settings.tools, execute=True))
    name = label(system, settings)
    if system == "signals":
        return [score(case, play_signals(case, settings), "signals", 0.0, 0) for case in cases]
    if system in ("base", "context"):  # no graph: the model (base) or its tokenizer (context)
        from nanoscale.models import load_chat_model, load_embeddings
        from nanoscale.resources import token_counter
        from nanoscale.retrievers.retriever import KnowledgeBaseRetriever

        model = load_chat_model(settings)
        embeddings = load_embeddings(settings)
        retriever = KnowledgeBaseRetriever.from_settings(settings, embeddings)
        resources = Resources(model, retriever, embeddings.embed_documents, token_counter(model))
        engine = None
    else:
        resources = Resources.load(settings)
        engine = Engine(settings, resources=resources, checkpointer=InMemorySaver(), callbacks=callbacks)
    rows = []
    worlds = Worlds()
    try:
        for case in tqdm(cases, desc=name, unit="case", disable=not progress):
            started = time.perf_counter()
            if system == "context":
                played = play_context(resources, settings, case)
            elif engine is None:
                played = play_base(resources, settings, case)
            elif case.tool_fixture:
                case, played = play_tool_case(engine, case, worlds)
            else:
                played = play_graph(engine, case)
            tokens = resources.count_tokens(played.answer)
            rows.append(score(case, played, name, time.perf_counter() - started, tokens))
    finally:
        worlds.close()
    return rows


def aggregate(subset: list[dict[str, Any]], labelled: np.ndarray | None = None) -> dict[str, Any]:
    """Means with their 95% bootstrap intervals (`intervals`), counts and latency; with the judge's
    counts on the labelled pairs, groundedness corrected for the judge's errors too."""
    latencies = sorted(r["latency_s"] for r in subset)
    intervals = {metric: bootstrap([r[key] for r in subset]) for metric, key in PER_CASE_KEYS.items()}
    intervals["groundedness_calibrated"] = calibrated_groundedness([r["groundedness"] for r in subset], labelled)
    return {
        "cases": len(subset),
        **{metric: stats["mean"] if stats else None for metric, stats in intervals.items()},
        "invalid_aws_actions": sum(len(r["invalid_aws_actions"]) for r in subset),
        "invalid_aws_unmarked": sum(r.get("invalid_unmarked", 0) for r in subset),
        "latency_p50_s": latencies[len(latencies) // 2] if latencies else None,
        "tokens_mean": metrics.average(r["tokens"] for r in subset),
        "intervals": intervals,
        **finding_summary(subset),
    }


def summarise(rows: list[dict[str, Any]], labelled: dict[str, np.ndarray] | None = None) -> dict[str, Any]:
    """One system's aggregate: overall, per category, and in / out of the knowledge base.
    `labelled` is `calibrated.label_counts`, for the corrected groundedness."""
    counts = (labelled or {}).get(system_kind(rows[0]["system"])) if rows else None
    categories = sorted({r["category"] for r in rows})
    by_kb = {
        label: [r for r in rows if r.get("in_kb") is flag] for label, flag in (("in_kb", True), ("out_of_kb", False))
    }
    return {
        "system": rows[0]["system"] if rows else "",
        **aggregate(rows, counts),
        "by_category": {c: aggregate([r for r in rows if r["category"] == c]) for c in categories},
        "by_kb": {label: aggregate(subset, counts) for label, subset in by_kb.items() if subset},
    }


def finding_summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Tool cases' aggregate (absent when there are none): finding coverage in the Checked block
    (must be 1.0) and in the prose (target >= 0.8), contradiction and revision rates."""
    tool_rows = [r for r in rows if "finding_coverage_block" in r]
    if not tool_rows:
        return {}
    return {
        "tool_cases": len(tool_rows),
        "finding_coverage_block": metrics.average(r["finding_coverage_block"] for r in tool_rows),
        "finding_coverage_prose": metrics.average(r["finding_coverage_prose"] for r in tool_rows),
        "contradiction_rate": metrics.average(r["contradicted"] for r in tool_rows),
        "revision_rate": metrics.average(bool(r["revised"]) for r in tool_rows),
    }


@dataclass
class EvalRun:
    """What `evaluate` produced: one summary per system, the files written, the systems skipped."""

    summaries: list[dict[str, Any]]
    written: list[Path]
    skipped: dict[str, str] = field(default_factory=dict)


def evaluate(
    systems: list[str],
    cases: list[Case],
    settings: Settings,
    out: Path,
    cases_label: str,
    progress: bool = True,
    callbacks: list | None = None,
) -> EvalRun:
    """Every system on the cases, written to `out` and appended to the eval history.

    A system whose model is missing is skipped when others can still be compared; alone, it fails.
    """
    rows: list[dict[str, Any]] = []
    skipped: dict[str, str] = {}
    for system in systems:
        try:
            system_rows = run_system(system, cases, settings, progress, callbacks)
        except ModelNotAvailable as exc:
            if len(systems) == 1:
                raise
            skipped[system] = str(exc)
            continue
        rows.extend(system_rows)
    if not rows:
        raise InputError("no system could be evaluated")
    labelled = label_counts(settings) if any(r["groundedness"] is not None for r in rows) else None
    systems_run = list(dict.fromkeys(r["system"] for r in rows))
    summaries = [summarise([r for r in rows if r["system"] == name], labelled) for name in systems_run]
    written = write_run(out, rows, summaries, cases_label)
    record(settings.evals_db, out.name, summaries, cases_label)
    return EvalRun(summaries, written, skipped)
