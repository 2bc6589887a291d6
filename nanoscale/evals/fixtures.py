"""The worlds tool eval cases run against: moto's AWS server, a local HTTP server, a log file.

A case's `tool_fixture` is a JSON object whose `kind` picks one: `{"kind": "aws", "setup":
NAME}` (a function in `AWS_SETUPS` that builds resources and an IAM user whose keys the checks
use), `{"kind": "http", "status": 429, "headers": {...}, "body": "..."}`, or `{"kind": "log",
"lines": [...]}`. Each yields values (`endpoint`, `log`, `instance`...) that replace `{name}`
in the case's question, answers and expected findings. Everything listens on 127.0.0.1 only.
"""

from __future__ import annotations

import http.server
import json
import os
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from nanoscale.errors import InputError

REGION = "us-east-1"
ECR_PULL = ["ecr:GetAuthorizationToken", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
_AWS_ENV = (
    "AWS_ENDPOINT_URL",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_DEFAULT_REGION",
    "AWS_PROFILE",
)


def _policy(effect: str, actions: list[str], principal: Any = None) -> str:
    statement: dict[str, Any] = {"Effect": effect, "Action": actions, "Resource": "*"}
    if principal is not None:
        statement["Principal"] = principal
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def _user(iam, name: str, actions: list[str] | None) -> dict[str, str]:
    """An IAM user (with an inline policy allowing `actions`) and its access keys."""
    iam.create_user(UserName=name)
    if actions:
        iam.put_user_policy(UserName=name, PolicyName="access", PolicyDocument=_policy("Allow", actions))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return {"AWS_ACCESS_KEY_ID": key["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"]}


def _clients(endpoint: str, *services: str) -> list[Any]:
    import boto3

    session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing")
    return [session.client(s, region_name=REGION, endpoint_url=endpoint) for s in services]


def _instance(ec2, profile: str | None, egress: bool) -> str:
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName="app", Description="app", VpcId=vpc)["GroupId"]
    if not egress:
        rules = ec2.describe_security_groups(GroupIds=[group])["SecurityGroups"][0]["IpPermissionsEgress"]
        ec2.revoke_security_group_egress(GroupId=group, IpPermissions=rules)
    image = ec2.describe_images()["Images"][0]["ImageId"]
    extra = {"IamInstanceProfile": {"Name": profile}} if profile else {}
    return ec2.run_instances(
        ImageId=image, MinCount=1, MaxCount=1, SubnetId=subnet, SecurityGroupIds=[group], **extra
    )["Instances"][0]["InstanceId"]


def user_ecr_read(endpoint: str) -> tuple[dict[str, str], dict[str, str]]:
    """User `dev` may pull from ECR; repository `orders-api` exists."""
    iam, ecr = _clients(endpoint, "iam", "ecr")
    ecr.create_repository(repositoryName="orders-api")
    return _user(iam, "dev", ECR_PULL), {"user": "dev"}


def user_no_ecr(endpoint: str) -> tuple[dict[str, str], dict[str, str]]:
    """User `ci-bot` may only read S3: every ECR pull action is implicitly denied."""
    iam, ecr = _clients(endpoint, "iam", "ecr")
    ecr.create_repository(repositoryName="orders-api")
    return _user(iam, "ci-bot", ["s3:GetObject"]), {"user": "ci-bot"}


def user_partial_ecr(endpoint: str) -> tuple[dict[str, str], dict[str, str]]:
    """User `deployer` may log in to ECR but not fetch layers or images."""
    (iam,) = _clients(endpoint, "iam")
    return _user(iam, "deployer", ["ecr:GetAuthorizationToken"]), {"user": "deployer"}


def user_no_repository(endpoint: str) -> tuple[dict[str, str], dict[str, str]]:
    """User `dev` may pull, but no repository exists."""
    (iam,) = _clients(endpoint, "iam")
    return _user(iam, "dev", ECR_PULL), {"user": "dev"}


def bucket_policy_deny(endpoint: str) -> tuple[dict[str, str], dict[str, str]]:
    """Bucket `billing-exports` exists; its policy denies s3:GetObject to everyone."""
    iam, s3 = _clients(endpoint, "iam", "s3")
    s3.create_bucket(Bucket="billing-exports")
    s3.put_bucket_policy(
        Bucket="billing-exports",
        Policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Deny",
                        "Principal": "*",
                        "Action": "s3:GetObject",
                        "Resource": "arn:aws:s3:::billing-exports/*",
                    }
                ],
            }
        ),
    )
    return _user(iam, "analyst", ["s3:GetObject", "s3:ListBucket"]), {"bucket": "billing-exports"}


def bucket_missing(endpoint: str) -> tuple[dict[str, str], dict[str, str]]:
    """No bucket at all."""
    (iam,) = _clients(endpoint, "iam")
    return _user(iam, "analyst", ["s3:GetObject"]), {"bucket": "reports-archive"}


def instance_no_profile(endpoint: str) -> tuple[dict[str, str], dict[str, str]]:
    """An instance launched without an instance profile (egress open)."""
    iam, ec2 = _clients(endpoint, "iam", "ec2")
    return _user(iam, "ops", ["ec2:Describe*"]), {"instance": _instance(ec2, None, egress=True)}


def instance_no_egress(endpoint: str) -> tuple[dict[str, str], dict[str, str]]:
    """An instance with a profile whose security group allows no outbound traffic."""
    iam, ec2 = _clients(endpoint, "iam", "ec2")
    trust = _policy("Allow", ["sts:AssumeRole"], {"Service": "ec2.amazonaws.com"})
    iam.create_role(RoleName="app-role", AssumeRolePolicyDocument=trust)
    iam.create_instance_profile(InstanceProfileName="app-profile")
    iam.add_role_to_instance_profile(InstanceProfileName="app-profile", RoleName="app-role")
    return _user(iam, "ops", ["ec2:Describe*"]), {"instance": _instance(ec2, "app-profile", egress=False)}


AWS_SETUPS: dict[str, Callable[[str], tuple[dict[str, str], dict[str, str]]]] = {
    fn.__name__: fn
    for fn in (
        user_ecr_read,
        user_no_ecr,
        user_partial_ecr,
        user_no_repository,
        bucket_policy_deny,
        bucket_missing,
        instance_no_profile,
        instance_no_egress,
    )
}


class Worlds:
    """Starts moto's server once for a run (reset before each case) and tears everything down."""

    def __init__(self) -> None:
        self._moto: Any = None
        self.endpoint = ""

    def _moto_endpoint(self) -> str:
        if self._moto is None:
            try:
                from moto.server import ThreadedMotoServer
            except ImportError as exc:
                raise InputError("tool eval cases need moto[server]: pip install 'moto[server]'") from exc
            import logging
            import socket

            logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise
            with socket.socket() as sock:
                sock.bind(("127.0.0.1", 0))
                port = sock.getsockname()[1]
            self._moto = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
            self._moto.start()
            self.endpoint = f"http://127.0.0.1:{port}"
        return self.endpoint

    def close(self) -> None:
        if self._moto is not None:
            self._moto.stop()
            self._moto = None

    @contextmanager
    def applied(self, fixture: dict[str, Any]) -> Iterator[dict[str, str]]:
        """The fixture's world, live while the case runs; yields the values for `{name}`."""
        kind = fixture.get("kind")
        if kind == "aws":
            with self._aws(fixture) as values:
                yield values
        elif kind == "http":
            with _http_server(fixture) as values:
                yield values
        elif kind == "log":
            with _log_file(fixture) as values:
                yield values
        else:
            raise InputError(f"unknown tool_fixture kind {kind!r} (aws, http or log)")

    @contextmanager
    def _aws(self, fixture: dict[str, Any]) -> Iterator[dict[str, str]]:
        import urllib.request

        setup = AWS_SETUPS.get(fixture.get("setup", ""))
        if setup is None:
            raise InputError(f"unknown aws fixture {fixture.get('setup')!r}; known: {', '.join(AWS_SETUPS)}")
        endpoint = self._moto_endpoint()
        urllib.request.urlopen(
            urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST"), timeout=10
        )
        saved = {key: os.environ.get(key) for key in _AWS_ENV}
        credentials, values = setup(endpoint)
        os.environ.pop("AWS_PROFILE", None)
        os.environ.update(AWS_ENDPOINT_URL=endpoint, AWS_DEFAULT_REGION=REGION, **credentials)
        try:
            yield values
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


@contextmanager
def _http_server(fixture: dict[str, Any]) -> Iterator[dict[str, str]]:
    """A server that answers every request with the fixture's status, headers and body."""
    status = int(fixture.get("status", 200))
    headers = dict(fixture.get("headers", {}))
    body = str(fixture.get("body", "")).encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_HEAD = do_GET  # noqa: N815

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield {"endpoint": f"http://127.0.0.1:{server.server_address[1]}"}
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def _log_file(fixture: dict[str, Any]) -> Iterator[dict[str, str]]:
    with tempfile.TemporaryDirectory(prefix="nanoscale-eval-") as folder:
        path = Path(folder) / str(fixture.get("name", "app.log"))
        path.write_text("\n".join(fixture.get("lines", [])) + "\n", encoding="utf-8")
        yield {"log": str(path)}


def fill(text: str, values: dict[str, str]) -> str:
    """`{name}` placeholders replaced by the fixture's values."""
    for name, value in values.items():
        text = text.replace(f"{{{name}}}", value)
    return text
