"""A local model as a yes/no judge: "Is the SENTENCE supported by the EVIDENCE?"

The prompt is fixed (never tuned on the labelled pairs), decoding is greedy and stops after a
few tokens, and only the first word of the reply counts. The evidence comes before the sentence,
so pairs that share evidence share a prompt prefix that llama.cpp keeps in its cache.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from langchain_core.messages import HumanMessage, SystemMessage
from tqdm import tqdm

from nanoscale.config import Settings
from nanoscale.grounding import strip_citations

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

    from nanoscale.evals.judge_pairs import Pair

JUDGE_SYSTEM = "You check whether a sentence is supported by evidence. You answer with one word: yes or no."
JUDGE_PROMPT = """EVIDENCE:
{evidence}

SENTENCE:
{sentence}

Is the SENTENCE supported by the EVIDENCE? Answer yes or no."""
MAX_NEW_TOKENS = 3
_FIRST_WORD = re.compile(r"[a-z]+")


def judge_messages(sentence: str, evidence: Sequence[str]) -> list:
    """The fixed prompt for one pair, evidence numbered as the assistant's context is."""
    blocks = "\n\n".join(f"[{n}] {text.strip()}" for n, text in enumerate(evidence, start=1))
    prompt = JUDGE_PROMPT.format(evidence=blocks, sentence=strip_citations(sentence))
    return [SystemMessage(JUDGE_SYSTEM), HumanMessage(prompt)]


def verdict(reply: str) -> bool | None:
    """yes -> True, no -> False, anything else -> None (counted as not supported, and reported)."""
    word = _FIRST_WORD.search(reply.lower())
    if word is None:
        return None
    return {"yes": True, "no": False}.get(word.group(0))


def judge_settings(settings: Settings) -> Settings:
    """The configured model, greedy, with room for one word."""
    model = replace(settings.model, deterministic=True, max_new_tokens=MAX_NEW_TOKENS)
    return replace(settings, model=model)


def llm_verdicts(pairs: Sequence[Pair], chat_model: BaseChatModel, progress: bool = True) -> list[bool | None]:
    """The model's verdict on each pair, in order (pairs of one case together keep the cache warm)."""
    verdicts = []
    for pair in tqdm(pairs, desc="LLM judge", unit="pair", disable=not progress):
        reply = chat_model.invoke(judge_messages(pair.sentence, pair.evidence))
        verdicts.append(verdict(str(reply.content)))
    return verdicts
