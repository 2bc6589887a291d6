"""Answer sentences that contradict what a read-only check found.

A small model given "caller: arn:...:user/moto" may still write "your instance role lacks ECR
permissions". These rules compare each sentence of the prose with the findings' facts (data, not
the observation text): another identity or account, another region, "allowed" where the check
said denied (or the reverse), a status code the probe did not see, a repository or bucket said
to exist (or not) against what the check saw. A value the user wrote themselves is never a
contradiction: the answer may repeat the question.
"""

from __future__ import annotations

import re
from typing import Any

from nanoscale.grounding import split_sentences
from nanoscale.tools.aws import principal_of

_PRINCIPAL_ARN = re.compile(r"\barn:aws[\w-]*:(?:iam|sts)::\d{12}:(?:user|role|assumed-role)/[\w+=,.@/-]+")
_ACCOUNT = re.compile(r"(?<![\d:])(\d{12})(?![\d])")
_REGION = re.compile(
    r"\b(?:us-gov|us|eu|ap|sa|ca|me|af|il|mx|cn)-(?:central|north|south|east|west|northeast|northwest|"
    r"southeast|southwest)-\d\b"
)
_ROLE_CLAIM = re.compile(
    r"\b(instance profile|assumed[- ]role|(your|the|this|its) (iam |instance )?role)\b", re.I
)
_NOT_A_ROLE = re.compile(
    r"\bnot (a |an |using )?(an? )?(iam |instance )?role\b|\bno instance profile\b", re.I
)
_IDENTITY_WORDS = re.compile(r"\b(you|your|caller|identity|credentials|using)\b", re.I)
_NEGATION = re.compile(
    r"\b(not|no|cannot|can't|lacks?|lacking|missing|denied|denies|without|doesn't|does not|isn't|aren't|"
    r"never|fails?|unable)\b",
    re.I,
)
_ALLOWED_CLAIM = re.compile(
    r"\b(can pull|is allowed|are allowed|has (the )?(required |necessary |needed )?(permissions?|access)|"
    r"have (the )?(required |necessary |needed )?(permissions?|access)|is permitted|are permitted|"
    r"is authori[sz]ed|permissions? (are|is) (fine|correct|sufficient|in place))\b",
    re.I,
)
_PULL_TOPIC = re.compile(r"\b(pull|ecr|BatchGetImage|GetAuthorizationToken|GetDownloadUrlForLayer)\b", re.I)
_STATUS_CLAIM = re.compile(
    r"\b(?:returns?|returned|returning|responds? with|responded with|answer(?:s|ed)? with|got|gets|getting|"
    r"receiv\w+|status(?: code)?(?: is| of| was)?)\s+(?:an?\s+|the\s+|HTTP\s+|status\s+)*(\d{3})\b",
    re.I,
)
_EXISTS_CLAIM = re.compile(r"\b(exists|is there|was found|is present)\b", re.I)
_ABSENT_CLAIM = re.compile(r"\b(does not exist|doesn't exist|not found|no such|missing|was deleted)\b", re.I)


def _by_check(findings: list[dict[str, Any]], check: str) -> list[dict[str, Any]]:
    return [f for f in findings if f["check"] == check and f["status"] != "failed"]


def _identity(sentence: str, found: dict[str, Any], known: str) -> str | None:
    facts = found["facts"]
    caller = principal_of(facts["arn"])
    for arn in (a.rstrip(".") for a in _PRINCIPAL_ARN.findall(sentence)):
        named = principal_of(arn)
        same = (
            named
            and caller
            and (named.account, named.kind, named.name) == (caller.account, caller.kind, caller.name)
        )
        if not same and arn not in known:
            return f"the caller is {facts['arn']}, not {arn}"
    for account in _ACCOUNT.findall(sentence):
        if account != facts["account"] and account not in known:
            return f"the caller's account is {facts['account']}, not {account}"
    if (
        facts.get("principal_kind") == "user"
        and _ROLE_CLAIM.search(sentence)
        and _IDENTITY_WORDS.search(sentence)
        and not _NOT_A_ROLE.search(sentence)
    ):
        return f"the caller is IAM user {facts['principal_name']} ({facts['arn']}), not a role"
    return None


def _pull(sentence: str, found: dict[str, Any]) -> str | None:
    facts = found["facts"]
    if not _PULL_TOPIC.search(sentence):
        return None
    negated = bool(_NEGATION.search(sentence))
    if facts["verdict"] == "denied" and _ALLOWED_CLAIM.search(sentence) and not negated:
        denied = [a for a, d in facts["decisions"].items() if d != "allowed"]
        return f"the pull check found {facts['principal']} DENIED ({', '.join(denied)})"
    if (
        facts["verdict"] == "allowed"
        and negated
        and re.search(r"\b(permission|allow|authori|pull)", sentence, re.I)
    ) and not re.search(r"\bif\b|\bunless\b|\bwhen\b", sentence, re.I):
        return f"the pull check found {facts['principal']} allowed to pull"
    return None


def _status(sentence: str, found: dict[str, Any], known: str) -> str | None:
    seen = found["facts"]["status_code"]
    for code in _STATUS_CLAIM.findall(sentence):
        if int(code) != seen and 100 <= int(code) <= 599 and code not in known:
            return f"the probe saw status {seen}, not {code}"
    return None


def _existence(sentence: str, found: dict[str, Any], name: str) -> str | None:
    facts = found["facts"]
    if name not in sentence:
        return None
    claims_there = _EXISTS_CLAIM.search(sentence) or _ALLOWED_CLAIM.search(sentence)
    if facts.get("exists") is False and claims_there and not _NEGATION.search(sentence):
        return f"the check found that {name} does not exist"
    if facts.get("exists") is True and _ABSENT_CLAIM.search(sentence):
        return f"the check found that {name} exists"
    return None


def find_contradictions(prose: str, findings: list[dict[str, Any]], known: str) -> list[dict[str, str]]:
    """Sentences of `prose` that contradict a finding, each with the check and the fact it denies.

    `known` is what the user wrote (question and replies): values from it are never contradictions.
    """
    regional = [f for f in findings if f["facts"].get("region")]
    regions = {f["facts"]["region"] for f in regional}
    out: list[dict[str, str]] = []
    for sentence in split_sentences(prose):
        if sentence.startswith("[tool:"):  # a check's own output, quoted back
            continue
        reasons: list[tuple[str, str | None]] = []
        reasons += [
            (f["check"], _identity(sentence, f, known))
            for f in _by_check(findings, "sts.get_caller_identity")
        ]
        reasons += [
            (f["check"], _pull(sentence, f))
            for f in _by_check(findings, "iam.ecr_pull_permissions")
            if "verdict" in f["facts"]
        ]
        reasons += [(f["check"], _status(sentence, f, known)) for f in _by_check(findings, "api.probe")]
        reasons += [
            (f["check"], _existence(sentence, f, f["target"])) for f in _by_check(findings, "ecr.repository")
        ]
        reasons += [
            (f["check"], _existence(sentence, f, f["target"])) for f in _by_check(findings, "s3.bucket")
        ]
        if regions:
            other = [r for r in _REGION.findall(sentence) if r not in regions and r not in known]
            if other:
                reasons.append(
                    (regional[0]["check"], f"the checks ran in {', '.join(sorted(regions))}, not {other[0]}")
                )
        for check, reason in reasons:
            if reason:
                out.append({"sentence": sentence, "check": check, "reason": reason})
                break
    return out
