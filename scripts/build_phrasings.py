"""Build data/signals/phrasings.jsonl: the hand-written lines plus seeded template expansions.

Hand-written lines (data/signals/handwritten.txt) carry most of every label; the templates add
near-miss pairs (the same situation with and without the missing fact) so a classifier learns
the difference rather than the topic. Deterministic: the same inputs give the same file.

Decontaminated: a line whose MiniLM cosine to any sealed test question (data/eval/test) reaches the
seal check's threshold, or that equals one, is left out, so the classifier never trains on a
near copy of what it is reported on (scripts/check_sealed.py enforces the same rule).

    PYTHONPATH=. python scripts/build_phrasings.py
"""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

from nanoscale.jsonl import write_jsonl

ROOT = Path(__file__).resolve().parents[1]
HANDWRITTEN = ROOT / "data" / "signals" / "handwritten.txt"
OUT = ROOT / "data" / "signals" / "phrasings.jsonl"
SEED = 20260501
SLOT_ORDER = ("region", "account", "service", "logs", "endpoint", "method", "auth")

Example = tuple[str, list[str], str]

# Region-scoped AWS resources and troubles that come with evidence (an error or a status), and
# whether the region is still needed: True where the status only says something is wrong, so the
# next step is inspecting the resource (or the answer depends on the region); False where the
# quoted error already names a cause whose fix is the same in every region (README, "region").
AWS_TROUBLE = [
    ("my ec2 instance", "fails its status check (1/2 checks passed)", True),
    ("the EKS cluster", "shows nodes NotReady after the upgrade", True),
    ("our ECS service", "can't place tasks: no container instance met all of its requirements", True),
    ("the lambda function", "hits Task timed out after 15.00 seconds", False),
    ("our RDS instance", "is stuck in storage-full", False),
    ("the ALB", "returns 502 Bad Gateway", True),
    ("the target group", "reports all targets unhealthy", True),
    ("our ECR repo", "rejects the push with no basic auth credentials", False),
    ("the nat gateway", "drops connections with ErrorPortAllocation", False),
    ("the SQS queue", "has messages stuck in flight", False),
    ("the cloudformation stack", "is stuck in UPDATE_ROLLBACK_FAILED", True),
    ("the autoscaling group", "fails to launch: InsufficientInstanceCapacity", True),
    ("the dynamodb table", "throws ProvisionedThroughputExceededException", False),
    ("the EKS node group", "is stuck in CREATE_FAILED", True),
    ("our fargate task", "stops with CannotPullContainerError", True),
    ("the EFS mount on the instance", "fails with mount.nfs4: Connection timed out", True),
    ("the cloudwatch alarm", "stays in INSUFFICIENT_DATA", False),
    ("the elasticache cluster", "refuses connections from the app subnet", True),
    ("the api gateway stage", "returns 504 after 29 seconds", False),
    ("the new instance", "gets no public IP in the public subnet", False),
]
# Troubles with no evidence at all: region and logs are both missing.
AWS_NO_EVIDENCE = [
    ("my lambda", "keeps failing"),
    ("the ECS service", "won't start"),
    ("our fargate task", "keeps crashing"),
    ("the codebuild project", "fails every run"),
    ("the step functions execution", "failed"),
    ("the glue job", "failed overnight"),
    ("our batch job", "failed again"),
    ("the ECS scheduled task", "doesn't work anymore"),
]
REGION_FORMS = [
    "in eu-west-1",
    "in us-east-1",
    "(us-west-2)",
    "in Frankfurt",
    "in ap-southeast-2",
    "in the eu-central-1a AZ",
    "in N. Virginia",
    "in Ireland",
    "in ca-central-1",
    "in Tokyo",
    "in sa-east-1",
    "in us-east-2b",
    "in Oregon",
    "in eu-north-1",
    "in ap-south-1",
    "in London",
]
AWS_OPENERS = ["", "hi, ", "help: ", "urgent - ", "quick question, ", "since this morning "]

K8S_WORKLOADS = [
    ("deployment", "payments"),
    ("job", "nightly-export"),
    ("cronjob", "db-backup"),
    ("statefulset", "kafka"),
    ("daemonset", "node-agent"),
    ("pod", "api-7d9f5"),
    ("deployment", "frontend"),
    ("job", "reindex"),
    ("pod", "worker-0"),
    ("deployment", "auth-svc"),
]
K8S_NO_EVIDENCE = [
    "What is the issue with {kind} {name}?",
    "why did {kind} {name} fail?",
    "what's wrong with {kind} {name}",
    "{kind} {name} is not working",
    "{kind} {name} keeps failing",
    "can you tell me why {kind} {name} is broken",
    "{name} {kind} fails after the deploy",
]
K8S_EVIDENCE = [
    "{kind} {name} is in CrashLoopBackOff, last state OOMKilled",
    "{kind} {name}: Back-off restarting failed container, exit code 1",
    "{kind} {name} pod status ImagePullBackOff: manifest unknown",
    "{kind} {name} failed: BackoffLimitExceeded, logs say ConnectionRefusedError: [Errno 111]",
    "{kind} {name}: Warning FailedScheduling 0/3 nodes are available: 3 Insufficient memory",
    '{kind} {name} stuck with CreateContainerConfigError: secret "app-env" not found',
]
K8S_FORBIDDEN = [
    'pods "{name}-{h}" is forbidden: exceeded quota: {q}, requested: limits.cpu={n}, used: limits.cpu={m}, limited: limits.cpu={t}',
    'Error from server (Forbidden): error when creating "{name}.yaml": pods "{name}" is forbidden: exceeded quota: {q}',
    'pods "{name}-{h}" is forbidden: maximum memory usage per Container is {n}Gi, but limit is {t}Gi',
    'pods "{name}" is forbidden: minimum cpu usage per Container is {n}00m, but request is {m}0m',
    'Error creating: pods "{name}-{h}" is forbidden: failed quota: {q}: must specify limits.memory',
    'deployments.apps "{name}" is forbidden: User "ci-bot" cannot patch resource "deployments" in the namespace "{q}"',
    'why does my rollout fail with pods "{name}-{h}" is forbidden: exceeded quota: {q}?',
]
DOCKER_REGISTRY = [
    "docker pull {img}: toomanyrequests: You have reached your pull rate limit",
    "Error response from daemon: pull access denied for {img}, repository does not exist or may require 'docker login'",
    "our CI gets toomanyrequests pulling {img} from docker hub",
    "ImagePullBackOff: pull access denied for {img}",
    "429 Too Many Requests from registry-1.docker.io when pulling {img}",
    'Failed to pull image "{img}": toomanyrequests: You have reached your unauthenticated pull rate limit',
    "denied: requested access to the resource is denied when pushing {img}",
]
IMAGES = [
    "acme/api:1.2",
    "nginx:1.27",
    "myorg/worker:latest",
    "postgres:16",
    "teamx/etl:3.1",
    "redis:7-alpine",
]

CI_NO_EVIDENCE = [
    "why did the {job} job fail?",
    "the {job} job is red",
    "{job} failed again on main",
    "what's wrong with our {job} pipeline",
    "{job} step broke overnight",
]
CI_EVIDENCE = [
    "{job} job: Error: Process completed with exit code 2.",
    "{job} step fails with npm ERR! code ELIFECYCLE",
    "{job} job: ERROR: Job failed: exit code 137",
    "{job} fails: fatal: unable to access 'https://git.acme.io/app.git/': SSL certificate problem",
    "{job} stage: ModuleNotFoundError: No module named 'yaml'",
]
CI_JOBS = ["build", "deploy", "lint", "integration-test", "release", "docker-publish", "e2e"]

LINUX_NO_EVIDENCE = [
    "{svc} won't start after the update",
    "{svc} keeps crashing on the server",
    "the {svc} service fails at boot",
    "what's wrong with {svc} on web01?",
]
LINUX_EVIDENCE = [
    "{svc}.service: Main process exited, code=exited, status=1/FAILURE",
    "{svc}.service: Failed with result 'exit-code'. journalctl shows: bind: address already in use",
    "{svc}[2211]: fatal: permission denied opening /etc/{svc}/config",
    "journalctl -u {svc}: {svc}.service: Start request repeated too quickly.",
]
LINUX_SERVICES = ["nginx", "postgresql", "redis", "haproxy", "grafana", "prometheus", "sshd", "mongod"]

API_STATUSES_AUTH = ["401", "401 Unauthorized", "403 Forbidden", "403", "unauthorized"]
API_STATUSES_OTHER = [
    "404",
    "500 Internal Server Error",
    "422 Unprocessable Entity",
    "429 Too Many Requests",
    "400 Bad Request",
    "503",
    "a timeout",
]
API_PATHS = [
    "/v1/orders",
    "/api/users/12",
    "/v2/invoices",
    "/graphql",
    "/internal/health/deep",
    "https://api.acme.io/v1/items",
    "https://billing.corp.dev/api/charges",
]
API_METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH"]
API_AUTHS = [
    "with a bearer token",
    "using our api key",
    "with basic auth",
    "with the oauth2 client credentials token",
]
API_SUBJECTS = ["our API", "the orders API", "our backend API", "the partner API", "the payments REST API"]

PLAIN = [
    "how do I {x}?",
    "what's the best way to {x}",
    "can you explain how to {x}",
]
HOWTOS = [
    "rotate IAM access keys",
    "read a secret from Secrets Manager in python",
    "write a Dockerfile for a go app",
    "set up a readiness probe",
    "cache pip dependencies in github actions",
    "import a resource into terraform",
    "limit memory for a docker container",
    "give a pod an IAM role on EKS",
    "find large files on linux",
    "tail logs of all pods with a label",
]
IAM_NONE = [
    "User: arn:aws:iam::{acct}:user/{u} is not authorized to perform: {action} on resource: {res}",
    "An error occurred (AccessDenied) when calling the {op} operation: User: arn:aws:sts::{acct}:assumed-role/{u}/x is not authorized",
    "s3 returns 403 AccessDenied on {op} for bucket {b}",
    "An error occurred (ExpiredToken) when calling the {op} operation: The security token included in the request is expired",
]
IAM_ACTIONS = [
    ("ecr:GetAuthorizationToken", "*", "GetAuthorizationToken"),
    ("ec2:DescribeInstances", "*", "DescribeInstances"),
    ("s3:GetObject", "arn:aws:s3:::data-lake/raw/x.csv", "GetObject"),
    ("lambda:InvokeFunction", "*", "Invoke"),
    ("kms:Decrypt", "*", "Decrypt"),
    ("sts:AssumeRole", "arn:aws:iam::210987654321:role/ops", "AssumeRole"),
]


def read_handwritten(path: Path = HANDWRITTEN) -> list[Example]:
    """`slots | domain | text` lines; '-' is no slot, a literal \\n is a line break."""
    examples = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        labels, domain, text = (part.strip() for part in line.split(" | ", 2))
        slots = [] if labels == "-" else labels.split(",")
        examples.append((text.replace("\\n", "\n"), slots, domain))
    return examples


def templated(rng: random.Random) -> list[Example]:
    """Near-miss pairs from the template tables, sampled with a fixed seed."""
    out: list[Example] = []
    for resource, trouble, needs_region in AWS_TROUBLE:
        for _ in range(2):
            opener, where = rng.choice(AWS_OPENERS), rng.choice(REGION_FORMS)
            out.append((f"{opener}{resource} {trouble}", ["region"] if needs_region else [], "aws"))
            out.append((f"{opener}{resource} {where} {trouble}", [], "aws"))
    for resource, trouble in AWS_NO_EVIDENCE:
        for _ in range(2):
            opener, where = rng.choice(AWS_OPENERS), rng.choice(REGION_FORMS)
            out.append((f"{opener}{resource} {trouble}", ["region", "logs"], "aws"))
            out.append((f"{opener}{resource} {where} {trouble}", ["logs"], "aws"))
    for kind, name in K8S_WORKLOADS:
        for template in rng.sample(K8S_NO_EVIDENCE, 3):
            out.append((template.format(kind=kind, name=name), ["logs"], "kubernetes"))
        for template in rng.sample(K8S_EVIDENCE, 3):
            out.append((template.format(kind=kind, name=name), [], "kubernetes"))
    for template in K8S_FORBIDDEN:
        for _ in range(4):
            name = rng.choice(["web", "api", "batch", "etl", "runner", "cache"])
            n, m = rng.randint(1, 4), rng.randint(5, 9)
            out.append(
                (
                    template.format(
                        name=name,
                        h=f"{rng.randrange(16**5):05x}",
                        q=rng.choice(["team-a", "compute-quota", "ns-limits", "prod-rq"]),
                        n=n,
                        m=m,
                        t=m + n - 1,
                    ),
                    [],
                    "kubernetes",
                )
            )
    for template in DOCKER_REGISTRY:
        for image in rng.sample(IMAGES, 4):
            out.append((template.format(img=image), [], "docker"))
    for job in CI_JOBS:
        for template in rng.sample(CI_NO_EVIDENCE, 3):
            out.append((template.format(job=job), ["logs"], "cicd"))
        for template in rng.sample(CI_EVIDENCE, 3):
            out.append((template.format(job=job), [], "cicd"))
    for svc in LINUX_SERVICES:
        for template in rng.sample(LINUX_NO_EVIDENCE, 2):
            out.append((template.format(svc=svc), ["logs"], "linux"))
        for template in rng.sample(LINUX_EVIDENCE, 2):
            out.append((template.format(svc=svc), [], "linux"))
    out += api_examples(rng)
    for x in HOWTOS:
        out.append(
            (rng.choice(PLAIN).format(x=x), [], rng.choice(["aws", "docker", "kubernetes", "linux", "cicd"]))
        )
    for template in IAM_NONE:
        for action, res, op in rng.sample(IAM_ACTIONS, 4):
            acct = "".join(rng.choice("0123456789") for _ in range(12))
            out.append(
                (
                    template.format(
                        acct=acct,
                        u=rng.choice(["ci", "dev", "deployer"]),
                        action=action,
                        res=res,
                        op=op,
                        b=rng.choice(["logs-bkt", "assets"]),
                    ),
                    [],
                    "aws",
                )
            )
    return out


def api_examples(rng: random.Random) -> list[Example]:
    """The same failing request with endpoint, method and auth each given or not."""
    out: list[Example] = []
    for _ in range(14):
        subject, status = rng.choice(API_SUBJECTS), rng.choice(API_STATUSES_AUTH)
        method, path, auth = rng.choice(API_METHODS), rng.choice(API_PATHS), rng.choice(API_AUTHS)
        out.append((f"{subject} returns {status}", ["endpoint", "method", "auth"], "api"))
        out.append((f"{method} {path} returns {status} {auth}", [], "api"))
        if rng.random() < 0.5:
            out.append((f"{path} returns {status}", ["auth"], "api"))
    for _ in range(12):
        subject, status = rng.choice(API_SUBJECTS), rng.choice(API_STATUSES_OTHER)
        method, path = rng.choice(API_METHODS), rng.choice(API_PATHS)
        out.append((f"{subject} returns {status} since the release", ["endpoint", "method"], "api"))
        out.append((f"{method} {path} returns {status} since the release", [], "api"))
    return out


def build() -> list[dict]:
    rng = random.Random(SEED)
    rows, seen = [], set()
    for source, examples in (("hand", read_handwritten()), ("template", templated(rng))):
        for text, slots, domain in examples:
            if text.lower() in seen:
                continue
            seen.add(text.lower())
            ordered = [slot for slot in SLOT_ORDER if slot in slots]
            rows.append({"text": text, "slots": ordered, "domain": domain, "source": source})
    return rows


def decontaminate(rows: list[dict]) -> tuple[list[dict], int]:
    """The rows not near any sealed test question, and how many were dropped."""
    from check_sealed import gives_away

    keep = [
        row for row, near in zip(rows, gives_away([row["text"] for row in rows]), strict=True) if not near
    ]
    return keep, len(rows) - len(keep)


def main() -> None:
    rows, dropped = decontaminate(build())
    print(f"left out {dropped} lines near a sealed test question")
    write_jsonl(OUT, rows)
    by_label: Counter = Counter()
    for row in rows:
        for label in row["slots"] or ["(none)"]:
            by_label[(label, row["source"])] += 1
    print(f"{len(rows)} phrasings -> {OUT.relative_to(ROOT)}")
    for label in (*SLOT_ORDER, "(none)"):
        print(
            f"  {label:9s} hand {by_label[(label, 'hand')]:4d}  template {by_label[(label, 'template')]:4d}"
        )
    print("  domains:", dict(Counter(row["domain"] for row in rows)))


if __name__ == "__main__":
    main()
