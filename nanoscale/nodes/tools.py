"""The tools node: read-only checks chosen from the question and slots, run only when enabled.

Which checks run is decided here, by code from the signals, never by the model; what a check
does is declared in `nanoscale.tools.registry`. Each check is bounded in time, traced as its
own run, and its result redacted before it becomes an observation the prompt cites as [tool:name].
"""

from __future__ import annotations

import re

from langchain_core.runnables import RunnableConfig, RunnableLambda

from nanoscale.config import ToolSettings
from nanoscale.signals import api, aws
from nanoscale.state import State
from nanoscale.tools.aws import error_code, error_text
from nanoscale.tools.findings import Finding, failed
from nanoscale.tools.redact import redact_data
from nanoscale.tools.registry import CHECKS, ToolContext

Plan = list[tuple[str, tuple]]
# "can I pull", "can it pull images", "we cannot pull": the asker's own credentials pulling.
_SELF_PULL = re.compile(
    r"\b(i|we|me|my|our|it|this identity|these credentials)\b[^.?!]{0,60}\bpull", re.IGNORECASE
)
# ...unless something else does the pulling, whose credentials are not the asker's.
_OTHER_PULLER = re.compile(
    r"\b(instance|ec2|node|pod|task|cluster|lambda|function|build|runner|pipeline|kubelet)s?\b", re.IGNORECASE
)
_LOG_PATH = re.compile(r"(?<![\w/])(/[\w.-]+(?:/[\w.-]+)*\.log)\b")


def plan_aws_checks(text: str) -> Plan:
    """The AWS checks a question calls for, as (check name, arguments)."""
    if not aws.is_aws_question(text):
        return []
    checks: Plan = [("sts.get_caller_identity", ())]
    services = aws.find_services(text)
    instance = aws.find_instance_id(text)
    role = aws.find_role_arn(text)
    if instance:
        checks.append(("ec2.instance_network", (instance,)))
    if "ecr" in services and (instance or role):
        checks.append(("iam.ecr_pull_permissions", (role, instance)))
    elif "ecr" in services and _SELF_PULL.search(text) and not _OTHER_PULLER.search(text):
        checks.append(("iam.ecr_pull_permissions", (None, None)))
    repository = aws.find_ecr_repository(text)
    if repository and "ecr" in services:
        checks.append(("ecr.repository", (repository,)))
    bucket = aws.find_bucket(text)
    if bucket:
        checks.append(("s3.bucket", (bucket,)))
    return checks


def plan_checks(text: str, slots: dict[str, str]) -> Plan:
    """Every check the conversation calls for: AWS, a probe of an http(s) endpoint, a log file."""
    checks = plan_aws_checks(text)
    endpoint = slots.get("endpoint") or api.find_endpoint(text) or ""
    if endpoint.startswith(("http://", "https://")):
        checks.append(("api.probe", (endpoint, slots.get("method") or "GET")))
    log_path = slots.get("logs") or (match.group(1) if (match := _LOG_PATH.search(text)) else None)
    if log_path:
        checks.append(("logs.file", (log_path,)))
    return checks


def target_of(args: tuple) -> str:
    return ", ".join(str(a) for a in args if a) or "caller"


def observe(name: str, args: tuple, context: ToolContext, config: RunnableConfig | None) -> Finding | None:
    """Run one check as a traced run; a failure becomes a finding too, never a crash."""
    check = CHECKS[name]
    try:
        return RunnableLambda(lambda _: check.run(context, *args), name=f"tool:{name}").invoke(
            {"check": name}, config
        )
    except Exception as exc:  # noqa: BLE001 - the answer should say the check failed, and why
        return failed(name, target_of(args), error_text(exc)[:400], error_code(exc))


def observation(finding: dict) -> dict:
    """The textual observation the prompt cites as [tool:name]."""
    return {"tool": finding["check"], "ok": finding["status"] != "failed", "text": finding["detail"]}


def run_tools(state: State, config: RunnableConfig, *, settings: ToolSettings, session=None) -> dict:
    slots = state.get("slots", {})
    text = "\n".join([state["question"], *state.get("replies", [])])
    context = ToolContext(settings, slots.get("region") or aws.find_region(text), session)
    found = [observe(name, args, context, config) for name, args in plan_checks(text, slots)]
    findings = [redact_data(item.to_dict()) for item in found if item is not None]
    return {"findings": findings, "observations": [observation(item) for item in findings]}
