"""API signals: is this an HTTP API problem, and which of endpoint, method and auth are known."""

from __future__ import annotations

import re

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
_URL = re.compile(r"\bhttps?://[^\s'\"<>`)\]]+", re.IGNORECASE)
_PATH = re.compile(r"(?<![\w.:/])/(?:[A-Za-z0-9_.~{}:-]+/)*[A-Za-z0-9_.~{}:-]+/?(?:\?[^\s'\"`]*)?")
_HOST = re.compile(
    r"\b(?:[a-z0-9-]+\.)+(?:com|net|org|io|dev|app|cloud|internal|local|svc)(?::\d+)?(?:/[^\s'\"`]*)?",
    re.IGNORECASE,
)
_METHOD = re.compile(r"(?<![A-Za-z])(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS)(?![A-Za-z])")
_METHOD_LOWER = re.compile(
    r"\b(get|post|put|patch|delete|head|options) (request|call|method)s?\b", re.IGNORECASE
)
_API = re.compile(
    r"\b(api|apis|endpoint|rest|graphql|webhook|http request|https request|curl|postman|cors|"
    r"preflight|rate limit\w*|status code|response code)\b",
    re.IGNORECASE,
)
_HTTP_STATUS = re.compile(
    r"\b(401|403|404|405|408|413|415|422|429|500|502|503|504)\b|\b(unauthorized|forbidden|"
    r"too many requests|bad gateway|gateway time-?out|service unavailable)\b",
    re.IGNORECASE,
)
_TROUBLE = re.compile(
    r"\b(fail\w*|error\w*|returns?|returning|getting|gets|got|blocked|denied|rejected|timeout|"
    r"timed out|times out|slow|hang\w*|not working|broken|can't|cannot|unable|refus\w*)\b",
    re.IGNORECASE,
)
_NOT_HTTP_API = re.compile(
    r"\b(api ?server|kube-?apiserver|kubectl|aws cli|boto3|s3|iam|sts|ecr|bucket)\b", re.IGNORECASE
)
_AUTH = [
    ("bearer", re.compile(r"\bbearer\b|\bjwt\b|\baccess token\b|\bid token\b", re.IGNORECASE)),
    ("oauth2", re.compile(r"\boauth ?2?\b|\bclient credentials\b|\bopenid\b|\boidc\b", re.IGNORECASE)),
    (
        "basic",
        re.compile(r"\bbasic auth\w*\b|\bauthorization: basic\b|\busername and password\b", re.IGNORECASE),
    ),
    ("api-key", re.compile(r"\bapi[- _]?key\b|\bx-api-key\b", re.IGNORECASE)),
    ("sigv4", re.compile(r"\bsigv4\b|\bsignature version 4\b|\biam auth\w*\b", re.IGNORECASE)),
    ("mtls", re.compile(r"\bmtls\b|\bmutual tls\b|\bclient cert\w*\b", re.IGNORECASE)),
    ("cookie", re.compile(r"\bcookie\b|\bsession id\b", re.IGNORECASE)),
    (
        "none",
        re.compile(
            r"\bno auth\w*\b|\bwithout auth\w*\b|\bunauthenticated\b|\bpublic endpoint\b|\banonymous\b",
            re.IGNORECASE,
        ),
    ),
]
_TOKEN_SCHEME = re.compile(r"\b(token|authorization header)\b", re.IGNORECASE)


def find_endpoint(text: str) -> str | None:
    """A URL, host or absolute URL path in the text, or None."""
    for pattern in (_URL, _HOST):
        match = pattern.search(text)
        if match:
            return match.group(0).rstrip(".,;:")
    for match in _PATH.finditer(text):
        path = match.group(0).rstrip(".,;:")
        if not re.match(r"^/(etc|var|usr|home|tmp|opt|dev|proc|sys|bin|root|mnt|srv)(/|$)", path):
            return path
    return None


def find_method(text: str) -> str | None:
    match = _METHOD.search(text)
    if match:
        return match.group(1)
    match = _METHOD_LOWER.search(text)
    return match.group(1).upper() if match else None


def find_auth(text: str) -> str | None:
    for scheme, pattern in _AUTH:
        if pattern.search(text):
            return scheme
    return "token" if _TOKEN_SCHEME.search(text) else None


def is_api_problem(text: str) -> bool:
    """An HTTP API misbehaving, as opposed to AWS or Kubernetes control-plane trouble."""
    if _NOT_HTTP_API.search(text) and not _URL.search(text):
        return False
    mentions_api = bool(_API.search(text) or _URL.search(text))
    return mentions_api and bool(_TROUBLE.search(text) or _HTTP_STATUS.search(text))


def missing_slots(text: str, slots: dict[str, str]) -> list[str]:
    if not is_api_problem(text):
        return []
    wanted = ["endpoint", "method"]
    if not re.search(r"\b(cors|preflight)\b", text, re.IGNORECASE):
        wanted.append("auth")
    finders = {"endpoint": find_endpoint, "method": find_method, "auth": find_auth}
    return [slot for slot in wanted if slot not in slots and finders[slot](text) is None]
