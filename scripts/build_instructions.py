"""Write data/instructions.jsonl from the project's own knowledge base (data/raw).

Every troubleshooting section in data/raw (symptom, likely causes, read-only checks, fix) becomes
several training examples, so the instruction set teaches exactly what the knowledge base says:

- plain: the question alone, answered as cause -> checks -> fix;
- rag: the same answer built from a numbered context with distractor passages, citing [n];
- uncovered: a context of distractors only, answered with "The context does not cover";
- tool-aware: a missing region, log excerpt or API detail is asked for (with safe first checks),
  and a present one is used in the commands.

Examples that would give a sealed test case away are left out (scripts/check_sealed.py's rules
a-c), so the adapter is never trained on what it is reported on.

Deterministic (fixed seed): rerunning it rewrites the same file, which a test checks.
Usage: python scripts/build_instructions.py [--out data/instructions.jsonl]
"""

from __future__ import annotations

import argparse
import json
import random
import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RAW = ROOT / "data" / "raw"
SEED = 1234

# Every knowledge-base file and the category its situations teach. Examples near a sealed test
# question are left out (decontaminate below, scripts/check_sealed.py's rules a and c).
CATEGORIES = {
    "api_clients.md": "api",
    "api_error_catalogue.md": "api",
    "api_fault_catalogue.md": "api",
    "api_debugging.md": "api",
    "aws_compute_ops.md": "aws",
    "aws_data_services.md": "aws",
    "aws_ec2_vpc.md": "aws",
    "aws_ecr.md": "aws",
    "aws_ecs_eks.md": "aws",
    "aws_eks_ops.md": "aws",
    "aws_error_catalogue.md": "aws",
    "aws_fault_catalogue.md": "aws",
    "aws_iam.md": "aws",
    "aws_iam_kms_sts.md": "aws",
    "aws_lambda_cloudformation.md": "aws",
    "aws_networking_elb.md": "aws",
    "aws_s3.md": "aws",
    "cicd_error_catalogue.md": "cicd",
    "cicd_fault_catalogue.md": "cicd",
    "cicd_github_actions.md": "cicd",
    "cicd_pipelines.md": "cicd",
    "cicd_runners_secrets.md": "cicd",
    "devops_notes.md": "general",
    "docker_build_runtime.md": "docker",
    "docker_errors.md": "docker",
    "docker_error_catalogue.md": "docker",
    "docker_fault_catalogue.md": "docker",
    "docker_network_storage.md": "docker",
    "k8s_admission_rbac.md": "kubernetes",
    "k8s_error_catalogue.md": "kubernetes",
    "k8s_fault_catalogue.md": "kubernetes",
    "k8s_cluster_helm.md": "kubernetes",
    "k8s_networking_storage.md": "kubernetes",
    "k8s_runtime_config.md": "kubernetes",
    "k8s_scheduling_nodes.md": "kubernetes",
    "k8s_troubleshooting.md": "kubernetes",
    "k8s_workloads.md": "kubernetes",
    "linux_error_catalogue.md": "linux",
    "linux_fault_catalogue.md": "linux",
    "linux_hosts.md": "linux",
    "linux_network_storage.md": "linux",
    "linux_troubleshooting.md": "linux",
    "nginx_tls.md": "linux",
    "terraform_errors.md": "terraform",
    "terraform_error_catalogue.md": "terraform",
    "terraform_fault_catalogue.md": "terraform",
    "terraform_providers_modules.md": "terraform",
    "terraform_state.md": "terraform",
}
# Regional AWS services (IAM, STS and KMS keys' policies are asked about without one).
REGIONAL = {
    "aws_compute_ops.md",
    "aws_data_services.md",
    "aws_ec2_vpc.md",
    "aws_ecr.md",
    "aws_ecs_eks.md",
    "aws_eks_ops.md",
    "aws_error_catalogue.md",
    "aws_fault_catalogue.md",
    "aws_lambda_cloudformation.md",
    "aws_networking_elb.md",
    "aws_s3.md",
}
LOG_AREAS = {
    "cicd_error_catalogue.md": "the CI pipeline",
    "cicd_fault_catalogue.md": "the CI pipeline",
    "cicd_github_actions.md": "the CI pipeline",
    "cicd_pipelines.md": "the CI pipeline",
    "cicd_runners_secrets.md": "the CI runner",
    "docker_build_runtime.md": "Docker",
    "docker_errors.md": "Docker",
    "docker_error_catalogue.md": "Docker",
    "docker_fault_catalogue.md": "Docker",
    "docker_network_storage.md": "Docker",
    "k8s_cluster_helm.md": "Kubernetes",
    "k8s_error_catalogue.md": "Kubernetes",
    "k8s_fault_catalogue.md": "Kubernetes",
    "k8s_networking_storage.md": "Kubernetes",
    "k8s_runtime_config.md": "Kubernetes",
    "k8s_scheduling_nodes.md": "Kubernetes",
    "k8s_troubleshooting.md": "Kubernetes",
    "k8s_workloads.md": "Kubernetes",
    "linux_error_catalogue.md": "the Linux host",
    "linux_fault_catalogue.md": "the Linux host",
    "linux_hosts.md": "the Linux host",
    "linux_network_storage.md": "the Linux host",
    "linux_troubleshooting.md": "the Linux host",
    "nginx_tls.md": "nginx",
    "terraform_errors.md": "Terraform",
    "terraform_error_catalogue.md": "Terraform",
    "terraform_fault_catalogue.md": "Terraform",
    "terraform_providers_modules.md": "Terraform",
    "terraform_state.md": "Terraform",
}
API_FILES = {"api_clients.md", "api_debugging.md", "api_error_catalogue.md", "api_fault_catalogue.md"}
REGIONS = [
    "eu-west-1",
    "us-east-1",
    "us-west-2",
    "eu-central-1",
    "ap-southeast-2",
    "ap-northeast-1",
    "sa-east-1",
]
ENDPOINTS = [
    "https://api.example.com/v1/orders",
    "https://internal.example.net/payments/refund",
    "https://staging-api.example.org/v2/users/42",
    "https://gateway.example.com/inventory/items",
]
METHODS = ["GET", "POST", "PUT", "DELETE"]
AUTHS = [
    ("bearer token", "-H 'Authorization: Bearer $TOKEN'"),
    ("API key header", "-H 'x-api-key: $API_KEY'"),
    ("basic auth", '-u "$USER:$PASSWORD"'),
]

PLAIN_TEMPLATES = [
    "{symptom} What is going on and how do I fix it?",
    'How do I troubleshoot "{title}"?',
    "{title}: what are the usual causes, and what is the fix?",
    "We keep hitting this: {title_lower}. Where do I start?",
]
RAG_TEMPLATES = [
    "{symptom} How do I fix this?",
    "Why would I see {title_quoted}, and what should I check?",
    "Help: {title_lower}.",
    "What causes {title_quoted} and how do I confirm it?",
]


@dataclass(frozen=True)
class Situation:
    source: str
    title: str
    symptom: str
    causes: list[str]
    checks: list[str]
    fix: str
    body: str

    @property
    def category(self) -> str:
        return CATEGORIES[self.source]


def _field(body: str, name: str) -> str:
    match = re.search(rf"\*\*{name}:\*\*\s*(.+?)(?=\n\s*\n|\n\*\*|\Z)", body, re.S)
    return " ".join(match.group(1).split()) if match else ""


def parse(path: Path) -> list[Situation]:
    """Every '## ' section with a symptom in one knowledge-base file."""
    text = path.read_text(encoding="utf-8")
    situations = []
    for block in re.split(r"^## ", text, flags=re.M)[1:]:
        title, _, body = block.partition("\n")
        body = body.strip()
        symptom = _field(body, "Symptom")
        causes_text = _field(body, "Likely causes") or _field(body, "What to collect")
        fence = re.search(r"\*\*Confirm:\*\*\s*```\n(.*?)```", body, re.S)
        if not symptom or not causes_text:
            continue
        checks = [line.strip() for line in fence.group(1).splitlines() if line.strip()] if fence else []
        causes = [c.strip().rstrip(".") for c in causes_text.split(";") if c.strip()]
        situations.append(
            Situation(path.name, title.strip(), symptom, causes, checks, _field(body, "Fix"), body)
        )
    return situations


def _sentence(text: str) -> str:
    text = text.strip().rstrip(".")
    return text[0].upper() + text[1:] + "." if text else text


def _cite(line: str, n: int | None) -> str:
    return f"{line} [{n}]" if n else line


def answer(s: Situation, n: int | None = None, region: str | None = None, lead: str | None = None) -> str:
    """Cause first, then up to three read-only checks, then the fix: the shape the prompt asks for."""
    checks = [c.replace("REGION", region) if region else c for c in s.checks[:3]]
    fix = s.fix.replace("REGION", region) if region else s.fix
    lines = [lead] if lead else []
    lines.append(_cite(f"Most likely: {_sentence(s.causes[0])}", n))
    if len(s.causes) > 1:
        lines.append(_cite(f"Also possible: {'; '.join(s.causes[1:4])}.", n))
    if checks:
        lines.append("Confirm with read-only checks:")
        lines.extend(_cite(f"- `{c}`", n) for c in checks)
    if fix:
        lines.append(_cite(f"Fix: {fix}", n))
    return "\n".join(lines)


def block(n: int, s: Situation, limit: int = 1000) -> str:
    body = s.body if len(s.body) <= limit else s.body[: s.body.rfind("\n", 0, limit)].rstrip() + " ..."
    return f"[{n}] ({s.source} > {s.title})\n{body}"


def context_with(
    target: Situation | None, distractors: list[Situation], rng: random.Random
) -> tuple[str, int]:
    """Numbered blocks with the target at a random position; returns (context, target number)."""
    items = [*distractors, *([target] if target else [])]
    rng.shuffle(items)
    n = items.index(target) + 1 if target else 0
    return "\n\n".join(block(i, s) for i, s in enumerate(items, start=1)), n


def distractors_for(s: Situation, pool: list[Situation], rng: random.Random, count: int) -> list[Situation]:
    """One hard distractor from the same file when there is one, the rest from other files."""
    same = [o for o in pool if o.source == s.source and o is not s]
    other = [o for o in pool if o.source != s.source]
    chosen = rng.sample(same, 1) if same and count else []
    return chosen + rng.sample(other, count - len(chosen))


def tag(s: Situation, example: dict) -> dict:
    return {**example, "category": s.category, "situation": f"{s.source}#{s.title}"}


def fill(template: str, s: Situation) -> str:
    title_lower = s.title[0].lower() + s.title[1:]
    symptom = _sentence(s.symptom.replace("**", ""))
    return template.format(
        symptom=symptom, title=s.title, title_lower=title_lower, title_quoted=f'"{s.title}"'
    )


def plain_examples(situations: list[Situation], rng: random.Random) -> list[dict]:
    out = []
    for s in situations:
        out.append(
            tag(s, {"instruction": fill(rng.choice(PLAIN_TEMPLATES), s), "input": "", "output": answer(s)})
        )
    return out


def rag_examples(situations: list[Situation], rng: random.Random) -> list[dict]:
    out = []
    for s in situations:
        context, n = context_with(s, distractors_for(s, situations, rng, rng.choice([1, 2])), rng)
        question = fill(rng.choice(RAG_TEMPLATES), s)
        out.append(tag(s, {"instruction": question, "input": "", "context": context, "output": answer(s, n)}))
    return out


def uncovered_examples(situations: list[Situation], rng: random.Random, count: int) -> list[dict]:
    out = []
    for s in rng.sample(situations, count):
        others = [o for o in situations if o.source != s.source]
        distractors = rng.sample(others, 2)
        context, _ = context_with(None, distractors, rng)
        topics = " and ".join(f'"{d.title}"' for d in distractors)
        output = (
            f"The context does not cover {s.title[0].lower() + s.title[1:]}: the retrieved blocks are about "
            f"{topics}.\nPlease share the exact error message, or add the runbook for this to the "
            "knowledge base, and ask again."
        )
        out.append(
            tag(
                s,
                {
                    "instruction": fill(rng.choice(RAG_TEMPLATES), s),
                    "input": "",
                    "context": context,
                    "output": output,
                },
            )
        )
    return out


def region_examples(situations: list[Situation], rng: random.Random) -> list[dict]:
    out = []
    for s in (s for s in situations if s.source in REGIONAL):
        question = fill(rng.choice(PLAIN_TEMPLATES), s)
        safe = [c for c in s.checks if "REGION" not in c][:2] or ["aws sts get-caller-identity"]
        asking = [
            "Which AWS region is this in (for example eu-west-1)? The checks and the fix below depend on it.",
            _cite(f"Most likely meanwhile: {_sentence(s.causes[0])}", None),
            "Safe first checks that need no region:",
            *(f"- `{c}`" for c in safe),
        ]
        out.append(
            tag(s, {"instruction": question, "input": "", "missing": ["region"], "output": "\n".join(asking)})
        )
        region = rng.choice(REGIONS)
        context, n = context_with(s, distractors_for(s, situations, rng, 1), rng)
        out.append(
            tag(
                s,
                {
                    "instruction": f"{fill(rng.choice(RAG_TEMPLATES), s)} It is in {region}.",
                    "input": "",
                    "context": context,
                    "slots": {"region": region},
                    "output": answer(s, n, region=region, lead=f"In {region}:"),
                },
            )
        )
    return out


def _error_text(s: Situation) -> str:
    quoted = re.findall(r"`([^`]{6,})`", s.symptom)
    return quoted[0] if quoted else s.title


def log_examples(situations: list[Situation], rng: random.Random) -> list[dict]:
    out = []
    for s in (s for s in situations if s.source in LOG_AREAS):
        area = LOG_AREAS[s.source]
        collect = s.checks[:2]
        asking = [
            f"Please paste the exact error message or the last log lines from {area}: "
            f"{s.title[0].lower() + s.title[1:]} has several causes and the message tells them apart.",
            "Read-only commands that show them:",
            *(f"- `{c}`" for c in collect),
            f"Common causes meanwhile: {'; '.join(s.causes[:3])}.",
        ]
        out.append(
            tag(
                s,
                {
                    "instruction": f"Something is failing in {area}, it looks like {s.title[0].lower() + s.title[1:]}. "
                    "What should I do?",
                    "input": "",
                    "missing": ["logs"],
                    "output": "\n".join(asking),
                },
            )
        )
        error = _error_text(s)
        context, n = context_with(s, distractors_for(s, situations, rng, 1), rng)
        out.append(
            tag(
                s,
                {
                    "instruction": f"This keeps failing in {area}. What does the error mean?",
                    "input": f"error: {error}",
                    "context": context,
                    "slots": {"logs": f"error: {error}"},
                    "output": answer(
                        s, n, lead=f"The error `{error}` matches {s.title[0].lower() + s.title[1:]}."
                    ),
                },
            )
        )
    return out


def api_examples(situations: list[Situation], rng: random.Random) -> list[dict]:
    out = []
    for s in (s for s in situations if s.source in API_FILES):
        out.append(
            tag(
                s,
                {
                    "instruction": f"Our API call fails with {s.title}. How do I debug it?",
                    "input": "",
                    "missing": ["endpoint", "method", "auth"],
                    "output": "\n".join(
                        [
                            "Which endpoint URL are you calling, with which HTTP method, and how does the request "
                            "authenticate (bearer token, API key, basic auth or none)?",
                            f"Most likely meanwhile: {_sentence(s.causes[0])}",
                            "First check: repeat the call with `curl -i` and read the status line and headers.",
                        ]
                    ),
                },
            )
        )
        endpoint, method = rng.choice(ENDPOINTS), rng.choice(METHODS)
        auth, flag = rng.choice(AUTHS)
        out.append(
            tag(
                s,
                {
                    "instruction": f"A {method} to {endpoint} fails with {s.title}. What is wrong?",
                    "input": "",
                    "missing": ["auth"],
                    "slots": {"endpoint": endpoint, "method": method},
                    "output": "\n".join(
                        [
                            "How does the request authenticate: a bearer token, an API key, basic auth or none? "
                            f"For {s.title} that decides the next check.",
                            f"Most likely meanwhile: {_sentence(s.causes[0])}",
                            f"First check: `curl -i -X {method} {endpoint}`",
                        ]
                    ),
                },
            )
        )
        context, n = context_with(s, distractors_for(s, situations, rng, 1), rng)
        out.append(
            tag(
                s,
                {
                    "instruction": f"A {method} to {endpoint} with a {auth} returns {s.title}. How do I fix it?",
                    "input": "",
                    "context": context,
                    "slots": {"endpoint": endpoint, "method": method, "auth": auth},
                    "output": answer(
                        s,
                        n,
                        lead=f"Reproduce it first: `curl -i -X {method} {endpoint} {flag}` and read the status and headers.",
                    ),
                },
            )
        )
    return out


def build() -> list[dict]:
    rng = random.Random(SEED)
    situations = [s for name in sorted(CATEGORIES) for s in parse(RAW / name)]
    examples = (
        plain_examples(situations, rng)
        + rag_examples(situations, rng)
        + uncovered_examples(situations, rng, len(situations) // 10)
        + region_examples(situations, rng)
        + log_examples(situations, rng)
        + api_examples(situations, rng)
    )
    seen: set[tuple[str, str, str]] = set()
    unique = []
    for example in examples:
        key = (example["instruction"], example["input"], example.get("context", ""))
        if key in seen:
            continue
        seen.add(key)
        unique.append(example)
    return unique


def decontaminate(examples: list[dict]) -> tuple[list[dict], int]:
    """The examples that give no sealed test case away, and how many were left out: a user text
    (instruction or input) near or equal to a test question (rules a, b), or an output holding a
    test case's whole keyword set (rule c)."""
    from check_sealed import gives_away, load_test_cases, normalise

    keyword_sets = [
        [normalise(k) for k in case.get("expected_keywords", []) if k.strip()] for case in load_test_cases()
    ]
    inputs = [i for i, e in enumerate(examples) if e.get("input", "").strip()]
    flagged = gives_away(
        [e["instruction"] for e in examples] + [examples[i]["input"].strip() for i in inputs]
    )
    for offset, i in enumerate(inputs, start=len(examples)):
        flagged[i] = flagged[i] or flagged[offset]
    keep = []
    for example, near in zip(examples, flagged, strict=False):
        output = normalise(example["output"])
        if near or any(keywords and all(k in output for k in keywords) for keywords in keyword_sets):
            continue
        keep.append(example)
    return keep, len(examples) - len(keep)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "data" / "instructions.jsonl")
    args = parser.parse_args()
    examples, dropped = decontaminate(build())
    with args.out.open("w", encoding="utf-8") as handle:
        for example in examples:
            handle.write(json.dumps(example, ensure_ascii=False) + "\n")
    print(f"wrote {len(examples)} examples to {args.out} ({dropped} left out as near a sealed test case)")


if __name__ == "__main__":
    main()
