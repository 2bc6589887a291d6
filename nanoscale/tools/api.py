"""The API tool: one probe of an endpoint, bounded in time, redirects and bytes.

GET/HEAD/OPTIONS unless configured; no credentials are sent; the cloud metadata service is
refused whatever name or redirect leads there.
"""

from __future__ import annotations

from nanoscale.tools.findings import Finding

METADATA_ADDRESSES = frozenset({"169.254.169.254", "fd00:ec2::254"})
_SHOWN_HEADERS = (
    "content-type",
    "content-length",
    "www-authenticate",
    "retry-after",
    "location",
    "server",
    "access-control-allow-origin",
    "access-control-allow-methods",
    "access-control-allow-headers",
    "x-amzn-errortype",
    "x-amzn-requestid",
    "x-request-id",
)


class ProbeRefused(PermissionError):
    """The probe would reach a forbidden address or use a method that is not allowed."""


def _check_target(url: str) -> None:
    import ipaddress
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ProbeRefused(f"only http(s) URLs with a host can be probed, not '{url[:80]}'")
    host = parts.hostname
    try:
        infos = socket.getaddrinfo(host, parts.port or (443 if parts.scheme == "https" else 80))
    except socket.gaierror as exc:
        raise ProbeRefused(f"cannot resolve {host}: {exc.strerror}") from exc
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%")[0])
        mapped = getattr(address, "ipv4_mapped", None)
        if str(address) in METADATA_ADDRESSES or (mapped and str(mapped) in METADATA_ADDRESSES):
            raise ProbeRefused(f"{host} resolves to the cloud metadata service; probing it is never allowed")


def probe(
    url: str,
    method: str = "GET",
    timeout_s: float = 10.0,
    max_bytes: int = 65_536,
    max_redirects: int = 3,
    allowed_methods: tuple[str, ...] | list[str] = ("GET", "HEAD", "OPTIONS"),
) -> dict:
    """One request to the endpoint, following at most `max_redirects` redirects (each hop checked),
    reading at most `max_bytes` of the body. Sends no credentials."""
    import time

    import httpx

    method = method.upper()
    if method not in {m.upper() for m in allowed_methods}:
        raise ProbeRefused(
            f"method {method} is not allowed for probes (allowed: {', '.join(allowed_methods)})"
        )
    hops: list[str] = []
    started = time.perf_counter()
    with httpx.Client(timeout=timeout_s, follow_redirects=False, trust_env=False) as client:
        current = url
        for _ in range(max_redirects + 1):
            _check_target(current)
            with client.stream(method, current) as response:
                if response.is_redirect and "location" in response.headers:
                    hops.append(f"{response.status_code} -> {response.headers['location']}")
                    current = str(response.url.join(response.headers["location"]))
                    continue
                body = b""
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) >= max_bytes:
                        break
                truncated = len(body) >= max_bytes
                return {
                    "url": current,
                    "method": method,
                    "status": response.status_code,
                    "reason": response.reason_phrase,
                    "headers": {k: v for k, v in response.headers.items() if k.lower() in _SHOWN_HEADERS},
                    "redirects": hops,
                    "elapsed_ms": round((time.perf_counter() - started) * 1000),
                    "body": body[:max_bytes].decode("utf-8", errors="replace"),
                    "truncated": truncated,
                }
    raise ProbeRefused(f"more than {max_redirects} redirects: {'; '.join(hops)}")


def describe_probe(result: dict) -> str:
    headers = ", ".join(f"{k}: {v}" for k, v in result["headers"].items())
    body = " ".join(result["body"].split())[:400]
    redirects = f"; redirects {' | '.join(result['redirects'])}" if result["redirects"] else ""
    return (
        f"{result['method']} {result['url']} -> {result['status']} {result['reason']} in {result['elapsed_ms']} ms"
        f"{redirects}; headers {headers or '-'}; body{' (truncated)' if result['truncated'] else ''}: {body or '-'}"
    )


def probe_finding(result: dict) -> Finding:
    """The probe as a finding: the status code it saw (and the headers that explain it)."""
    status = result["status"]
    explain = {
        key: result["headers"][key] for key in ("www-authenticate", "retry-after") if key in result["headers"]
    }
    extra = "".join(f"; {key}: {value}" for key, value in explain.items())
    return Finding(
        "api.probe",
        f"{result['method']} {result['url']}",
        "ok" if status < 400 else "problem",
        f"{result['method']} {result['url']} answered {status} {result['reason']}{extra}",
        describe_probe(result),
        {
            "url": result["url"],
            "method": result["method"],
            "status_code": status,
            "reason": result["reason"],
            **{key.replace("-", "_"): value for key, value in explain.items()},
        },
    )
