"""Each signal rule with positive and negative cases."""

import pytest

from nanoscale.signals import api, aws, extract_slots, missing_slots


@pytest.mark.parametrize(
    ("text", "region"),
    [
        ("my cluster in eu-west-1 is down", "eu-west-1"),
        ("EU-CENTRAL-1 ecs tasks fail", "eu-central-1"),
        ("region us_east_2 please", "us-east-2"),
        ("ap southeast 2 lambda timeout", "ap-southeast-2"),
        ("arn:aws:ecr:ap-northeast-1:111122223333:repository/app", "ap-northeast-1"),
        ("111122223333.dkr.ecr.sa-east-1.amazonaws.com/app:1 not found", "sa-east-1"),
        ("instance in us-west-2b cannot reach s3", "us-west-2"),
        ("our ECS cluster is in Frankfurt", "eu-central-1"),
        ("we run everything in Ireland", "eu-west-1"),
        ("the instances in N. Virginia", "us-east-1"),
        ("Tokyo region lambda errors", "ap-northeast-1"),
        ("deployed to Sao Paulo", "sa-east-1"),
        ("GovCloud us-gov-west-1 only", "us-gov-west-1"),
    ],
)
def test_region_in_any_form(text, region):
    assert aws.find_region(text) == region


@pytest.mark.parametrize(
    "text",
    [
        "eu-west-9 is not real",
        "the us east coast office",
        "use utf-8 everywhere",
        "version 1-2-3",
        "a new europe team",
    ],
)
def test_no_region_in_lookalikes(text):
    assert aws.find_region(text) is None


@pytest.mark.parametrize(
    "question",
    [
        "EC2 cannot pull image from ECR",
        "my Lambda function times out",
        "ECS task keeps failing health checks",
        "EKS nodes do not join the cluster",
        "CloudFormation stack stuck in UPDATE_ROLLBACK_FAILED",
        "Auto Scaling group does not launch instances",
        "cannot reach the internet from my VPC private subnet",
        "aws instance i-0abc12345def67890 is unreachable",
        "RDS connection refused from the app",
    ],
)
def test_region_scoped_trouble_asks_region(question):
    assert "region" in missing_slots(question, {})


@pytest.mark.parametrize(
    "question",
    [
        "which identity am I using with the aws cli",
        "IAM policy to allow s3 read access",
        "S3 returns 403 Access Denied on GetObject",
        "what is the difference between ECS and EKS",
        "EC2 cannot pull image from ECR in eu-west-1",
        "how do I assume a role with MFA",
        "my postgres instance fails to start with error: could not bind",
    ],
)
def test_global_or_known_region_questions_do_not_ask_region(question):
    assert "region" not in missing_slots(question, {})


def test_region_already_in_slots_is_not_asked():
    assert "region" not in missing_slots("EC2 cannot pull image from ECR", {"region": "eu-west-1"})


@pytest.mark.parametrize(
    "question",
    [
        "my pod is in CrashLoopBackOff",
        "CI started failing",
        "the service fails to start",
        "our nginx container keeps restarting",
        "the deployment is broken since this morning",
        "GitHub Actions build is failing on main",
        "systemd unit crashed overnight",
        "docker compose up hangs",
    ],
)
def test_failure_without_evidence_asks_logs(question):
    assert "logs" in missing_slots(question, {})


@pytest.mark.parametrize(
    "question",
    [
        "my pod is in CrashLoopBackOff, logs say `Error: Cannot find module 'express'`",
        "CI started failing with exit code 137",
        "the service fails to start: permission denied on /var/lib/app",
        'docker build fails with "COPY failed: file not found in build context"',
        "pod crashes with OOMKilled",
        "build failing:\n```\nnpm ERR! code ERESOLVE\n```",
        "the job fails with AccessDeniedException when writing to DynamoDB",
        "terraform apply fails: Error acquiring the state lock",
        "how do I configure log rotation for docker",
        "2024-05-01 12:00:01 ERROR db timeout\n2024-05-01 12:00:02 ERROR db timeout\nthe app fails",
    ],
)
def test_quoted_errors_or_no_failure_do_not_ask_logs(question):
    assert "logs" not in missing_slots(question, {})


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("my API returns 401", ["endpoint", "method", "auth"]),
        ("POST https://api.example.com/v1/orders returns 500", ["auth"]),
        ("GET /v1/users with a bearer token gives 403", []),
        ("the webhook endpoint times out", ["endpoint", "method", "auth"]),
        ("CORS error calling https://api.example.com/items from the browser", ["method"]),
        ("curl -X DELETE https://api.example.com/v1/items/3 with an API key returns 404", []),
        ("rate limit 429 on our REST api when using oauth client credentials", ["endpoint", "method"]),
    ],
)
def test_api_slots(question, expected):
    assert [s for s in missing_slots(question, {}) if s in {"endpoint", "method", "auth"}] == expected


@pytest.mark.parametrize(
    "question",
    [
        "kubectl says the api server is unreachable",
        "S3 returns 403 Access Denied",
        "how do I design a REST api",
        "ecr returns 403 on docker push",
    ],
)
def test_non_http_api_questions_do_not_ask_api_slots(question):
    assert not {"endpoint", "method", "auth"} & set(missing_slots(question, {}))


@pytest.mark.parametrize(
    ("question", "asks"),
    [
        ("cross-account assume role fails with AccessDenied", True),
        ("cannot read a bucket in another account: access denied", True),
        ("cross-account access from 444455556666 fails with AccessDenied", False),
        ("how does cross-account access work", False),
    ],
)
def test_account_slot(question, asks):
    assert ("account" in missing_slots(question, {})) is asks


@pytest.mark.parametrize(
    ("question", "asks"),
    [
        ("I get an error from AWS when deploying", True),
        ("something is broken in our aws account", True),
        ("AWS Lambda deploy fails", False),
        ("what does AWS stand for", False),
    ],
)
def test_service_slot(question, asks):
    assert ("service" in missing_slots(question, {})) is asks


def test_extract_slots_from_text():
    found = extract_slots("POST https://api.example.com/v1 with bearer token returns 401 in eu-west-1 aws")
    assert found["endpoint"] == "https://api.example.com/v1"
    assert found["method"] == "POST"
    assert found["auth"] == "bearer"
    assert found["region"] == "eu-west-1"
    assert extract_slots("account 111122223333")["account"] == "111122223333"


@pytest.mark.parametrize(
    ("text", "endpoint", "method", "auth"),
    [
        ("calling api.example.com/v2/items via PATCH", "api.example.com/v2/items", "PATCH", None),
        ("the /healthz path, a get request, no auth", "/healthz", "GET", "none"),
        ("x-api-key header on https://h.io/a?b=1", "https://h.io/a?b=1", None, "api-key"),
        ("basic auth to http://10.0.0.5:8080/metrics", "http://10.0.0.5:8080/metrics", None, "basic"),
        ("reading /etc/nginx/nginx.conf", None, None, None),
    ],
)
def test_api_finders(text, endpoint, method, auth):
    assert api.find_endpoint(text) == endpoint
    assert api.find_method(text) == method
    assert api.find_auth(text) == auth


@pytest.mark.parametrize(
    ("question", "asks"),
    [
        ("systemd unit fails to start: Failed with result 'exit-code'", False),
        ("the deploy fails: what should I check", True),
    ],
)
def test_error_text_after_a_colon_counts_as_evidence(question, asks):
    assert ("logs" in missing_slots(question, {})) is asks
