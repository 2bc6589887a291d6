"""The tools node: read-only checks chosen from the question and slots, run only when enabled.

Which checks run is decided here, by code from the signals, never by the model; what a check
does is declared in `nanoscale.tools.registry`. Each check is bounded in time, traced as its
own run, and its result redacted before it becomes an observation the prompt cites as [tool:name].
"""

from __future__ import annotations

from langchain_core.runnables import RunnableConfig, RunnableLambda

from nanoscale.config import ToolSettings
from nanoscale.signals import api, aws
from nanoscale.state import State
from nanoscale.tools.aws import error_text
from nanoscale.tools.redact import redact
from nanoscale.tools.registry import CHECKS, ToolContext

Plan = list[tuple[str, tuple]]


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
    if slots.get("logs"):
        checks.append(("logs.file", (slots["logs"],)))
    return checks


def observe(name: str, args: tuple, context: ToolContext, config: RunnableConfig | None) -> dict | None:
    """Run one check as a traced run; a failure becomes an observation too, never a crash."""
    check = CHECKS[name]
    try:
        text = RunnableLambda(lambda _: check.run(context, *args), name=f"tool:{name}").invoke(
            {"check": name}, config
        )
    except Exception as exc:  # noqa: BLE001 - the answer should say the check failed, and why
        return {"tool": name, "ok": False, "text": redact(f"check failed: {error_text(exc)}")[:500]}
    return None if text is None else {"tool": name, "ok": True, "text": redact(text)}


def run_tools(state: State, config: RunnableConfig, *, settings: ToolSettings, session=None) -> dict:
    slots = state.get("slots", {})
    text = "\n".join([state["question"], *state.get("replies", [])])
    context = ToolContext(settings, slots.get("region") or aws.find_region(text), session)
    observations = [observe(name, args, context, config) for name, args in plan_checks(text, slots)]
    return {"observations": [item for item in observations if item is not None]}
