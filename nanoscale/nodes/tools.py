"""The tools node: read-only checks chosen from the question and slots, run only when enabled.

Each check is bounded in time (boto3 and HTTP timeouts, no retries), traced as its own run,
and its result redacted before it becomes an observation that the prompt cites as [tool:name].
"""

from __future__ import annotations

from collections.abc import Callable

from langchain_core.runnables import RunnableConfig, RunnableLambda

from nanoscale.config import ToolSettings
from nanoscale.state import State
from nanoscale.tools import api, aws, logs
from nanoscale.tools.redact import redact


def observe(name: str, check: Callable[[], str], config: RunnableConfig | None) -> dict:
    """Run one check as a traced run; a failure becomes an observation too, never a crash."""
    try:
        text = RunnableLambda(lambda _: check(), name=f"tool:{name}").invoke({"check": name}, config)
        return {"tool": name, "ok": True, "text": redact(text)}
    except Exception as exc:  # noqa: BLE001 - the answer should say the check failed, and why
        return {"tool": name, "ok": False, "text": redact(f"check failed: {aws._error_text(exc)}")[:500]}


def run_tools(state: State, config: RunnableConfig, *, settings: ToolSettings, session=None) -> dict:
    question = state["question"]
    slots = state.get("slots", {})
    text = "\n".join([question, *state.get("replies", [])])
    observations = []
    checks = aws.plan_checks(text, slots)
    if checks:
        client = aws.ReadOnlyAWS(slots.get("region") or aws.find_region(text), settings.timeout_s, session)
        for name, args in checks:
            observations.append(observe(name, lambda n=name, a=args: aws.run_check(client, n, a), config))
    endpoint = slots.get("endpoint") or api.find_endpoint(text) or ""
    if endpoint.startswith(("http://", "https://")):
        method = slots.get("method") or "GET"
        observations.append(
            observe(
                "api.probe",
                lambda: api.describe_probe(
                    api.probe(
                        endpoint,
                        method,
                        settings.timeout_s,
                        settings.api_max_bytes,
                        settings.api_max_redirects,
                        settings.api_methods,
                    )
                ),
                config,
            )
        )
    if slots.get("logs"):
        condensed = logs.read_log_file(slots["logs"], settings.logs_max_bytes)
        if condensed is not None:
            observations.append({"tool": "logs.file", "ok": True, "text": redact(condensed)})
    return {"observations": observations}
