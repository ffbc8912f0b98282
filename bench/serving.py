"""Benchmark: our model server beside ``mlflow models serve --env-manager local``.

One run on this machine, the same scikit-learn model (a LogisticRegression on scikit-learn's iris
data, fitted on a DataFrame so its signature names four double columns), logged once to a fresh
MLflow sqlite store and registered, served by each in turn (never both at once):

- the peer: ``mlflow models serve -m models:/bench-iris/1 --env-manager local -h 127.0.0.1 -p P``
  (the venv's bin/ on PATH: it execs ``uvicorn`` by name). Its default is one server process
  (``--workers`` / MLFLOW_MODELS_WORKERS unset: ``PyFuncBackend(workers=None)`` means 1);
- ours, the product's path: the version's file location from the registry (what
  ``EndpointService`` hands its servers, so they never open the registry), then
  ``LocalProcessTarget.start(spec)`` (``backends.local.serving``), which forks the server from
  the warm launcher (``backends.local.launcher``: MLflow, scikit-learn and
  uvicorn imported once) that the Jupyter server keeps running; the launcher is started
  (``start_launcher(wait=True)``) before any clock starts and stays up for the whole run;
- ours cold, a new interpreter: ``python -m jupyter_dataops.backends.local.model_server
  --model-uri ... --workers 1`` (shown beside the product's figure, and the server under load).

1. Launch to first successful response: from ``Popen`` (the peer, ours cold) or from
   ``target.start(spec)`` (ours via the launcher) until a POST /invocations with the payload
   answers 200 with the expected predictions, polled every 10 ms; --launches times each, the
   three kinds taking turns (rotated each round), median. THE launch figure is ours via the
   launcher against MLflow's; the cold one is printed beside it.
2. Throughput and latency: the same 1-row JSON payload (``dataframe_split``) at concurrency 1, 8
   and 32 against the peer and ours cold, from one load generator (--rounds runs per level and
   server, the servers taking turns A B B A so that other work on the machine falls on both
   alike): asyncio with raw keep-alive HTTP/1.1 connections in this process (one connection per
   concurrent client, each sending its next request when the answer to the last one has
   arrived), bounded by --seconds and --max-requests per level after --warmup seconds not
   counted. Every request runs the model: neither server caches answers. Reported: requests/s,
   p50/p99 latency, errors (anything but a 200 with the expected predictions' length, or a
   broken connection).
3. Publish, click to first successful response, on an MLflow store that exists already: the
   whole flow as the ``%dataops publish`` magic runs it, in process: the model settings
   (``EndpointService.settings``), ``publishing.log_model`` of a freshly trained
   LogisticRegression (trained before the clock, a new one each time), then
   ``EndpointService.publish(PublishRequest(model_uri=..., name="bench"))`` (register, alias,
   stop the previous version's server, fork the new one from the warm launcher, wait for
   its /ping), then the first POST /invocations answering 200 with that model's predictions.
   One untimed publish first (the experiment, the registered model and the endpoint exist
   after it), then --launches timed ones, each a new version of the endpoint on its port;
   phases and total per run, medians.

Goals (issue 9): ours >= 3x the peer's throughput at 8 and 32 with p99 <= 1/3 of the peer's;
launch to first response <= 1/2 of the peer's; publish to first response < 3 s.

Usage: ``python bench/serving.py [--seconds 5] [--warmup 1] [--max-requests 200000]
[--launches 3] [--rounds 2] [--timeout 900] [--json results.json]``; about three minutes here.
Everything lives in a temporary folder removed at the end (the endpoints on ports
18900-18999); the servers, the endpoints and the launcher are stopped by PID, also on failure,
Ctrl-C or --timeout.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _peer import give_up_after

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
LEVELS = (1, 8, 32)
THROUGHPUT_GOAL = 3.0
P99_GOAL = 1 / 3
LAUNCH_GOAL = 0.5
PUBLISH_GOAL = 3.0
MODEL_NAME = "bench-iris"
#: The endpoints' ports (c.DataOps.endpoint_port_min/max).
PORT_MIN, PORT_MAX = 18900, 18999
PEER = "mlflow models serve"
OURS = "jupyter-dataops"
#: Ours forked by the warm launcher (the product's path: LocalProcessTarget.start).
LAUNCHED = "jupyter-dataops, warm launcher"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_model(work: Path) -> tuple[str, dict[str, Any], list[Any], Any, Any]:
    """Log and register the model; the URI, the 1-row payload, model.predict's answer, and the
    training data (X, y)."""
    import mlflow
    from mlflow.models import infer_signature
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    mlflow.set_tracking_uri(f"sqlite:///{work}/mlflow.db")
    # Artifacts in the temporary folder (a sqlite store's default is ./mlruns).
    mlflow.set_experiment(
        experiment_id=mlflow.create_experiment(
            "bench", artifact_location=(work / "artifacts").as_uri()
        )
    )
    X, y = load_iris(return_X_y=True, as_frame=True)
    X.columns = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
    clf = LogisticRegression(max_iter=1000).fit(X, y)
    with mlflow.start_run():
        mlflow.sklearn.log_model(
            clf,
            name="model",
            signature=infer_signature(X, y),
            registered_model_name=MODEL_NAME,
            pip_requirements=["scikit-learn", "mlflow"],
        )
    row = X.iloc[[77]]
    payload = {"dataframe_split": {"columns": list(row.columns), "data": row.values.tolist()}}
    expected = mlflow.pyfunc.load_model(f"models:/{MODEL_NAME}/1").predict(row).tolist()
    return f"models:/{MODEL_NAME}/1", payload, expected, X, y


def request_bytes(port: int, body: bytes) -> bytes:
    return (
        b"POST /invocations HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
        b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (port, len(body), body)
    )


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = None
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    if length is None:
        raise ConnectionError("an answer without Content-Length")
    return status, await reader.readexactly(length)


async def _client(
    port: int,
    raw: bytes,
    expected: bytes,
    stop_at: float,
    count_from: float,
    budget: list[int],
    latencies: list[float],
    errors: list[int],
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while budget[0] > 0:
            now = time.perf_counter()
            if now >= stop_at:
                break
            writer.write(raw)
            try:
                status, body = await _read_response(reader)
            except (ConnectionError, asyncio.IncompleteReadError, ValueError):
                errors[0] += 1
                writer.close()
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                continue
            done = time.perf_counter()
            if now >= count_from:
                budget[0] -= 1
                if status != 200 or body != expected:
                    errors[0] += 1
                else:
                    latencies.append(done - now)
    finally:
        writer.close()


def load(
    port: int, body: bytes, expected: bytes, concurrency: int, args: argparse.Namespace
) -> tuple[list[float], int, float]:
    """One bounded closed-loop run: the latencies of the good answers, errors, seconds."""
    raw = request_bytes(port, body)
    latencies: list[float] = []
    errors = [0]
    budget = [args.max_requests]

    async def run() -> float:
        start = time.perf_counter()
        count_from = start + args.warmup
        stop_at = count_from + args.seconds
        await asyncio.gather(
            *(
                _client(port, raw, expected, stop_at, count_from, budget, latencies, errors)
                for _ in range(concurrency)
            )
        )
        return time.perf_counter() - count_from

    elapsed = asyncio.run(run())
    return latencies, errors[0], elapsed


def summary(concurrency: int, runs: list[tuple[list[float], int, float]]) -> dict[str, Any]:
    """Throughput, p50/p99 latency and errors over all the runs of one server at one level."""
    latencies = sorted(x for run in runs for x in run[0])
    ok = len(latencies)
    elapsed = sum(run[2] for run in runs)
    return {
        "concurrency": concurrency,
        "requests": ok,
        "errors": sum(run[1] for run in runs),
        "rps": ok / elapsed if elapsed > 0 else 0.0,
        "p50_ms": 1000 * latencies[ok // 2] if ok else float("nan"),
        "p99_ms": 1000 * latencies[min(ok - 1, int(ok * 0.99))] if ok else float("nan"),
    }


def post(port: int, body: bytes) -> tuple[int, bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(request_bytes(port, body))
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = s.recv(65536)
            if not chunk:
                raise ConnectionError("closed")
            data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        while len(rest) < length:
            chunk = s.recv(65536)
            if not chunk:
                break
            rest += chunk
        return int(head[9:12]), rest[:length]


class Served:
    """A server process, started now; ``launch`` is the time to its first 200 on the payload."""

    def __init__(self, name: str, cmd: list[str], port: int, env: dict[str, str], log: Path):
        self.name = name
        self.port = port
        self.log = log
        with open(log, "wb") as out:
            start = time.perf_counter()
            self.proc = subprocess.Popen(
                cmd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its uvicorn child goes with it (stopped by group)
            )
        self.launch = float("nan")
        self.start = start

    def wait_ready(self, body: bytes, timeout: float = 120) -> float:
        deadline = self.start + timeout
        while time.perf_counter() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                status, _ = post(self.port, body)
                if status == 200:
                    self.launch = time.perf_counter() - self.start
                    return self.launch
            except OSError:
                pass
            time.sleep(0.01)
        self.stop()
        tail = self.log.read_text(errors="replace")[-2000:]
        raise RuntimeError(f"{self.name} did not answer; its log ends:\n{tail}")

    def stop(self) -> None:
        if self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(20)


def first_answer(port: int, body: bytes, deadline: float, alive: Any = None) -> tuple[float, bytes]:
    """Poll POST /invocations every 10 ms until it answers 200: when it did and the answer;
    RuntimeError past ``deadline`` (perf_counter) or once ``alive()`` says the server is gone."""
    while time.perf_counter() < deadline:
        if alive is not None and not alive():
            raise RuntimeError("the server exited before answering")
        try:
            status, answer = post(port, body)
            if status == 200:
                return time.perf_counter(), answer
        except OSError:
            pass
        time.sleep(0.01)
    raise RuntimeError("no 200 on POST /invocations in time")


def check_answer(what: str, answer: bytes, expected: list[Any]) -> None:
    got = json.loads(answer)["predictions"]
    if got != expected:
        raise RuntimeError(f"{what} answered {answer!r}, not {expected}")


def dataops_services(work: Path, tracking_uri: str) -> Any:
    """The services as the Jupyter server builds them, on the bench's MLflow store (the local
    deployment target passes it to the servers as --tracking-uri), all in ``work``."""
    from jupyter_dataops.core.config import DataOps
    from jupyter_dataops.services import Services

    root = work / "root"
    root.mkdir(exist_ok=True)
    dataops = DataOps(
        root_dir=str(root),
        data_dir=str(work / "data"),
        mlflow_tracking_uri=tracking_uri,
        mlflow_artifact_location=str(work / "mlartifacts"),
        endpoint_port_min=PORT_MIN,
        endpoint_port_max=PORT_MAX,
        endpoint_start_timeout=90.0,
    )
    return Services.from_config(dataops, actor="bench")


def children_of(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (the servers a launcher forked and still runs)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_bytes().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(entry))
    return found


class LauncherPath:
    """Ours the product's way: ``LocalProcessTarget.start(spec)`` with the target's warm launcher
    running (started here, before any clock, as the Jupyter server keeps it)."""

    NAME = "bench-launch"

    def __init__(self, services: Any) -> None:
        from jupyter_dataops.backends.local.serving import process_identity

        self.target = services.endpoints.target
        #: The service resolves a version's files before it starts a server (so the server
        #: never opens the registry); the bench does the same, inside the clock.
        self.registry = services.endpoints.registry
        self.handles: list[Any] = []
        self.pid: int | None = None
        started = self.target.start_launcher(wait=True) and self.wait_warm()
        with contextlib.suppress(OSError, ValueError):
            pid, identity = self.target.pid_path.read_text().split()
            if process_identity(int(pid)) == identity:
                self.pid = int(pid)
        if not started or self.pid is None:
            self.stop()
            log = self.target.base / "launcher.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"the model server launcher did not start:\n{tail}")

    def wait_warm(self, timeout: float = 120) -> bool:
        """Until the launcher has done its imports: a launcher may accept connections (into its
        backlog) before, but it answers a request, here one it must refuse (no argv, so nothing
        is forked), only after. The Jupyter server's launcher is long warm when a user clicks."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
                    client.settimeout(max(0.1, deadline - time.monotonic()))
                    client.connect(str(self.target.socket_path))
                    client.sendall(b"{}\n")
                    if b"error" in client.makefile("rb").readline():
                        return True
            except OSError:
                pass
            time.sleep(0.05)
        return False

    def launch(self, uri: str, body: bytes, expected: list[Any], timeout: float = 60) -> float:
        """Seconds from ``target.start(spec)`` to the first 200; the server is stopped after."""
        from jupyter_dataops.core.endpoints.target import ServingSpec

        port = self.target.free_port("127.0.0.1", PORT_MIN, PORT_MAX, set())
        spec = ServingSpec(name=self.NAME, model_uri=uri, label="1", host="127.0.0.1", port=port)
        name, _, version = uri.removeprefix("models:/").partition("/")
        self.registry.download_uri(name, int(version))  # a warm client, as the server's is
        start = time.perf_counter()
        spec = dataclasses.replace(spec, model_uri=self.registry.download_uri(name, int(version)))
        handle = self.target.start(spec)
        self.handles.append(handle)
        try:
            try:
                done, answer = first_answer(
                    port, body, start + timeout, lambda: self.target.alive(handle)
                )
            except RuntimeError as exc:
                raise RuntimeError(
                    f"{LAUNCHED}: {exc}:\n{self.target.log_tail(self.NAME)}"
                ) from None
            # The product's path, not its fallback (a new interpreter when no launcher answers).
            parent = int(
                Path(f"/proc/{handle.pid}/stat").read_bytes().rsplit(b")", 1)[1].split()[1]
            )
            if parent != self.pid:
                raise RuntimeError(f"{LAUNCHED}: the server was not forked by the launcher")
            check_answer(LAUNCHED, answer, expected)
            return done - start
        finally:
            self.target.stop(handle, timeout=20)  # the next launch starts on a quiet machine

    def stop(self) -> None:
        """Stop what this launcher forked for us (by PID), then the launcher itself."""
        from jupyter_dataops.backends.local.serving import process_identity
        from jupyter_dataops.core.endpoints.target import Handle

        for handle in self.handles:
            self.target.stop(handle, timeout=20)
        if self.pid is not None:
            for child in children_of(self.pid):
                self.target.stop(Handle(child, process_identity(child)), timeout=20)
        self.target.stop_launcher()


def publish_once(
    services: Any, model: Any, X: Any, body: bytes, expected: list[Any], timeout: float = 60
) -> dict[str, float]:
    """Click to first successful response, the ``%dataops publish`` way: the model settings and
    ``log_model`` (kernel side), ``EndpointService.publish``, then the first 200 on the payload."""
    from jupyter_dataops import publishing
    from jupyter_dataops.core.endpoints.models import PublishRequest

    service = services.endpoints
    start = time.perf_counter()
    uri = publishing.log_model(model, service.settings(), example=X[:5], name="bench")
    logged = time.perf_counter()
    publication = service.publish(PublishRequest(model_uri=uri, name="bench"), actor="bench")
    published = time.perf_counter()
    try:
        done, answer = first_answer(publication.endpoint.port, body, published + timeout)
    except RuntimeError as exc:
        raise RuntimeError(f"the endpoint: {exc}:\n{service.target.log_tail('bench')}") from None
    check_answer("the published endpoint", answer, expected)
    return {
        "version": publication.endpoint.version,
        "port": publication.endpoint.port,
        "log_model_s": logged - start,
        "publish_s": published - logged,
        "first_answer_s": done - published,
        "total_s": done - start,
    }


def close_services(services: Any, launcher: LauncherPath | None) -> None:
    """Delete the endpoints (their servers stopped by PID), stop the launcher, close."""
    service = services.endpoints
    try:
        for endpoint in service.list().items:
            with contextlib.suppress(Exception):
                service.delete(endpoint.name, actor="bench")
    finally:
        try:
            if launcher is not None:
                launcher.stop()
            else:
                service.target.stop_launcher()
        finally:
            services.close()


def commands(uri: str, port: int) -> dict[str, list[str]]:
    return {
        "mlflow models serve": [
            str(BIN / "mlflow"),
            "models",
            "serve",
            "-m",
            uri,
            "--env-manager",
            "local",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
        ],
        "jupyter-dataops": [
            sys.executable,
            "-m",
            "jupyter_dataops.backends.local.model_server",
            "--model-uri",
            uri,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
            "--log-level",
            "warning",
        ],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="measured seconds per level")
    parser.add_argument("--warmup", type=float, default=1.0, help="unmeasured seconds per level")
    parser.add_argument("--max-requests", type=int, default=200_000, help="per level")
    parser.add_argument(
        "--launches", type=int, default=3, help="launches per kind, and timed publishes (median)"
    )
    parser.add_argument("--rounds", type=int, default=2, help="load runs per server and level")
    parser.add_argument(
        "--timeout", type=float, default=900.0, help="seconds before the whole run is given up"
    )
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()

    give_up_after(args.timeout)
    work = Path(tempfile.mkdtemp(prefix="dataops-bench-serving-"))
    served: list[Served] = []
    services: Any = None
    launcher: LauncherPath | None = None
    results: dict[str, Any] = {"servers": {}}
    try:
        print(
            f"{platform.python_implementation()} {platform.python_version()}, "
            f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}",
            flush=True,
        )
        print("logging and registering the model ...", flush=True)
        uri, payload, expected, X, y = make_model(work)
        body = json.dumps(payload).encode()
        print(f"model {uri}; payload {body.decode()} -> {expected}", flush=True)
        tracking_uri = f"sqlite:///{work}/mlflow.db"
        env = dict(os.environ, MLFLOW_TRACKING_URI=tracking_uri)
        env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
        env.pop("MLFLOW_MODELS_WORKERS", None)
        services = dataops_services(work, tracking_uri)
        print(
            "starting the warm launcher (kept running, as the Jupyter server does) ...", flush=True
        )
        launcher = LauncherPath(services)
        names = (PEER, OURS)
        kinds = (PEER, OURS, LAUNCHED)
        # Launches take turns (the order rotated each round; the last cold server of each stays
        # up for the load), so that work of other processes on the machine falls on all alike.
        launches: dict[str, list[float]] = {kind: [] for kind in kinds}
        live: dict[str, Served] = {}
        for i in range(args.launches):
            for kind in kinds[i % 3 :] + kinds[: i % 3]:
                if kind == LAUNCHED:
                    launches[kind].append(launcher.launch(uri, body, expected))
                    continue
                port = free_port()
                log = work / f"{kind.split()[0]}-{i}.log"
                server = Served(kind, commands(uri, port)[kind], port, env, log)
                served.append(server)
                launches[kind].append(server.wait_ready(body))
                if i < args.launches - 1:
                    server.stop()
                else:
                    live[kind] = server
        answers = {}
        for name, server in live.items():
            status, answer = post(server.port, body)
            got = json.loads(answer)["predictions"]
            if status != 200 or got != expected:
                raise RuntimeError(f"{name} answered {status} {answer!r}, not {expected}")
            answers[name] = answer
        for kind in kinds:
            print(
                f"{kind}: launch to first response {[round(x, 2) for x in launches[kind]]} s",
                flush=True,
            )
        levels: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
        for concurrency in LEVELS:
            runs: dict[str, list[tuple[list[float], int, float]]] = {name: [] for name in names}
            for r in range(args.rounds):  # ABBA...: the same share of the machine's noise
                for name in names if r % 2 == 0 else names[::-1]:
                    server = live[name]
                    runs[name].append(load(server.port, body, answers[name], concurrency, args))
            for name in names:
                result = summary(concurrency, runs[name])
                levels[name].append(result)
                print(
                    f"  {name:<20} c={concurrency:<3} {result['rps']:8.0f} req/s"
                    f"  p50 {result['p50_ms']:6.2f} ms  p99 {result['p99_ms']:6.2f} ms"
                    f"  errors {result['errors']}",
                    flush=True,
                )
        for name in names:
            live[name].stop()
            results["servers"][name] = {
                "launch_s": statistics.median(launches[name]),
                "launches_s": launches[name],
                "levels": levels[name],
            }
        results["launcher_launch_s"] = statistics.median(launches[LAUNCHED])
        results["launcher_launches_s"] = launches[LAUNCHED]

        from sklearn.linear_model import LogisticRegression

        def fresh(k: int) -> tuple[Any, list[Any]]:
            """A newly trained model (trained before any clock) and its answer on the row."""
            model = LogisticRegression(max_iter=1000, C=0.25 * (k + 1)).fit(X, y)
            return model, model.predict(X.iloc[[77]]).tolist()

        print("publishing once, not timed (the MLflow store and the endpoint exist after) ...")
        model, answer = fresh(0)
        publish_once(services, model, X, body, answer)
        publishes = []
        for k in range(1, args.launches + 1):
            model, answer = fresh(k)
            run = publish_once(services, model, X, body, answer)
            publishes.append(run)
            print(
                f"publish {k} (version {run['version']}, port {run['port']}): log_model "
                f"{run['log_model_s']:.2f} s, publish {run['publish_s']:.2f} s, first answer "
                f"{run['first_answer_s']:.2f} s; total {run['total_s']:.2f} s",
                flush=True,
            )
        results["publish"] = {
            "runs": publishes,
            **{
                phase: statistics.median(run[phase] for run in publishes)
                for phase in ("log_model_s", "publish_s", "first_answer_s", "total_s")
            },
        }
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except TimeoutError as exc:
        print(exc, file=sys.stderr)
        return 124
    finally:
        signal.alarm(0)
        try:
            for server in served:
                server.stop()
            if services is not None:
                close_services(services, launcher)
        finally:
            shutil.rmtree(work, ignore_errors=True)

    peer = results["servers"][PEER]
    ours = results["servers"][OURS]
    print()
    print(
        f"one server process each; {args.rounds} x {args.seconds:g} s per level and server "
        f"(each after {args.warmup:g} s of warm-up), the servers taking turns"
    )
    print(
        f"{'concurrency':>11} | {'MLflow req/s':>12} {'p50 ms':>7} {'p99 ms':>7} {'err':>4} | "
        f"{'ours req/s':>10} {'p50 ms':>7} {'p99 ms':>7} {'err':>4} | "
        f"{'throughput':>10} {'p99':>6}"
    )
    met = True
    for theirs, mine in zip(peer["levels"], ours["levels"], strict=True):
        ratio = mine["rps"] / theirs["rps"] if theirs["rps"] else float("inf")
        p99 = mine["p99_ms"] / theirs["p99_ms"]
        print(
            f"{theirs['concurrency']:>11} | {theirs['rps']:>12.0f} {theirs['p50_ms']:>7.2f} "
            f"{theirs['p99_ms']:>7.2f} {theirs['errors']:>4} | {mine['rps']:>10.0f} "
            f"{mine['p50_ms']:>7.2f} {mine['p99_ms']:>7.2f} {mine['errors']:>4} | "
            f"{ratio:>9.2f}x {p99:>5.2f}x"
        )
        if theirs["concurrency"] in (8, 32):
            met = met and ratio >= THROUGHPUT_GOAL and p99 <= P99_GOAL
    launch_ratio = results["launcher_launch_s"] / peer["launch_s"]
    cold_ratio = ours["launch_s"] / peer["launch_s"]
    print(f"launch to first response (median of {args.launches}):")
    print(f"  MLflow (mlflow models serve)                   {peer['launch_s']:5.2f} s")
    print(
        f"  ours, the product's path (warm launcher fork)  {results['launcher_launch_s']:5.2f} s: "
        f"{launch_ratio:.2f}x MLflow's  <- the launch figure"
    )
    print(
        f"  ours cold, a new interpreter                   {ours['launch_s']:5.2f} s: "
        f"{cold_ratio:.2f}x MLflow's"
    )
    pub = results["publish"]
    print(
        f"publish, click to first response (median of {args.launches}, MLflow store existing): "
        f"log_model {pub['log_model_s']:.2f} s, publish {pub['publish_s']:.2f} s, first answer "
        f"{pub['first_answer_s']:.2f} s; total {pub['total_s']:.2f} s"
    )
    publish_met = pub["total_s"] < PUBLISH_GOAL
    print(
        f"goals: throughput >= {THROUGHPUT_GOAL:g}x and p99 <= {P99_GOAL:.2f}x at 8 and 32: "
        f"{'met' if met else 'NOT met'}; launch <= {LAUNCH_GOAL:g}x (warm launcher): "
        f"{'met' if launch_ratio <= LAUNCH_GOAL else 'NOT met'}; "
        f"goal < {PUBLISH_GOAL:g} s: {'met' if publish_met else 'NOT met'}"
    )
    results["launch_ratio"] = launch_ratio
    results["cold_launch_ratio"] = cold_ratio
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
