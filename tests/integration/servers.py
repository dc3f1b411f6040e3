"""Real redis-server processes for the integration tests.

Each server listens on a free loopback port picked at start-up, keeps its
files in a directory of its own and persists nothing, unless asked to keep an
append-only file (``appendonly=True``: a restarted server then has its data). `LocalRedisServer` is
one plain server, `LocalRedisCluster` three cluster nodes joined with
``redis-cli --cluster create``. The pytest fixtures in ``conftest.py`` wrap
them; this module does not depend on pytest.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import redis

LOOPBACK = "127.0.0.1"
CLUSTER_SLOTS = 16384
START_ATTEMPTS = 5
READY_TIMEOUT = 15.0
CLUSTER_READY_TIMEOUT = 60.0
# Low so that a killed node is noticed (and a restarted one forgiven) within
# seconds instead of Redis's default 15 s.
CLUSTER_NODE_TIMEOUT_MS = 2000


class ServerError(RuntimeError):
    """A Redis server or cluster could not be started or did not become ready."""


def require_executable(name: str) -> str:
    """Return the path of ``name`` on PATH, or fail saying how to install it."""
    path = shutil.which(name)
    if path is None:
        raise ServerError(
            f"{name!r} was not found on PATH. The integration tests start real Redis "
            "servers: run `make system-deps` (installs Debian's redis-server and "
            "redis-tools) or use `make test`."
        )
    return path


def find_free_port(exclude: Sequence[int] = ()) -> int:
    """Return a loopback TCP port that nothing listens on right now.

    The kernel picks it (bind to port 0); the socket is closed before the
    caller uses the port, so a race is possible and callers retry.
    """
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind((LOOPBACK, 0))
            port: int = sock.getsockname()[1]
        if port not in exclude:
            return port


def _wait_until(condition: Callable[[], bool], timeout: float, interval: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        if condition():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


class LocalRedisServer:
    """One redis-server process on a loopback port, nothing persisted.

    >>> server = LocalRedisServer(Path("/tmp/r1")); server.start()  # doctest: +SKIP
    >>> server.url  # doctest: +SKIP
    'redis://127.0.0.1:40123/0'
    >>> server.stop()  # doctest: +SKIP
    """

    def __init__(self, workdir: Path, *, cluster: bool = False, appendonly: bool = False) -> None:
        self.workdir = workdir
        self.cluster = cluster
        self.appendonly = appendonly
        self.host = LOOPBACK
        self.port = 0
        self.bus_port = 0
        self._process: subprocess.Popen[bytes] | None = None

    # -- addresses -----------------------------------------------------------

    @property
    def url(self) -> str:
        """``redis://127.0.0.1:PORT/0``."""
        self._require_started()
        return f"redis://{self.host}:{self.port}/0"

    @property
    def address(self) -> tuple[str, int]:
        """``(host, port)``."""
        self._require_started()
        return (self.host, self.port)

    @property
    def log_path(self) -> Path:
        """The file that the server's stdout and stderr go to."""
        return self.workdir / f"redis-{self.port}.log"

    @property
    def pid(self) -> int | None:
        """The process id while the process exists, else None."""
        return self._process.pid if self._process is not None else None

    def is_running(self) -> bool:
        """Whether the server process is alive."""
        return self._process is not None and self._process.poll() is None

    def client(self, timeout: float = 5.0) -> redis.Redis:
        """A new plain client to this server; close it (or use ``with``)."""
        self._require_started()
        return redis.Redis(
            host=self.host, port=self.port, socket_timeout=timeout, socket_connect_timeout=timeout
        )

    # -- life cycle ----------------------------------------------------------

    def start(self) -> None:
        """Start on fresh free ports, retrying when a port was taken meanwhile."""
        if self.is_running():
            raise ServerError(f"redis-server on port {self.port} is already running")
        self.workdir.mkdir(parents=True, exist_ok=True)
        failure = ""
        for _ in range(START_ATTEMPTS):
            self.port = find_free_port()
            self.bus_port = find_free_port(exclude=[self.port]) if self.cluster else 0
            if self._launch():
                return
            failure = self._read_log()
            if "in use" not in failure:
                break
        raise ServerError(self._failure_message("did not start", failure))

    def restart(self) -> None:
        """Start again on the same ports (a cluster node keeps its identity)."""
        if self.is_running():
            return
        if not self.port:
            raise ServerError("restart() needs a server that was started before")
        if not self._launch():
            raise ServerError(self._failure_message("did not restart", self._read_log()))

    def stop(self, timeout: float = 10.0) -> None:
        """Terminate the process (SIGTERM, then SIGKILL) and reap it."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def kill(self) -> None:
        """Kill the process abruptly (SIGKILL), as a crash would."""
        process, self._process = self._process, None
        if process is not None:
            process.kill()
            process.wait()

    # -- internals -----------------------------------------------------------

    def _command(self) -> list[str]:
        command = [
            require_executable("redis-server"),
            "--port",
            str(self.port),
            "--bind",
            self.host,
            "--save",
            "",
            "--appendonly",
            "yes" if self.appendonly else "no",
            # Each server its own file name: cluster nodes share the directory.
            "--appendfilename",
            f"appendonly-{self.port}.aof",
            "--appenddirname",
            f"appendonly-{self.port}",
            "--dir",
            str(self.workdir),
        ]
        if self.cluster:
            command += [
                "--cluster-enabled",
                "yes",
                "--cluster-config-file",
                str(self.workdir / f"nodes-{self.port}.conf"),
                # An explicit bus port: the default (port + 10000) may be taken
                # or even exceed 65535 for a kernel-picked port.
                "--cluster-port",
                str(self.bus_port),
                "--cluster-node-timeout",
                str(CLUSTER_NODE_TIMEOUT_MS),
            ]
        return command

    def _launch(self) -> bool:
        """Start the process and wait for PING; False when it exited early."""
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                self._command(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        if _wait_until(self._answers_as_itself, READY_TIMEOUT):
            return True
        if self.is_running():
            self.stop()
            raise ServerError(
                self._failure_message(
                    f"did not answer PING within {READY_TIMEOUT:.0f}s", self._read_log()
                )
            )
        self.stop()  # reap the exited process
        return False

    def _answers_as_itself(self) -> bool:
        """PING answers and the answering server is our process, not a stranger
        that grabbed the port between our probe and the server's bind."""
        process = self._process
        if process is None or process.poll() is not None:
            return True  # exited; _launch() looks at is_running() next
        try:
            with self.client(timeout=1.0) as client:
                if not client.ping():
                    return False
                info = client.info("server")
        except redis.RedisError:
            return False
        return bool(info.get("process_id") == process.pid)

    def _read_log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def _failure_message(self, what: str, log: str) -> str:
        return (
            f"redis-server on {self.host}:{self.port} {what}.\n"
            f"command: {' '.join(self._command())}\n"
            f"log ({self.log_path}):\n{log[-4000:] or '(empty)'}"
        )

    def _require_started(self) -> None:
        if not self.port:
            raise ServerError("the server has not been started")


class LocalRedisCluster:
    """A Redis Cluster of three primaries (no replicas) on loopback ports."""

    def __init__(self, workdir: Path, size: int = 3, *, appendonly: bool = False) -> None:
        if size < 3:
            raise ValueError(f"a Redis Cluster needs at least 3 primaries, got {size!r}")
        self.workdir = workdir
        self.servers = [
            LocalRedisServer(workdir, cluster=True, appendonly=appendonly) for _ in range(size)
        ]

    @property
    def nodes(self) -> list[tuple[str, int]]:
        """``(host, port)`` of every node, in start order."""
        return [server.address for server in self.servers]

    @property
    def url(self) -> str:
        """URL of the first node; cluster clients discover the others from it."""
        return self.servers[0].url

    def start(self) -> None:
        """Start the nodes, assign all slots with redis-cli and wait until healthy."""
        try:
            for server in self.servers:
                server.start()
            self._create()
            self.wait_until_healthy()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop every node."""
        for server in self.servers:
            server.stop()

    def kill_node(self, index: int) -> None:
        """Kill node ``index`` abruptly; `ensure_healthy()` brings it back."""
        self.servers[index].kill()

    def restart_node(self, index: int) -> None:
        """Start node ``index`` again on its ports and wait for a healthy cluster (so the
        other nodes must be up: after killing several, use `ensure_healthy()`)."""
        self.servers[index].restart()
        self.wait_until_healthy()

    def ensure_healthy(self) -> None:
        """Restart any node that is down, then wait until the cluster is healthy.

        Each node reloads its cluster config file (its id, its slots, the others'
        addresses), so the cluster comes back even after every node was killed.
        """
        for server in self.servers:
            if not server.is_running():
                server.restart()
        self.wait_until_healthy()

    def flush_primaries(self) -> None:
        """FLUSHALL on every primary (replicas follow, and refuse writes)."""
        for server in self.servers:
            with server.client() as client:
                role = client.execute_command("ROLE")
                if role[0] in (b"master", "master"):
                    client.flushall()

    def cluster_info(self, index: int) -> dict[str, str]:
        """CLUSTER INFO of node ``index`` as a dict of strings."""
        with self.servers[index].client() as client:
            raw = client.execute_command("CLUSTER INFO")
        if isinstance(raw, dict):  # redis-py parses the reply itself
            return {str(key): str(value) for key, value in raw.items()}
        text = raw.decode() if isinstance(raw, bytes) else str(raw)
        pairs = (line.split(":", 1) for line in text.splitlines() if ":" in line)
        return {key.strip(): value.strip() for key, value in pairs}

    def is_healthy(self) -> bool:
        """Every node runs and reports state ok, all slots served, all nodes known."""
        expected = {
            "cluster_state": "ok",
            "cluster_slots_assigned": str(CLUSTER_SLOTS),
            "cluster_slots_ok": str(CLUSTER_SLOTS),
            "cluster_known_nodes": str(len(self.servers)),
        }
        for index, server in enumerate(self.servers):
            if not server.is_running():
                return False
            try:
                info = self.cluster_info(index)
            except redis.RedisError:
                return False
            if any(info.get(key) != value for key, value in expected.items()):
                return False
        return True

    def wait_until_healthy(self, timeout: float = CLUSTER_READY_TIMEOUT) -> None:
        """Wait until `is_healthy()`, or fail showing every node's CLUSTER INFO."""
        if _wait_until(self.is_healthy, timeout, interval=0.1):
            return
        raise ServerError(
            f"the Redis Cluster was not healthy within {timeout:.0f}s:\n" + self._describe()
        )

    def _create(self) -> None:
        command = [
            require_executable("redis-cli"),
            "--cluster",
            "create",
            *(f"{host}:{port}" for host, port in self.nodes),
            "--cluster-replicas",
            "0",
            "--cluster-yes",
        ]
        try:
            result = subprocess.run(
                command,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=CLUSTER_READY_TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise ServerError(f"{' '.join(command)} timed out:\n{exc.output!r}") from exc
        if result.returncode != 0 or "[ERR]" in result.stdout:
            raise ServerError(
                f"{' '.join(command)} failed with exit code {result.returncode}:\n"
                f"{result.stdout}\n{result.stderr}\n" + self._describe()
            )

    def _describe(self) -> str:
        parts = []
        for index, server in enumerate(self.servers):
            try:
                info = repr(self.cluster_info(index)) if server.is_running() else "not running"
            except redis.RedisError as exc:
                info = f"CLUSTER INFO failed: {exc!r}"
            parts.append(
                f"node {index} {server.host}:{server.port}: {info}\n"
                f"log tail ({server.log_path}):\n{server._read_log()[-1500:]}"
            )
        return "\n".join(parts)
