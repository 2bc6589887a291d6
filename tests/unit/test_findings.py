"""Findings of the checks: the Checked block, contradictions, invented names, one regeneration."""

from langchain_core.language_models.fake_chat_models import FakeListChatModel
from langgraph.checkpoint.memory import InMemorySaver

from nanoscale.aws_catalog import closest_valid
from nanoscale.config import GraphSettings
from nanoscale.engine import Engine
from nanoscale.nodes.tools import plan_checks
from nanoscale.nodes.verify import verify
from nanoscale.resources import Resources
from nanoscale.tools.contradictions import find_contradictions
from nanoscale.tools.findings import Finding, checked_block, failed, split_block
from tests.conftest import fake_vector
from tests.unit.test_graph import OneDoc

USER = "arn:aws:iam::123456789012:user/dev"
IDENTITY = Finding(
    "sts.get_caller_identity",
    "caller",
    "ok",
    f"caller identity: {USER} (IAM user dev, account 123456789012)",
    f"caller: {USER} (account 123456789012)",
    {
        "arn": USER,
        "account": "123456789012",
        "principal_kind": "user",
        "principal_name": "dev",
        "region": "us-east-1",
    },
).to_dict()
PULL_DENIED = Finding(
    "iam.ecr_pull_permissions",
    USER,
    "denied",
    f"ECR pull by IAM user dev ({USER}): DENIED, not allowed ecr:BatchGetImage",
    "...",
    {
        "principal": USER,
        "verdict": "denied",
        "decisions": {"ecr:GetAuthorizationToken": "allowed", "ecr:BatchGetImage": "implicitDeny"},
        "region": "us-east-1",
    },
).to_dict()
REPO_MISSING = Finding(
    "ecr.repository",
    "orders-api",
    "missing",
    "ECR repository orders-api does not exist in us-east-1 (RepositoryNotFoundException)",
    "...",
    {"repository": "orders-api", "exists": False, "region": "us-east-1"},
).to_dict()
PROBE_404 = Finding(
    "api.probe",
    "GET http://x/y",
    "problem",
    "GET http://x/y answered 404 Not Found",
    "...",
    {"status_code": 404},
).to_dict()


def test_checked_block_names_each_check_its_status_and_citation():
    broken = failed("s3.bucket", "logs", "AccessDenied: nope", "AccessDenied").to_dict()
    block = checked_block([IDENTITY, REPO_MISSING, broken])
    assert block.splitlines()[0] == "Checked:"
    assert f"[ok] caller identity: {USER}" in block and "[tool:sts.get_caller_identity]" in block
    assert "[NOT FOUND] ECR repository orders-api does not exist" in block
    assert "[CHECK FAILED] s3.bucket on logs could not run: AccessDenied: nope [tool:s3.bucket]" in block
    assert split_block(f"{block}\n\nprose here", [IDENTITY, REPO_MISSING, broken]) == (block, "prose here")
    assert checked_block([]) == "" and split_block("prose", []) == ("", "prose")


def test_contradictions_of_identity_verdict_existence_status_and_region():
    findings = [IDENTITY, PULL_DENIED, REPO_MISSING, PROBE_404]
    prose = (
        "You are using arn:aws:iam::999988887777:role/app. "
        "Your instance profile role lacks the ECR permissions you need. "
        "The user dev is allowed to pull images from ECR. "
        "The repository orders-api exists and holds the image. "
        "The endpoint returns 500 because the server crashed. "
        "Run the check in eu-west-1 to be sure. "
        f"The caller is {USER} in account 123456789012 and cannot pull from ECR."
    )
    found = find_contradictions(prose, findings, known="which identity am I using?")
    reasons = [item["reason"] for item in found]
    assert len(found) == 6, reasons
    assert "not arn:aws:iam::999988887777:role/app" in reasons[0]
    assert "not a role" in reasons[1]
    assert "DENIED" in reasons[2]
    assert "does not exist" in reasons[3]
    assert "status 404, not 500" in reasons[4]
    assert "not eu-west-1" in reasons[5]
    pulls = find_contradictions(
        "It can pull images from ECR repository orders-api.", [REPO_MISSING], known=""
    )
    assert pulls and "does not exist" in pulls[0]["reason"]
    quoted = "[tool:iam.ecr_pull_permissions] user dev can pull from ECR (simulation unavailable: Unable to parse)."
    assert find_contradictions(quoted, [PULL_DENIED], known="") == []
    # what the user wrote is not a contradiction
    assert find_contradictions("The API returns 500 now.", [PROBE_404], known="my API returns 500") == []


def test_closest_valid_names():
    assert closest_valid("aws ecr get-repositories") == "aws ecr describe-repositories"
    assert closest_valid("ecr:GetRepositories") == "ecr:DescribeRepositories"
    assert closest_valid("aws ecr delete-image") == "aws ecr batch-delete-image"
    # an API operation is authorised by an action of another name (the reference's API page says so)
    assert closest_valid("s3:ListObjectsV2") == "s3:ListBucket"
    assert closest_valid("lambda:Invoke") == "lambda:InvokeFunction"


def _state(answer: str, revisions: int) -> dict:
    block = checked_block([IDENTITY])
    return {
        "question": "Which IAM identity am I using?",
        "answer": f"{block}\n\n{answer}",
        "findings": [IDENTITY],
        "observations": [{"tool": "sts.get_caller_identity", "ok": True, "text": IDENTITY["detail"]}],
        "revisions": revisions,
    }


def test_verify_asks_for_one_revision_then_marks_what_is_still_wrong():
    answer = "You are using arn:aws:iam::999988887777:role/app. List them with aws ecr get-repositories."
    first = verify(_state(answer, 0), embed=None, settings=GraphSettings(), cache_dir=None)
    assert first["revise"] and first["revisions"] == 1
    assert any("the real one is `aws ecr describe-repositories`" in note for note in first["revised"])
    assert any("not arn:aws:iam::999988887777:role/app" in note for note in first["revised"])
    final = verify(_state(answer, 1), embed=None, settings=GraphSettings(), cache_dir=None)
    assert not final["revise"] and final["invalid_aws_actions"] == ["aws ecr get-repositories"]
    assert final["answer"].startswith("Checked:")
    assert (
        "~~aws ecr get-repositories~~ (not a real AWS name; use `aws ecr describe-repositories`)"
        in final["answer"]
    )
    assert "[contradicts tool:sts.get_caller_identity:" in final["answer"]


def test_plan_checks_cover_every_explicit_ask():
    plan = dict(plan_checks("My key is AKIA... Which IAM identity am I using, and can I pull from ECR?", {}))
    assert plan == {"sts.get_caller_identity": (), "iam.ecr_pull_permissions": (None, None)}
    plan = dict(
        plan_checks(
            "Which IAM identity am I using, and can it pull images from ECR repository orders-api?", {}
        )
    )
    assert plan["ecr.repository"] == ("orders-api",) and plan["iam.ecr_pull_permissions"] == (None, None)
    assert "iam.ecr_pull_permissions" not in dict(plan_checks("EC2 cannot pull image from ECR", {}))
    assert dict(plan_checks("the worker died, see /var/log/app/worker.log", {}))["logs.file"] == (
        "/var/log/app/worker.log",
    )


def _engine(settings, responses, monkeypatch) -> Engine:
    import nanoscale.graph as graph_module

    def fake_tools(state, config, *, settings):
        return {"findings": [IDENTITY], "observations": []}

    monkeypatch.setattr(graph_module, "run_tools", fake_tools)
    settings.tools.execute = True
    model = FakeListChatModel(responses=responses)
    parts = Resources(model, OneDoc(), lambda texts: [fake_vector(t) for t in texts], lambda t: len(t) // 4)
    return Engine(settings, resources=parts, checkpointer=InMemorySaver())


def test_graph_regenerates_once_and_streams_the_checked_block_first(settings, monkeypatch):
    wrong = "You are using arn:aws:iam::999988887777:role/app [tool:sts.get_caller_identity]."
    right = f"You are using {USER} [tool:sts.get_caller_identity]."
    engine = _engine(settings, [wrong, right], monkeypatch)
    tokens: list[str] = []
    result = engine.send(
        "Which IAM identity am I using?", slots={"region": "us-east-1"}, on_token=tokens.append
    )
    assert result.answer == f"{checked_block([IDENTITY])}\n\n{right}"
    assert result.findings == [IDENTITY] and result.contradictions == []
    assert result.revised and "999988887777" in result.revised[0]
    assert tokens[0].startswith("Checked:") and "(revised after verification)" in "".join(tokens)


def test_graph_marks_a_contradiction_that_survives_the_regeneration(settings, monkeypatch):
    wrong = "You are using arn:aws:iam::999988887777:role/app [tool:sts.get_caller_identity]."
    engine = _engine(settings, [wrong, wrong], monkeypatch)
    result = engine.send("Which IAM identity am I using?", slots={"region": "us-east-1"})
    assert result.contradictions and "[contradicts tool:sts.get_caller_identity" in result.answer
    assert result.to_dict()["findings"] == [IDENTITY]
