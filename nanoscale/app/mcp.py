"""The MCP face: the engine as tools, resources and a prompt for agents and IDEs (`nanoscale mcp`).

Served over stdio (the default) or streamable HTTP on a loopback address, on the official SDK's
low-level server so that this module, not the SDK, decides what a client sees: tool input and
output schemas come from typed models, an expected failure is a tool error carrying the CLI's
one-line message, anything else is a generic error with the traceback kept in the server log,
and every result is redacted. Models load on the first call that needs them, so a client's
handshake and tool listing never wait for them. Read-only checks run only when the settings say
so, which `nanoscale mcp` ties to its `--execute-tools` flag.
"""

from __future__ import annotations

import importlib.metadata
import ipaddress
import json
import logging
import os
import sys
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from io import TextIOWrapper
from typing import Annotated, Any

import anyio
from mcp import types
from mcp.server.lowlevel import Server
from mcp.server.lowlevel.helper_types import ReadResourceContents
from mcp.shared.exceptions import McpError
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, WithJsonSchema, create_model

from nanoscale.config import Settings
from nanoscale.engine import AskResult, Engine, check_thread_id
from nanoscale.errors import InputError, NanoscaleError
from nanoscale.inputs import clean_text
from nanoscale.retrievers.search import Searcher
from nanoscale.retrievers.store import KnowledgeBaseStore, check_kb_name
from nanoscale.tools.logs import condense
from nanoscale.tools.redact import redact, redact_data

log = logging.getLogger("nanoscale.mcp")

MANIFEST_URI = "nanoscale://kb/{name}/manifest"
RESOURCE_NOT_FOUND = -32002  # the MCP specification's code for an unknown resource
INSTRUCTIONS = (
    "An offline DevOps troubleshooting assistant grounded in local knowledge bases. Call "
    "`troubleshoot` with the user's problem. When it returns status `needs_input`, ask the user its "
    "`text` and call `troubleshoot` again with their reply as `question` and the same `thread_id`. "
    "Show an answer with its sources; sentences in `unsupported_sentences` are not backed by the "
    "knowledge base and `invalid_aws_actions` do not exist."
)


# ---------------------------------------------------------------------------- typed schemas


class TroubleshootArgs(BaseModel):
    """One troubleshooting turn: a new question, or the reply on a thread that waits for one."""

    model_config = ConfigDict(extra="forbid")

    question: str = Field(
        description="The problem in the user's words (error text helps). On a thread that waits for a "
        "clarification, this is the user's reply to the question the tool relayed."
    )
    thread_id: str | None = Field(
        default=None,
        description="Continue this conversation (from a previous result's thread_id); omit to start one.",
    )
    region: str | None = Field(default=None, description="The AWS region, if known (e.g. eu-west-1).")
    logs: str | None = Field(
        default=None, description="Pasted logs or error output; condensed to the error lines if long."
    )
    endpoint: str | None = Field(
        default=None, description="The HTTP API endpoint involved, if any (e.g. https://api.example.com/v1)."
    )


class SearchArgs(BaseModel):
    """A search of the knowledge bases, without the model."""

    model_config = ConfigDict(extra="forbid")

    query: str = Field(description="What to look for, e.g. an error message or a symptom.")
    kb: str | None = Field(default=None, description="Only this knowledge base (default: all of them).")
    k: int = Field(default=5, ge=1, le=50, description="How many hits to return.")


class NoArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")


class KnowledgeHit(BaseModel):
    """A retrieved chunk, as `nanoscale search --json` prints it."""

    score: float = Field(description="Blended semantic and lexical score.")
    similarity: float = Field(description="Cosine similarity of the chunk to the query.")
    kb: str
    source: str = Field(description="File the chunk comes from, relative to its ingested folder.")
    title: str
    section: str = Field(description="Heading path of the chunk within its file.")
    line_start: int
    line_end: int
    text: str


class SearchResult(BaseModel):
    hits: list[KnowledgeHit]


class KnowledgeBaseInfo(BaseModel):
    name: str
    uri: str = Field(description="The resource holding this knowledge base's manifest.")
    chunks: int
    files: int
    embedding: str
    written_at: str | None = None


class KnowledgeBases(BaseModel):
    knowledge_bases: list[KnowledgeBaseInfo]


def search_args_model(kb_names: list[str]) -> type[SearchArgs]:
    """SearchArgs whose `kb` is an enum of the knowledge bases present when the server starts."""
    if not kb_names:
        return SearchArgs
    choice = Annotated[str, WithJsonSchema({"type": "string", "enum": kb_names})]
    kb_field = SearchArgs.model_fields["kb"]
    return create_model(
        "SearchArgs", __base__=SearchArgs, kb=(choice | None, Field(None, description=kb_field.description))
    )


# ---------------------------------------------------------------------------- what the tools do


def manifest_uri(name: str) -> str:
    return MANIFEST_URI.format(name=name)


def kb_from_uri(uri: str) -> str:
    """The knowledge-base name in a manifest URI; an InputError for any other URI."""
    prefix, suffix = MANIFEST_URI.split("{name}")
    if not (uri.startswith(prefix) and uri.endswith(suffix)):
        raise InputError(f"unknown resource '{uri}'; manifests are {MANIFEST_URI}")
    return check_kb_name(uri[len(prefix) : -len(suffix)])


def loopback_address(value: str) -> tuple[str, int]:
    """HOST:PORT for `--http`, refused unless HOST is loopback: the endpoint has no authentication."""
    host, sep, port = value.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise InputError(f"--http takes HOST:PORT with a port 1-65535 (e.g. 127.0.0.1:8765), not '{value}'")
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise InputError(
            f"--http serves without authentication, so only on loopback (127.0.0.1, ::1, localhost), not '{host}'"
        )
    return host, int(port)


def ask_json(result: AskResult) -> dict[str, Any]:
    """The `ask --json` object, redacted."""
    return redact_data(result.to_dict())


class Assistant:
    """The engine and a searcher sharing one embedding model and the loaded knowledge bases, built on
    first use; turns of the engine run one at a time (one model worker, as in the REST server)."""

    def __init__(self, settings: Settings, engine: Engine | None = None, searcher: Searcher | None = None):
        self.settings = settings
        self._engine = engine
        self._searcher = searcher
        self._embeddings: Any = None
        self._loading = threading.Lock()
        self._worker = threading.Lock()

    def kb_names(self) -> list[str]:
        """The knowledge bases this server searches: the configured ones, else every ingested one."""
        return self.settings.retrieval.knowledge_bases or KnowledgeBaseStore(self.settings.index_dir).names()

    def searcher(self) -> Searcher:
        with self._loading:
            if self._searcher is None:
                from nanoscale.models import load_embeddings
                from nanoscale.retrievers.retriever import open_searcher

                self._embeddings = load_embeddings(self.settings)
                self._searcher = open_searcher(self.settings, self._embeddings)
            return self._searcher

    def engine(self) -> Engine:
        searcher = self.searcher()
        with self._loading:
            if self._engine is None:
                from nanoscale.app.tracing import SQLiteTracer, TraceStore
                from nanoscale.resources import Resources
                from nanoscale.retrievers.retriever import KnowledgeBaseRetriever

                retriever = KnowledgeBaseRetriever(searcher=searcher, k=self.settings.retrieval.k)
                resources = Resources.load(self.settings, embeddings=self._embeddings, retriever=retriever)
                tracer = SQLiteTracer(TraceStore(self.settings.traces_path))
                self._engine = Engine(self.settings, resources=resources, callbacks=[tracer])
            return self._engine

    def slots(self, args: TroubleshootArgs) -> dict[str, str]:
        """The slot arguments that carry text, checked like the CLI's flags; logs condensed."""
        limits = self.settings.graph
        given = {}
        for name in ("region", "endpoint"):
            value = getattr(args, name)
            if value and value.strip():
                given[name] = clean_text(value, name, limits.max_question_chars)
        if args.logs and args.logs.strip():
            logs = clean_text(args.logs, "logs", limits.max_reply_chars)
            given["logs"] = condense(logs, self.settings.tools.logs_max_bytes)
        return given

    def troubleshoot(self, args: TroubleshootArgs) -> dict[str, Any]:
        """A new question, or a reply that resumes a waiting thread; slot arguments given on a
        waiting thread answer its clarification directly."""
        slots = self.slots(args)
        thread_id = check_thread_id(args.thread_id) if args.thread_id else None
        with self._worker:
            engine = self.engine()
            if slots and thread_id and engine.exists(thread_id) and engine.waiting(thread_id):
                result = engine.reply(thread_id, {"slots": slots})
            else:
                result = engine.send(args.question, thread_id, slots)
        return ask_json(result)

    def search(self, args: SearchArgs) -> dict[str, Any]:
        query = clean_text(args.query, "query", self.settings.graph.max_question_chars)
        hits = self.searcher().search(query, k=args.k, kbs=[args.kb] if args.kb else None)
        return redact_data({"hits": [hit.to_dict() for hit in hits]})

    def knowledge_bases(self, _: NoArgs) -> dict[str, Any]:
        store = KnowledgeBaseStore(self.settings.index_dir)
        rows = []
        for name in self.kb_names():
            manifest = store.read_manifest(name)
            rows.append(
                {
                    "name": name,
                    "uri": manifest_uri(name),
                    "chunks": manifest.get("count", 0),
                    "files": len(manifest.get("files", {})),
                    "embedding": manifest.get("embedding", {}).get("model", ""),
                    "written_at": manifest.get("written_at"),
                }
            )
        return redact_data({"knowledge_bases": rows})

    def manifest(self, name: str) -> dict[str, Any]:
        """A knowledge base's manifest with each file's chunk ids shown as a count."""
        manifest = KnowledgeBaseStore(self.settings.index_dir).read_manifest(name)
        files = {
            source: {**{k: v for k, v in entry.items() if k != "ids"}, "chunks": len(entry.get("ids", []))}
            for source, entry in manifest.get("files", {}).items()
        }
        return redact_data({**manifest, "files": files})


# ---------------------------------------------------------------------------- the MCP server


@dataclass
class ToolSpec:
    tool: types.Tool
    args: type[BaseModel]
    run: Callable[[Any], dict[str, Any]]


def tool_error(message: str) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(type="text", text=message)], isError=True)


def validation_message(exc: ValidationError) -> str:
    """One line for a pydantic error: `field: problem`."""
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "arguments"
    return f"invalid arguments: {where}: {first['msg']}"


def tool_specs(assistant: Assistant) -> dict[str, ToolSpec]:
    search_args = search_args_model(assistant.kb_names())
    execute = assistant.settings.tools.execute
    specs = [
        ToolSpec(
            types.Tool(
                name="troubleshoot",
                title="Troubleshoot a DevOps problem",
                description=(
                    "Diagnose an infrastructure or DevOps problem (AWS, Docker, Kubernetes, CI/CD, "
                    "Terraform, HTTP APIs, Linux) from local knowledge bases. Returns status `answer` "
                    "(answer, sources, unsupported_sentences, invalid_aws_actions) or `needs_input` with a "
                    "question in `text` to relay to the user; call again with their reply and the thread_id."
                    + (" Read-only AWS/API/log checks are enabled." if execute else "")
                ),
                inputSchema=TroubleshootArgs.model_json_schema(),
                outputSchema=TypeAdapter(AskResult).json_schema(),
                annotations=types.ToolAnnotations(
                    readOnlyHint=True, idempotentHint=False, openWorldHint=execute
                ),
            ),
            TroubleshootArgs,
            assistant.troubleshoot,
        ),
        ToolSpec(
            types.Tool(
                name="search_knowledge",
                title="Search the troubleshooting knowledge bases",
                description="Hybrid semantic and keyword search of the knowledge bases; hits carry their "
                "source file and section. No model is involved.",
                inputSchema=search_args.model_json_schema(),
                outputSchema=SearchResult.model_json_schema(),
                annotations=types.ToolAnnotations(readOnlyHint=True, openWorldHint=False),
            ),
            search_args,
            assistant.search,
        ),
        ToolSpec(
            types.Tool(
                name="list_knowledge_bases",
                title="List the knowledge bases",
                description="The knowledge bases this server searches, with their size and manifest URI.",
                inputSchema=NoArgs.model_json_schema(),
                outputSchema=KnowledgeBases.model_json_schema(),
                annotations=types.ToolAnnotations(readOnlyHint=True, openWorldHint=False),
            ),
            NoArgs,
            assistant.knowledge_bases,
        ),
    ]
    return {spec.tool.name: spec for spec in specs}


DIAGNOSE_PROMPT = types.Prompt(
    name="diagnose_error",
    title="Diagnose this error",
    description="Ask the troubleshooting assistant about an error, answering its clarification questions.",
    arguments=[
        types.PromptArgument(name="error", description="The error message or log excerpt.", required=True),
        types.PromptArgument(
            name="context", description="What you were doing and where it runs (optional).", required=False
        ),
    ],
)


def diagnose_prompt(arguments: dict[str, str] | None) -> types.GetPromptResult:
    error = (arguments or {}).get("error", "").strip()
    if not error:
        raise McpError(types.ErrorData(code=types.INVALID_PARAMS, message="diagnose_error needs an 'error'"))
    context = (arguments or {}).get("context", "").strip()
    text = (
        "Diagnose this error with the `troubleshoot` tool of the nanoscale server.\n\n"
        f"Error:\n```\n{error}\n```\n"
        + (f"\nContext: {context}\n" if context else "")
        + "\nIf the tool returns status `needs_input`, ask me its question and call `troubleshoot` again "
        "with my reply and the same `thread_id`. Then give me the answer with its sources, and say "
        "which sentences the tool marked as unsupported."
    )
    return types.GetPromptResult(
        description=DIAGNOSE_PROMPT.description,
        messages=[
            types.PromptMessage(role="user", content=types.TextContent(type="text", text=redact(text)))
        ],
    )


def build_server(assistant: Assistant) -> Server:
    server: Server = Server("nanoscale", version=importlib.metadata.version("nanoscale"), instructions=INSTRUCTIONS)
    specs = tool_specs(assistant)

    @server.list_tools()
    async def list_tools() -> list[types.Tool]:
        return [spec.tool for spec in specs.values()]

    @server.call_tool()
    async def call_tool(name: str, arguments: dict[str, Any]) -> dict[str, Any] | types.CallToolResult:
        spec = specs.get(name)
        if spec is None:
            return tool_error(f"unknown tool '{name}'; tools: {', '.join(specs)}")
        try:
            args = spec.args.model_validate(arguments)
            return await anyio.to_thread.run_sync(spec.run, args)
        except ValidationError as exc:
            return tool_error(validation_message(exc))
        except NanoscaleError as exc:
            return tool_error(redact(str(exc)))
        except Exception as exc:  # a bug: the client gets no internals, the log gets the traceback
            log.error("tool %s failed:\n%s", name, redact("".join(traceback.format_exception(exc))))
            return tool_error(f"internal error ({type(exc).__name__}); see the server log")

    @server.list_resources()
    async def list_resources() -> list[types.Resource]:
        return [
            types.Resource(
                uri=manifest_uri(name),  # type: ignore[arg-type]
                name=f"{name}-manifest",
                title=f"Knowledge base '{name}': manifest",
                description="Embedding model, chunking, and the ingested files with their SHA-256 and chunk counts.",
                mimeType="application/json",
            )
            for name in assistant.kb_names()
        ]

    @server.list_resource_templates()
    async def list_resource_templates() -> list[types.ResourceTemplate]:
        return [
            types.ResourceTemplate(
                uriTemplate=MANIFEST_URI,
                name="kb-manifest",
                title="Knowledge-base manifest",
                mimeType="application/json",
            )
        ]

    @server.read_resource()
    async def read_resource(uri: Any) -> list[ReadResourceContents]:
        try:
            manifest = assistant.manifest(kb_from_uri(str(uri)))
        except NanoscaleError as exc:
            raise McpError(types.ErrorData(code=RESOURCE_NOT_FOUND, message=str(exc))) from exc
        return [ReadResourceContents(content=json.dumps(manifest, indent=2), mime_type="application/json")]

    @server.list_prompts()
    async def list_prompts() -> list[types.Prompt]:
        return [DIAGNOSE_PROMPT]

    @server.get_prompt()
    async def get_prompt(name: str, arguments: dict[str, str] | None) -> types.GetPromptResult:
        if name != DIAGNOSE_PROMPT.name:
            raise McpError(types.ErrorData(code=types.INVALID_PARAMS, message=f"unknown prompt '{name}'"))
        return diagnose_prompt(arguments)

    return server


# ---------------------------------------------------------------------------- transports


def run_stdio(server: Server) -> None:
    """Serve on stdin/stdout until EOF. The protocol keeps a private copy of stdout and fd 1 is
    pointed at stderr, so a library that prints (or native code writing to fd 1) cannot corrupt it."""
    from mcp.server.stdio import stdio_server

    sys.stdout.flush()
    protocol = TextIOWrapper(os.fdopen(os.dup(sys.stdout.fileno()), "wb"), encoding="utf-8")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    sys.stdout = sys.stderr

    async def serve() -> None:
        async with stdio_server(stdout=anyio.wrap_file(protocol)) as (read, write):
            await server.run(read, write, server.create_initialization_options())

    anyio.run(serve)


class _Endpoint:
    """The session manager as an ASGI app (Starlette wraps plain functions as request handlers)."""

    def __init__(self, manager: Any) -> None:
        self.manager = manager

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.manager.handle_request(scope, receive, send)


def http_app(server: Server, host: str, port: int):
    """Streamable HTTP at /mcp, with the SDK's DNS-rebinding protection for loopback hosts."""
    from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
    from mcp.server.transport_security import TransportSecuritySettings
    from starlette.applications import Starlette
    from starlette.routing import Route

    named = f"[{host}]" if ":" in host else host
    hosts = sorted({named, "127.0.0.1", "localhost", "[::1]"})
    security = TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=[f"{h}:{port}" for h in hosts],
        allowed_origins=[f"http://{h}:{port}" for h in hosts],
    )
    manager = StreamableHTTPSessionManager(app=server, security_settings=security)
    return Starlette(routes=[Route("/mcp", endpoint=_Endpoint(manager))], lifespan=lambda _: manager.run())


def run_http(server: Server, host: str, port: int) -> None:
    import uvicorn

    named = f"[{host}]" if ":" in host else host
    print(f"MCP over streamable HTTP on http://{named}:{port}/mcp", file=sys.stderr)
    uvicorn.run(http_app(server, host, port), host=host, port=port, log_level="warning")
