"""The instruction set: strict loading, validation, and rendering into the graph's prompt layout.

Training data is checked harder than eval cases: an unknown key, an unknown slot, a missing field,
a duplicate, a citation of a block that does not exist or an AWS action or command AWS's references do not know
stops the run before any model is loaded, naming the file and line.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nanoscale.aws_catalog import invalid_references
from nanoscale.errors import InputError
from nanoscale.jsonl import read_jsonl
from nanoscale.prompts import SYSTEM_PROMPT, logs_section, question_tail, slot_sections, user_prompt
from nanoscale.state import SLOTS

REQUIRED = ("instruction", "output")
OPTIONAL = ("input", "context", "category", "slots", "missing", "situation")
CATEGORIES = ("aws", "docker", "kubernetes", "cicd", "terraform", "api", "linux", "general")
LIMITS = {"instruction": 2000, "input": 8000, "context": 8000, "output": 3000}
MIN_OUTPUT_CHARS = 20
# Words an answer must contain when it asks the user for a slot.
ASK_WORDS = {
    "region": ("region",),
    "account": ("account",),
    "service": ("service",),
    "logs": ("log", "error"),
    "endpoint": ("endpoint", "url"),
    "method": ("method",),
    "auth": ("auth",),
}
NOT_COVERED = "The context does not cover"


class DataError(InputError):
    """The instruction file is malformed; the message names file and line."""


@dataclass
class Example:
    instruction: str
    output: str
    input: str = ""
    context: str | None = None
    category: str = "general"
    slots: dict[str, str] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    situation: str = ""  # the problem it teaches (examples of one situation are split together)
    line: int = 0

    def messages(self) -> list[dict[str, str]]:
        """System and user turns exactly as the generate node lays them out."""
        question = self.instruction
        if self.input and self.input != self.slots.get("logs"):
            question = f"{question}\n{self.input}"
        sections = slot_sections(self.slots, self.missing)
        if self.slots.get("logs"):
            sections.append(logs_section(self.slots["logs"]))
        user = user_prompt(self.context, sections, question_tail(question))
        return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user}]

    def record(self) -> dict[str, Any]:
        """TRL's conversational prompt-completion form: the loss falls on the completion only."""
        return {"prompt": self.messages(), "completion": [{"role": "assistant", "content": self.output}]}


def _check(raw: dict[str, Any], where: str, cache_dir: Path | None) -> Example:
    unknown = sorted(set(raw) - set(REQUIRED) - set(OPTIONAL))
    if unknown:
        raise DataError(
            f"{where}: unknown field(s) {', '.join(unknown)}; allowed: {', '.join(REQUIRED + OPTIONAL)}"
        )
    for name in REQUIRED:
        if not isinstance(raw.get(name), str) or not raw[name].strip():
            raise DataError(f"{where}: missing or empty field '{name}'")
    for name, limit in LIMITS.items():
        value = raw.get(name)
        if value is not None and not isinstance(value, str):
            raise DataError(f"{where}: '{name}' must be a string")
        if value and len(value) > limit:
            raise DataError(f"{where}: '{name}' is {len(value)} characters, over the limit of {limit}")
    if len(raw["output"].strip()) < MIN_OUTPUT_CHARS:
        raise DataError(f"{where}: 'output' is shorter than {MIN_OUTPUT_CHARS} characters")
    category = raw.get("category", "general")
    if category not in CATEGORIES:
        raise DataError(f"{where}: unknown category '{category}'; allowed: {', '.join(CATEGORIES)}")
    slots = raw.get("slots", {})
    if not isinstance(slots, dict) or not all(isinstance(v, str) and v for v in slots.values()):
        raise DataError(f"{where}: 'slots' must map slot names to non-empty strings")
    missing = raw.get("missing", [])
    if not isinstance(missing, list):
        raise DataError(f"{where}: 'missing' must be a list of slot names")
    for slot in [*slots, *missing]:
        if slot not in SLOTS:
            raise DataError(f"{where}: unknown slot '{slot}'; slots are {', '.join(SLOTS)}")
    both = set(slots) & set(missing)
    if both:
        raise DataError(f"{where}: slot(s) {', '.join(sorted(both))} both given and missing")
    output = raw["output"]
    for slot in missing:
        if "?" not in output and "please" not in output.lower():
            raise DataError(f"{where}: 'missing' lists {slot} but the output asks nothing")
        if not any(word in output.lower() for word in ASK_WORDS[slot]):
            raise DataError(f"{where}: 'missing' lists {slot} but the output does not ask for it")
    context = raw.get("context")
    if context:
        blocks = {int(n) for n in re.findall(r"^\[(\d+)\] ", context, re.M)}
        if not blocks or blocks != set(range(1, len(blocks) + 1)):
            raise DataError(f"{where}: 'context' blocks must be numbered [1], [2], ... at line starts")
        prose = re.sub(r"`[^`]*`", "", output)
        # a citation stands on its own; `containers[0]` in an error text is an index, not one
        cited = {int(n) for n in re.findall(r"(?<![\w\]])\[(\d+)\]", prose)}
        if not cited and NOT_COVERED not in output:
            raise DataError(
                f"{where}: an answer from context must cite a block like [1] or say '{NOT_COVERED}'"
            )
        if cited - blocks:
            raise DataError(
                f"{where}: the output cites block(s) {sorted(cited - blocks)} that the context lacks"
            )
    invalid = invalid_references(output, cache_dir)
    if invalid:
        raise DataError(f"{where}: AWS action(s) or command(s) that do not exist: {', '.join(invalid)}")
    return Example(
        instruction=raw["instruction"],
        output=output,
        input=raw.get("input") or "",
        context=context or None,
        category=category,
        slots=dict(slots),
        missing=list(missing),
        situation=str(raw.get("situation") or ""),
    )


def load_examples(path: Path, cache_dir: Path | None = None) -> list[Example]:
    """Every example in a JSONL file, or a DataError naming the first bad line."""
    examples: list[Example] = []
    seen: dict[tuple[str, str, str], int] = {}
    for number, where, raw in read_jsonl(path, DataError):
        example = _check(raw, where, cache_dir)
        example.line = number
        key = (example.instruction, example.input, example.context or "")
        if key in seen:
            raise DataError(f"{where}: duplicate of line {seen[key]}")
        seen[key] = number
        examples.append(example)
    if not examples:
        raise DataError(f"{path}: no examples")
    return examples


def split(examples: list[Example], eval_fraction: float, seed: int) -> tuple[list[Example], list[Example]]:
    """A seeded held-out split by situation, stratified by category: every example of a problem
    lands on one side, so held-out loss measures problems the adapter never saw, not rewordings
    of its training examples. Examples without a `situation` each count as their own."""
    rng = random.Random(seed)
    by_category: dict[str, dict[str, list[Example]]] = {}
    for example in examples:
        key = example.situation or f"line {example.line}: {example.instruction}"
        by_category.setdefault(example.category, {}).setdefault(key, []).append(example)
    train, held_out = [], []
    for category in sorted(by_category):
        groups = [by_category[category][key] for key in sorted(by_category[category])]
        rng.shuffle(groups)
        size = sum(len(group) for group in groups)
        target = round(size * eval_fraction) if len(examples) > 1 else 0
        taken = 0
        for index, group in enumerate(groups):
            # whole situations until the share is reached; a category's last one always trains
            if taken < target and (taken + len(group) <= target or not taken) and index < len(groups) - 1:
                held_out.extend(group)
                taken += len(group)
            else:
                train.extend(group)
    rng.shuffle(train)
    rng.shuffle(held_out)
    return train, held_out


def stats(examples: list[Example]) -> dict[str, Any]:
    """What the report says about the data."""
    return {
        "examples": len(examples),
        "by_category": dict(sorted(Counter(e.category for e in examples).items())),
        "with_context": sum(1 for e in examples if e.context),
        "tool_aware": sum(1 for e in examples if e.slots or e.missing),
        "asking": sum(1 for e in examples if e.missing),
        "not_covered": sum(1 for e in examples if NOT_COVERED in e.output),
        "mean_output_chars": round(sum(len(e.output) for e in examples) / max(len(examples), 1)),
    }
