"""The local executor: each execution is papermill running the notebook in a kernel on this machine.

It lives in the worker process (see ``jupyter_dataops.worker``): :meth:`LocalExecutor.open` starts a
small pool of fresh, never-reused kernels (forked from a pre-imported zygote where that is exactly
equivalent, see ``zygote.py``), and each execution runs in a thread of its own. Stopping an
execution kills its kernel; nbclient then notices within a second and the thread reports.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import threading
import time
import traceback
from pathlib import Path
from typing import Any

from traitlets import Bool, Float, Int, default

from ...core.jobs.executor import ExecutionRequest, ExecutionUpdate, Executor, Report, StopReason
from ...core.jobs.models import ExecutorCapabilities, JobError

log = logging.getLogger("jupyter_dataops.worker")


@dataclasses.dataclass
class _Execution:
    request: ExecutionRequest
    km: Any = None
    stop_reason: StopReason | None = None
    thread: threading.Thread | None = None


class LocalExecutor(Executor):
    """Runs jobs with papermill on this machine. Example: ``c.LocalExecutor.max_concurrent_jobs = 4``"""

    name = "local"

    max_concurrent_jobs = Int(
        help="Jobs run at once. Default: the number of CPU cores. "
        "Example: c.LocalExecutor.max_concurrent_jobs = 4",
    ).tag(config=True)

    kernel_pool_size = Int(
        2,
        help="Fresh kernels kept started for the most used kernel names, so a job does not wait "
        "for a kernel start; 0 starts each job's kernel on demand. Each costs ~40 MB of memory. "
        "Example: c.LocalExecutor.kernel_pool_size = 1",
    ).tag(config=True)

    fork_kernels = Bool(
        True,
        help="Fork Python kernels from a process that has already imported ipykernel (a "
        "'zygote') instead of starting each from scratch: about twice the kernel starts per CPU "
        "second. Each kernel is still a new, never-reused process. Only kernels that would run "
        "ipykernel with exactly the worker's interpreter and environment are forked; others "
        "start the usual way. Example: c.LocalExecutor.fork_kernels = False",
    ).tag(config=True)

    cell_timeout = Float(
        0.0,
        help="Limit for a single cell, in seconds (0: none). Whole-job limits are per job. "
        "Example: c.LocalExecutor.cell_timeout = 600",
    ).tag(config=True)

    @default("max_concurrent_jobs")
    def _default_concurrency(self) -> int:
        return max(1, os.cpu_count() or 1)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._report: Report | None = None
        self._executions: dict[str, _Execution] = {}
        self._lock = threading.Lock()
        self.pool: Any = None
        self.fork_server: Any = None
        self.default_kernel = getattr(self.dataops, "default_kernel_name", None) or "python3"

    def capabilities(self) -> ExecutorCapabilities:
        return ExecutorCapabilities(
            name=self.name,
            cancel=True,
            logs=True,
            follow_logs=True,
            progress=True,
            gpus=False,
            max_concurrent_jobs=self.max_concurrent_jobs,
        )

    def check(self, *, kernel_name: str, notebook_path: str) -> None:
        url = getattr(self.dataops, "job_files_url", "") or ""
        if "://" in url and not url.startswith(("file://", "local://")):
            from ...core.errors import BackendUnavailable

            raise BackendUnavailable(
                f"The local executor runs jobs on this machine and needs their files here, but "
                f"c.DataOps.job_files_url is {url!r}.",
                hint="Use a local folder (or file://) with the local executor; object storage is "
                "for executors that run jobs elsewhere.",
            )

    # -- in the worker ------------------------------------------------------------------------
    def open(self, report: Report) -> None:
        from .kernels import KernelPool
        from .zygote import ForkServer

        self._report = report
        # Import papermill (seconds) while the pool starts kernels, before the first job.
        threading.Thread(target=_warm_imports, daemon=True, name="warm-imports").start()
        if self.fork_kernels:
            self.fork_server = ForkServer()
        self.pool = KernelPool(
            self.kernel_pool_size, default_kernel=self.default_kernel, fork_server=self.fork_server
        )

    def start(self, request: ExecutionRequest) -> None:
        execution = _Execution(request)
        with self._lock:
            self._executions[request.execution_id] = execution
        # A daemon: a job stuck in a library call must never keep a stopping worker alive.
        execution.thread = threading.Thread(
            target=self._run, args=(execution,), name=f"job-{request.job_id}", daemon=True
        )
        execution.thread.start()

    def stop(self, execution_id: str, reason: StopReason) -> None:
        with self._lock:
            execution = self._executions.get(execution_id)
        if execution is None:
            return
        execution.stop_reason = reason
        _kill_kernel(execution.km)

    def running(self) -> set[str]:
        with self._lock:
            return set(self._executions)

    def close(self) -> None:
        with self._lock:
            executions = list(self._executions.values())
        for execution in executions:
            execution.stop_reason = execution.stop_reason or "shutdown"
            _kill_kernel(execution.km)
        for execution in executions:
            if execution.thread is not None:
                execution.thread.join(timeout=30)
        if self.pool is not None:
            self.pool.close()
        if self.fork_server is not None:
            self.fork_server.close()

    # -- one execution ------------------------------------------------------------------------
    def _send(self, update: ExecutionUpdate) -> None:
        if self._report is not None:
            self._report(update)

    def _run(self, execution: _Execution) -> None:
        from .kernels import close_thread_loop

        request = execution.request
        update = ExecutionUpdate(request.execution_id, "exited", outcome="lost")
        try:
            Path(request.log_uri).parent.mkdir(parents=True, exist_ok=True)
            with open(request.log_uri, "a", encoding="utf-8") as joblog:
                update = self._execute(execution, joblog)
        except Exception:  # a bug here must not kill the worker or leave the job running
            log.exception("job %s crashed its runner thread", request.job_id)
            update = ExecutionUpdate(
                request.execution_id,
                "exited",
                outcome="failed",
                error=JobError(
                    ename="InternalError",
                    evalue="The worker failed to run the job; its log (dataops worker status) "
                    "has the details.",
                ),
            )
        finally:
            # Report first: shutting the kernel down takes a while, and the job is over.
            with self._lock:
                self._executions.pop(request.execution_id, None)
            if execution.km is not None:
                update = dataclasses.replace(update, usage=kernel_usage(execution.km))
            self._send(update)
            if execution.km is not None:
                with contextlib.suppress(Exception):
                    execution.km.stop_clients()
                with contextlib.suppress(Exception):
                    if execution.km.is_alive():
                        execution.km.shutdown_kernel(now=True)
            close_thread_loop()

    def _acquire(self, kernel_name: str, write: Any) -> tuple[Any, bool]:
        """A started kernel; one that dies while starting is replaced once. Two processes
        that start kernels pick their ports by binding to port 0 and letting go (a known race
        of jupyter_client, jupyter/jupyter_client#487): a kernel may find its port taken."""
        from .kernels import KernelDied

        try:
            return self.pool.acquire(kernel_name)  # type: ignore[no-any-return]
        except KernelDied as exc:
            write(f"the kernel died while starting ({exc.description}); starting another")
            return self.pool.acquire(kernel_name)  # type: ignore[no-any-return]

    def _execute(self, execution: _Execution, joblog: Any) -> ExecutionUpdate:
        from .kernels import KernelDied, describe_kernel_exit, run_silently

        request = execution.request
        eid = request.execution_id

        def write(line: str) -> None:
            joblog.write(f"[{time.strftime('%H:%M:%S')}] {line}\n")
            joblog.flush()

        def stopped() -> ExecutionUpdate:
            write(f"stopped ({execution.stop_reason})")
            return ExecutionUpdate(eid, "exited", outcome="stopped")

        write(
            f"attempt {request.attempt}: {request.notebook_path} on kernel {request.kernel_name} "
            f"with parameters {json.dumps(request.parameters)[:2000]}"
        )
        self._send(ExecutionUpdate(eid, "pending", reason="starting a kernel"))
        try:
            km, warm = self._acquire(request.kernel_name, write)
        except Exception as exc:
            if execution.stop_reason:
                return stopped()
            write(f"the kernel did not start: {exc}")
            return ExecutionUpdate(
                eid,
                "exited",
                outcome="failed",
                error=JobError(ename="KernelStartError", evalue=f"The kernel did not start: {exc}"),
            )
        execution.km = km
        if execution.stop_reason:  # stopped while the kernel was starting
            return stopped()
        self._send(ExecutionUpdate(eid, "running"))
        write(f"kernel ready ({'from the pool' if warm else 'started for this job'})")
        cwd = Path(request.root_dir, request.notebook_path).parent
        try:
            if cwd.is_dir():
                # Run where the notebook lives, as JupyterLab would, so relative paths work.
                run_silently(km, _setup_code(str(cwd), request.env), timeout=30)
        except KernelDied as exc:
            if execution.stop_reason:
                return stopped()
            return self._died(write, eid, str(exc))

        cells_done = [0]

        def on_cell(event: str, cell: Any, index: int) -> None:
            if cell.get("cell_type") != "code":
                return
            if event == "start":
                self._send(
                    ExecutionUpdate(
                        eid, "progress", cells_completed=cells_done[0], current_cell=index
                    )
                )
            elif event == "complete":
                cells_done[0] += 1
                for stream, line in stream_lines(cell):
                    write(f"cell {index} {stream}: {line}")

        from papermill import execute_notebook
        from papermill.engines import papermill_engines
        from papermill.exceptions import PapermillExecutionError

        from .engine import DataOpsEngine, stream_lines

        papermill_engines.register("dataops", DataOpsEngine)
        try:
            execute_notebook(
                request.input_uri,
                request.output_uri,
                parameters=request.parameters,
                kernel_name=request.kernel_name,
                # Notebooks that name no language (older formats, other tools) still get their
                # parameters in the kernel's language.
                language=getattr(km.kernel_spec, "language", None) or None,
                engine_name="dataops",
                km=km,
                progress_bar=False,
                log_output=False,
                execution_timeout=self.cell_timeout or None,
                dataops_listener=on_cell,
            )
        except PapermillExecutionError as exc:
            if execution.stop_reason:
                return stopped()
            error = JobError(
                cell_index=exc.cell_index,
                ename=exc.ename,
                evalue=exc.evalue,
                traceback=list(exc.traceback or []),
            )
            write(f"failed in cell {exc.cell_index}: {exc.ename}: {exc.evalue}")
            return ExecutionUpdate(eid, "exited", outcome="failed", error=error)
        except Exception as exc:
            if execution.stop_reason:
                return stopped()
            cause = describe_kernel_exit(km)
            if cause is not None:
                return self._died(write, eid, cause)
            log.warning(
                "job %s failed in the executor:\n%s", request.job_id, traceback.format_exc()
            )
            write(f"failed: {type(exc).__name__}: {exc}")
            return ExecutionUpdate(
                eid,
                "exited",
                outcome="failed",
                error=JobError(ename=type(exc).__name__, evalue=_first_line(str(exc))),
            )
        if execution.stop_reason:
            # It finished before the stop reached it: it did complete.
            write(f"completed before it could be stopped ({execution.stop_reason})")
        write(f"completed: {cells_done[0]} code cells")
        return ExecutionUpdate(eid, "exited", outcome="succeeded", cells_completed=cells_done[0])

    @staticmethod
    def _died(write: Any, eid: str, cause: str) -> ExecutionUpdate:
        text = cause[0].upper() + cause[1:]
        write(text)
        return ExecutionUpdate(
            eid, "exited", outcome="failed", error=JobError(ename="DeadKernelError", evalue=text)
        )


def _first_line(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= 500 else line[:499] + "…"


def _setup_code(cwd: str, env: dict[str, str]) -> str:
    """What a job's kernel runs before the notebook: its folder, and its identity for %dataops
    (a pooled kernel was started before the job was known)."""
    lines = ["import os as __o", f"__o.chdir({cwd!r})"]
    for name, value in sorted(env.items()):
        lines.append(f"__o.environ[{name!r}] = {value!r}")
    lines.append("del __o")
    return "\n".join(lines)


def _kill_kernel(km: Any) -> None:
    """Kill a kernel's process from any thread: a signal, never the manager's shutdown (which
    the execution's own thread is using)."""
    if km is None:
        return
    with contextlib.suppress(Exception):
        process = getattr(km.provisioner, "process", None)
        if process is not None:
            process.kill()
            return
    with contextlib.suppress(Exception):
        km.shutdown_kernel(now=True)


def _warm_imports() -> None:
    with contextlib.suppress(Exception):
        import papermill  # noqa: F401


__all__ = ["LocalExecutor"]


def kernel_usage(km: Any) -> dict[str, float] | None:
    """What a job's kernel used, read before it is shut down: CPU seconds (its process and
    children), peak memory (the kernel's high-water mark of resident memory), wall time since it
    started, and GPU-seconds (the GPUs it was shown in CUDA_VISIBLE_DEVICES times that)."""
    import psutil

    pid = getattr(getattr(km, "provisioner", None), "pid", None)
    if pid is None:
        process = getattr(km, "kernel_process", None) or getattr(
            getattr(km, "provisioner", None), "process", None
        )
        pid = getattr(process, "pid", None)
    if pid is None:
        return None
    try:
        process = psutil.Process(int(pid))
        with process.oneshot():
            times = process.cpu_times()
            cpu = times.user + times.system + times.children_user + times.children_system
            wall = max(0.0, time.time() - process.create_time())
            peak = process.memory_info().rss
            with contextlib.suppress(OSError, ValueError):
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        peak = max(peak, int(line.split()[1]) * 1024)
            devices = ""
            with contextlib.suppress(psutil.Error):
                devices = process.environ().get("CUDA_VISIBLE_DEVICES", "")
        for child in process.children(recursive=True):
            with contextlib.suppress(psutil.Error):
                t = child.cpu_times()
                cpu += t.user + t.system
    except (psutil.Error, ValueError):
        return None
    gpus = len([d for d in devices.split(",") if d.strip()])
    return {
        "cpu_seconds": round(cpu, 3),
        "gpu_seconds": round(gpus * wall, 3),
        "peak_memory_bytes": int(peak),
        "wall_seconds": round(wall, 3),
    }
