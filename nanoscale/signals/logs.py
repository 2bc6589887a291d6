"""Logs signal: does a question that describes a failure quote its error?

A failure described with no evidence ("my pod is in CrashLoopBackOff") is asked for logs; one
that quotes an error, an exit code, a status or a log block is not.
"""

from __future__ import annotations

import re

_FAILURE = re.compile(
    r"\b(crash\w*|crashloopbackoff|fail(s|ed|ing|ure)?|keeps? restarting|restart(s|ing) (loop|constantly)|"
    r"won't start|will not start|doesn't start|does not start|not starting|fails to start|"
    r"stopped working|started failing|broken|is down|went down|goes down|hang(s|ing)?|stuck|"
    r"exits immediately|exited|errors? out|throw(s|ing)? (an )?errors?|getting (an )?errors?|"
    r"gives? (an )?errors?|returns? (an )?error|not working|unhealthy|oomkill\w*|evicted|"
    r"red build|build is red|pipeline is red|does ?n[o']t work|in a loop|keeps? stopping)\b",
    re.IGNORECASE,
)
_EVIDENCE = [
    re.compile(r"```|~~~"),  # a pasted block
    re.compile(r"`[^`\n]{3,}`"),  # an inline quoted message
    re.compile(r"\"[^\"\n]{8,}\"|'[^'\n]{12,}'"),  # a quoted message
    re.compile(
        r"\b(error|exception|fatal|failed|failure|denied|refused|panic|traceback|warning|reason|"
        r"message|stderr|says|said|output)\s*[:=]\s*\S",
        re.IGNORECASE,
    ),
    re.compile(r":\s*['\"]?[A-Z][\w.-]*(\s+\S+){2,}"),  # a message quoted after a colon
    re.compile(r"\bexit(ed)?\s*(with\s*)?(code|status)?\s*[:=]?\s*-?\d+\b", re.IGNORECASE),
    re.compile(
        r"\b(status|code|http|returns?|returned|got|getting|with)\s*[:=]?\s*[1-5]\d\d\b", re.IGNORECASE
    ),
    re.compile(
        r"\b[1-5]\d\d\s+(bad request|unauthorized|forbidden|not found|too many requests|"
        r"internal server error|bad gateway|service unavailable|gateway time-?out)\b",
        re.IGNORECASE,
    ),
    re.compile(r"\b[A-Z][a-zA-Z]+(Exception|Error|Denied|Fault|NotFound|Forbidden)\b"),
    re.compile(r"\b(E[A-Z]{3,}|SIG[A-Z]{3,4}|OOMKilled|x509|segfault|errno\s*\d+)\b"),
    re.compile(  # AWS error codes that carry no Error/Exception suffix
        r"\b(ExpiredToken|AccessDenied|NoSuch(Key|Bucket|Entity)|SignatureDoesNotMatch|InvalidClientTokenId|"
        r"Insufficient\w+Capacity|\w+LimitExceeded|RequestTimeTooSkewed|Throttling|SlowDown|BucketNotEmpty|"
        r"UnauthorizedOperation|MalformedPolicyDocument|\w+AlreadyExists|[A-Z]+_(ROLLBACK|FAILED|COMPLETE)\w*)\b"
    ),
    re.compile(
        r"(no basic auth credentials|permission denied|connection refused|connection timed out|"
        r"no space left on device|certificate verify failed|manifest unknown|could not resolve host|"
        r"name or service not known|too many open files|address already in use|exec format error|"
        r"command not found|no such file or directory|unauthorized|forbidden|access denied|"
        r"back-off restarting failed container|image not found|pull access denied|"
        r"readiness probe failed|liveness probe failed|insufficient (cpu|memory)|"
        r"error acquiring the state lock|resource temporarily unavailable)",
        re.IGNORECASE,
    ),
]
_LOG_LINE = re.compile(
    r"^\s*(\d{4}-\d\d-\d\d|\[?\d\d:\d\d:\d\d|[A-Z][a-z]{2}\s+\d+\s+\d\d:|\[?(ERROR|WARN|INFO|DEBUG|FATAL)\b|"
    r"Traceback|\s+at\s+\S+\(|E\d{4}\s)",
)


def describes_failure(text: str) -> bool:
    return bool(_FAILURE.search(text))


def has_evidence(text: str) -> bool:
    """Does the text already carry an error message, code, status or log excerpt?"""
    if sum(1 for line in text.splitlines() if _LOG_LINE.match(line)) >= 2:
        return True
    return any(pattern.search(text) for pattern in _EVIDENCE)


def missing_slots(text: str, slots: dict[str, str]) -> list[str]:
    if "logs" in slots or not describes_failure(text) or has_evidence(text):
        return []
    return ["logs"]
