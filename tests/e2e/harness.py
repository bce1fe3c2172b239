"""Start real MCP peers and the gateway binary on 127.0.0.1, and talk to them.

Every wait polls for a condition with a deadline; every process is stopped by PID by
the Launcher that started it.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import httpx2
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures"
TOOLS = Path(os.environ.get("SWITCHBOARD_TOOLS_DIR", Path.home() / ".cache/switchboard/tools"))
NODE_MODULES = TOOLS / "npm" / "node_modules"
INSTALL_HINT = "install the pinned test tools with ./tests/setup-tools.sh"
API_VERSION = "switchboard.dev/v1alpha1"
READY_PREFIX = "Switchboard gateway ready at "
METRICS_PREFIX = "Switchboard metrics at "
MODES = ["legacy", "auto", "2026-07-28"]
LATEST_LEGACY_VERSION = "2025-11-25"
MODERN_VERSION = "2026-07-28"


SUMMARIES: list[str] = []  # printed at the end of the pytest run (see conftest.py)


def require(path: Path, hint: str = INSTALL_HINT) -> Path:
    if not path.exists():
        pytest.fail(f"{path} not found: {hint}", pytrace=False)
    return path


def bin_dir() -> Path:
    if "SWITCHBOARD_BIN_DIR" in os.environ:
        return Path(os.environ["SWITCHBOARD_BIN_DIR"])
    target = os.environ.get("CARGO_TARGET_DIR", str(Path.home() / ".cache/switchboard/target"))
    return Path(target) / "debug"


def switchboard_bin() -> Path:
    return require(
        bin_dir() / "switchboard",
        "build it with `cargo build --workspace --bins` (./tests/run-all.sh does) "
        "or point SWITCHBOARD_BIN_DIR at the directory holding it",
    )


def node20() -> str:
    import shutil

    node = shutil.which("node")
    if node is None:
        pytest.fail("system `node` (v20+) not found: apt-get install -y nodejs npm", pytrace=False)
    return node


def node22() -> str:
    return str(require(NODE_MODULES / "node" / "bin" / "node"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(condition: Callable[[], Any], timeout: float, what: str, interval: float = 0.05) -> Any:
    """Poll `condition` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


class Process:
    """A child process whose combined output goes to a log file (and, optionally, a line hook)."""

    def __init__(self, name: str, argv: list[str], log_dir: Path, env: dict[str, str] | None = None,
                 on_line: Callable[[str], None] | None = None, *, keep_stdin: bool = False,
                 on_stderr_line: Callable[[str], None] | None = None):
        """`keep_stdin`: give the child a stdin pipe, closed by `stop` (for peers that exit when
        stdin closes). `on_stderr_line`: keep stderr apart from stdout (its own log file and line
        hook) instead of merging it into stdout."""
        self.name = name
        self.argv = argv
        self.log_path = log_dir / f"{name}.log"
        self.stderr_log_path: Path | None = None
        full_env = {**os.environ, **(env or {})}
        self._log = open(self.log_path, "w", buffering=1)
        split = on_stderr_line is not None
        self.popen = subprocess.Popen(
            argv, stdin=subprocess.PIPE if keep_stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE if split else subprocess.STDOUT,
            env=full_env, cwd=log_dir, text=True, start_new_session=True,
        )
        self.pid = self.popen.pid
        self._reader = threading.Thread(
            target=self._pump, args=(self.popen.stdout, self._log, on_line), daemon=True)
        self._reader.start()
        self._stderr_reader: threading.Thread | None = None
        self._stderr_log = None
        if split:
            self.stderr_log_path = log_dir / f"{name}.stderr.log"
            self._stderr_log = open(self.stderr_log_path, "w", buffering=1)
            self._stderr_reader = threading.Thread(
                target=self._pump, args=(self.popen.stderr, self._stderr_log, on_stderr_line),
                daemon=True)
            self._stderr_reader.start()

    @staticmethod
    def _pump(stream: Any, log: Any, on_line: Callable[[str], None] | None) -> None:
        assert stream is not None
        for line in stream:
            log.write(line)
            if on_line is not None:
                on_line(line.rstrip("\n"))

    def alive(self) -> bool:
        return self.popen.poll() is None

    def log(self) -> str:
        text = self.log_path.read_text(errors="replace")
        if self.stderr_log_path is not None:
            text += "\n--- stderr ---\n" + self.stderr_log_path.read_text(errors="replace")
        return text

    def kill(self) -> None:
        """SIGKILL by PID, as an upstream crash would look."""
        if self.alive():
            os.kill(self.pid, signal.SIGKILL)
        self.popen.wait(timeout=10)

    def stop(self) -> None:
        if self.popen.stdin is not None and not self.popen.stdin.closed:
            try:
                self.popen.stdin.close()
            except OSError:
                pass
        if self.alive():
            os.kill(self.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.kill(self.pid, signal.SIGKILL)
                self.popen.wait(timeout=10)
        self._reader.join(timeout=5)
        self._log.close()
        if self._stderr_reader is not None and self._stderr_log is not None:
            self._stderr_reader.join(timeout=5)
            self._stderr_log.close()


@dataclass
class Upstream:
    name: str
    port: int
    process: Process
    path: str = "/mcp"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.path}"


@dataclass
class Gateway:
    process: Process
    manifest_dir: Path
    lines: list[str] = field(default_factory=list)
    url: str = ""
    # Only with `split_stderr=True`: then `lines` is standard output alone.
    stderr_lines: list[str] = field(default_factory=list)

    @property
    def base(self) -> str:
        return self.url.removesuffix("/mcp")

    @property
    def metrics_url(self) -> str:
        """From `Switchboard metrics at URL` (printed with `--admin-listen`)."""
        for line in list(self.lines):
            if line.startswith(METRICS_PREFIX):
                return line[len(METRICS_PREFIX):].strip()
        raise AssertionError(f"the gateway printed no {METRICS_PREFIX!r} line: {self.lines}")

    def audit_records(self) -> list[dict[str, Any]]:
        """Audit lines: the JSON objects on standard output (needs `split_stderr=True`)."""
        return [json.loads(line) for line in list(self.lines) if line.startswith("{")]

    @property
    def failed(self) -> dict[str, str]:
        """`target NAME failed: REASON` lines printed before the ready line."""
        out = {}
        for line in self.lines:
            if line.startswith("target ") and " failed:" in line:
                name, reason = line[len("target "):].split(" failed:", 1)
                out[name.strip()] = reason.strip()
        return out


class OAuthServer:
    """tests/fixtures/oauth_server.mjs: a real OAuth 2.0 / OIDC server (npm `oauth2-mock-server`)
    with /_test/ control routes to mint and forge tokens, add keys and count requests."""

    def __init__(self, process: Process, issuer: str, port: int, kid: str):
        self.process = process
        self.issuer = issuer
        self.port = port
        self.kid = kid

    @property
    def discovery_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"

    @property
    def token_url(self) -> str:
        return f"{self.issuer}/token"

    @property
    def jwks_url(self) -> str:
        return f"{self.issuer}/jwks"

    def _control(self, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        with httpx2.Client(timeout=30) as http:
            if body is None:
                response = http.get(f"{self.issuer}/_test/{path}")
            else:
                response = http.post(f"{self.issuer}/_test/{path}", json=body)
        assert response.status_code == 200, (path, response.status_code, response.text)
        return response.json()

    def mint(self, claims: dict[str, Any], expires_in: int = 3600, kid: str | None = None) -> str:
        """A token signed by the issuer's current key (or KID) with CLAIMS (None deletes one)."""
        body: dict[str, Any] = {"claims": claims, "expiresIn": expires_in}
        if kid is not None:
            body["kid"] = kid
        return self._control("token", body)["token"]

    def forge(self, kind: str, claims: dict[str, Any]) -> str:
        """none | hs256-public-key | foreign-key | tampered (see oauth_server.mjs)."""
        return self._control("forge", {"kind": kind, "claims": claims})["token"]

    def add_key(self, kid: str, sign: bool = True) -> str:
        return self._control("keys", {"kid": kid, "sign": sign})["kid"]

    def stats(self) -> dict[str, Any]:
        """{token, jwks, discovery} request counts and the last token request's parameters."""
        return self._control("stats")

    def token_endpoint(self, **behaviour: Any) -> dict[str, Any]:
        """{error, status, failures, ttl}: make the token endpoint fail or issue short tokens."""
        return self._control("token-endpoint", behaviour)

    def client_credentials(self, client_id: str, secret: str, **params: str) -> dict[str, Any]:
        with httpx2.Client(timeout=30) as http:
            response = http.post(self.token_url, auth=(client_id, secret),
                                 data={"grant_type": "client_credentials", **params})
        assert response.status_code == 200, (response.status_code, response.text)
        return response.json()


def secret_doc(name: str, string_data: dict[str, str] | None = None,
               data: dict[str, str] | None = None) -> dict[str, Any]:
    """A v1 Secret manifest (`switchboard local` loads them); DATA values are base64-encoded here."""
    import base64

    doc: dict[str, Any] = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name}}
    if string_data is not None:
        doc["stringData"] = string_data
    if data is not None:
        doc["data"] = {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}
    return doc


# The gateway's built-in tool search, listed first by every gateway (docs/search.md).
SEARCH_TOOL = "switchboard_search_tools"


def gateway_doc(name: str = "shop", **spec: Any) -> dict[str, Any]:
    return {"apiVersion": API_VERSION, "kind": "Gateway", "metadata": {"name": name},
            "spec": {"inboundAuth": {"type": "None"}, **spec}}


def target_doc(name: str, endpoint: str, gateway: str = "shop", **spec: Any) -> dict[str, Any]:
    return {"apiVersion": API_VERSION, "kind": "GatewayTarget", "metadata": {"name": name},
            "spec": {"gatewayRef": {"name": gateway}, "mcp": {"endpoint": endpoint}, **spec}}


class Launcher:
    """Starts peers and gateways for one test (or module) and stops them all, by PID."""

    def __init__(self, work_dir: Path):
        self.work_dir = work_dir
        self.processes: list[Process] = []
        self._count = 0

    def _start(self, name: str, argv: list[str], **kwargs: Any) -> Process:
        self._count += 1
        process = Process(f"{self._count:02d}-{name}", argv, self.work_dir, **kwargs)
        self.processes.append(process)
        return process

    def _serve_on_free_port(self, name: str, argv_for: Callable[[int], list[str]],
                            env_for: Callable[[int], dict[str, str]] = lambda p: {},
                            timeout: float = 30, port: int | None = None) -> tuple[int, Process]:
        """Start a server on a free port (or PORT) and wait until it accepts TCP; retry a lost
        port race."""
        for _ in range(1 if port else 3):
            chosen = port or free_port()
            process = self._start(name, argv_for(chosen), env=env_for(chosen))
            try:
                wait_until(lambda: port_open(chosen) or not process.alive(), timeout,
                           f"{name} to listen on 127.0.0.1:{chosen}")
            except TimeoutError:
                process.stop()
                raise AssertionError(f"{name} did not listen within {timeout}s:\n{process.log()}")
            if process.alive():
                return chosen, process
        raise AssertionError(f"{name} exited before listening:\n{process.log()}")

    def fixture(self, script: str, *args: str, name: str | None = None, port: int | None = None,
                env: dict[str, str] | None = None) -> Upstream:
        """Start tests/fixtures/SCRIPT --port P (a FastMCP server or a fake) on a free port."""
        require(FIXTURES / script)
        name = name or script.removesuffix(".py")
        port, process = self._serve_on_free_port(
            name, lambda p: [sys.executable, str(FIXTURES / script), "--port", str(p), *args],
            env_for=lambda p: env or {}, port=port)
        path = "/sse" if "sse" in args else "/mcp"
        return Upstream(name, port, process, path)

    def everything(self) -> Upstream:
        """@modelcontextprotocol/server-everything (handshake-era only) over streamable HTTP."""
        script = require(NODE_MODULES / "@modelcontextprotocol/server-everything/dist/index.js")
        port, process = self._serve_on_free_port(
            "everything", lambda p: [node20(), str(script), "streamableHttp"],
            env_for=lambda p: {"PORT": str(p)})
        return Upstream("everything", port, process)

    def gateway(self, docs: list[dict[str, Any]], *, session_key_file: Path | None = None,
                extra_args: tuple[str, ...] = (), timeout: float = 60, admin: bool = False,
                split_stderr: bool = False, env: dict[str, str] | None = None) -> Gateway:
        """Write DOCS as one multi-document manifest and start `switchboard local` on them.

        `admin`: also serve `/metrics` on an ephemeral port (`Gateway.metrics_url`).
        `split_stderr`: keep the logs (stderr) out of `Gateway.lines`, which then holds standard
        output alone (status lines and audit JSON lines); stderr goes to `stderr_lines`."""
        self._count += 1
        manifest_dir = self.work_dir / f"manifests-{self._count:02d}"
        manifest_dir.mkdir()
        (manifest_dir / "switchboard.yaml").write_text(yaml.safe_dump_all(docs, sort_keys=False))
        argv = [str(switchboard_bin()), "local", "-f", str(manifest_dir), "--listen", "127.0.0.1:0"]
        if session_key_file is not None:
            argv += ["--session-key-file", str(session_key_file)]
        if admin:
            argv += ["--admin-listen", "127.0.0.1:0"]
        argv += list(extra_args)
        lines: list[str] = []
        stderr_lines: list[str] = []
        process = self._start("gateway", argv, on_line=lines.append,
                              on_stderr_line=stderr_lines.append if split_stderr else None,
                              env={"RUST_BACKTRACE": "1", "NO_COLOR": "1", **(env or {})})
        gateway = Gateway(process, manifest_dir, lines, stderr_lines=stderr_lines)

        def ready() -> str | bool:
            for line in list(lines):
                if READY_PREFIX in line:
                    return line.split(READY_PREFIX, 1)[1].strip()
            return not process.alive() and "exited"

        try:
            found = wait_until(ready, timeout, "the gateway's ready line")
        except TimeoutError:
            raise AssertionError(f"gateway printed no ready line within {timeout}s:\n{process.log()}")
        if found == "exited":
            process.stop()  # joins the output readers, so the log below is complete
            raise AssertionError(f"gateway exited with {process.popen.returncode} before ready:\n"
                                 f"{process.log()}")
        gateway.url = found
        return gateway

    def oauth_server(self, clients: dict[str, str] | None = None, alg: str = "RS256",
                     timeout: float = 30) -> OAuthServer:
        """Start tests/fixtures/oauth_server.mjs on Node 22 (127.0.0.1, ephemeral port).
        CLIENTS (id → secret), when given, are the only clients the token endpoint accepts."""
        script = require(FIXTURES / "oauth_server.mjs")
        require(NODE_MODULES / "oauth2-mock-server")
        argv = [node22(), str(script), "--tools-dir", str(TOOLS), "--port", "0", "--alg", alg]
        if clients:
            argv += ["--clients", ",".join(f"{k}:{v}" for k, v in clients.items())]
        lines: list[str] = []
        process = self._start("oauth", argv, on_line=lines.append, keep_stdin=True)

        def announced() -> dict[str, Any] | str | None:
            for line in list(lines):
                if line.startswith("{"):
                    return json.loads(line)
            return None if process.alive() else "exited"

        try:
            found = wait_until(announced, timeout, "the OAuth server's ready line")
        except TimeoutError:
            raise AssertionError(f"OAuth server did not start within {timeout}s:\n{process.log()}")
        if found == "exited":
            raise AssertionError(f"OAuth server exited before ready:\n{process.log()}")
        return OAuthServer(process, found["issuer"], found["port"], found["kid"])

    def stop_all(self) -> None:
        for process in reversed(self.processes):
            process.stop()


def write_session_key(path: Path) -> Path:
    path.write_text(secrets.token_hex(32))
    return path


# --- MCP clients ---------------------------------------------------------------

class MemoryTokens:
    """Token storage for the SDK's OAuth client providers, kept in memory for one test."""

    def __init__(self):
        self.tokens = None
        self.client = None

    async def get_tokens(self):
        return self.tokens

    async def set_tokens(self, tokens):
        self.tokens = tokens

    async def get_client_info(self):
        return self.client

    async def set_client_info(self, client):
        self.client = client


def run(coro: Any, timeout: float = 60) -> Any:
    """Run one async client interaction with a hard deadline."""
    return asyncio.run(asyncio.wait_for(coro, timeout))


def connect(url: str, mode: str, **kwargs: Any):
    from mcp import Client

    return Client(url, mode=mode, cache=None, read_timeout_seconds=30, **kwargs)


async def list_all(client: Any, kind: str, max_pages: int = 500) -> list[Any]:
    """Every item of tools/resources/prompts/resource_templates, following nextCursor."""
    items: list[Any] = []
    cursor = None
    for _ in range(max_pages):
        page = await getattr(client, f"list_{kind}")(cursor=cursor)
        items += getattr(page, kind)
        cursor = page.next_cursor
        if not cursor:
            return items
    raise AssertionError(f"{kind} listing did not end within {max_pages} pages")


def text_of(result: Any) -> str:
    return "\n".join(getattr(block, "text", "") for block in result.content)


# --- raw HTTP --------------------------------------------------------------------

def legacy_headers(session_id: str | None = None, version: str = LATEST_LEGACY_VERSION) -> dict[str, str]:
    headers = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json",
               "MCP-Protocol-Version": version}
    if session_id:
        headers["Mcp-Session-Id"] = session_id
    return headers


def modern_request(method: str, params: dict[str, Any] | None = None, msg_id: int = 1
                   ) -> tuple[dict[str, str], dict[str, Any]]:
    """Headers and body of a stateless 2026-07-28 request, shaped as mcp 2.3.0 sends them."""
    meta = {"io.modelcontextprotocol/protocolVersion": MODERN_VERSION,
            "io.modelcontextprotocol/clientInfo": {"name": "switchboard-e2e", "version": "0"},
            "io.modelcontextprotocol/clientCapabilities": {}}
    headers = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json",
               "MCP-Protocol-Version": MODERN_VERSION, "Mcp-Method": method}
    if params and "name" in params:
        headers["Mcp-Name"] = params["name"]
    body = {"jsonrpc": "2.0", "id": msg_id, "method": method, "params": {**(params or {}), "_meta": meta}}
    return headers, body


def rpc_body(response: httpx2.Response) -> dict[str, Any]:
    """The JSON-RPC response in a JSON or SSE body (first message carrying an id)."""
    if response.headers.get("content-type", "").startswith("text/event-stream"):
        for line in response.text.splitlines():
            if line.startswith("data:"):
                message = json.loads(line[5:].strip() or "null")
                if isinstance(message, dict) and "id" in message:
                    return message
        raise AssertionError(f"no JSON-RPC response in SSE body: {response.text!r}")
    return response.json()


def http_client(timeout: float = 30) -> httpx2.Client:
    return httpx2.Client(timeout=timeout)


def legacy_handshake(http: httpx2.Client, url: str) -> str:
    """initialize + notifications/initialized over raw HTTP; returns the Mcp-Session-Id."""
    init = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
            "params": {"protocolVersion": LATEST_LEGACY_VERSION, "capabilities": {},
                       "clientInfo": {"name": "switchboard-e2e", "version": "0"}}}
    response = http.post(url, json=init, headers=legacy_headers())
    assert response.status_code == 200, (response.status_code, response.text)
    assert "result" in rpc_body(response), response.text
    session_id = response.headers.get("mcp-session-id")
    assert session_id, f"initialize answered without Mcp-Session-Id: {dict(response.headers)}"
    note = http.post(url, json={"jsonrpc": "2.0", "method": "notifications/initialized"},
                     headers=legacy_headers(session_id))
    assert note.status_code in (200, 202), (note.status_code, note.text)
    return session_id
