"""What runs in a job's pod: ``python -m jupyter_dataops.backends.kubernetes.pod_runner``.

It reads its request from the job file store (``$DATAOPS_FILES_URL``, key
``$DATAOPS_REQUEST``): the staged notebook, its parameters and kernel. It runs the notebook with
papermill on a kernel in the pod, prints the job's log on stdout (the executor follows the pod's
log), with progress as ``::dataops-progress::`` lines, and puts the executed notebook and a
``result.json`` (the outcome and, on failure, the failing cell and its error) back in the store.
The exit code is 0 when the notebook completed, 1 when it failed, 143 when it was stopped.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

PROGRESS = "::dataops-progress::"


def say(line: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {line}", flush=True)


def progress(done: int, current: int | None) -> None:
    print(f"{PROGRESS}{json.dumps({'cells_completed': done, 'current_cell': current})}", flush=True)


class Stopped(BaseException):
    """SIGTERM: the Job was deleted (cancel, time limit or shutdown)."""


def _stop(*_: Any) -> None:
    raise Stopped()


def run(files_url: str, request_key: str) -> int:
    from ..files import FsspecFileStore

    store = FsspecFileStore(files_url)
    request = json.loads(store.read_bytes(request_key))
    result_key = request["result_key"]
    say(
        f"attempt {request['attempt']}: {request['notebook_path']} on kernel "
        f"{request['kernel_name']} in pod {os.environ.get('HOSTNAME', '?')} with parameters "
        f"{json.dumps(request['parameters'])[:2000]}"
    )
    # The kernel's identity for %dataops (the server's URL and a token bound to this job).
    os.environ.update({str(k): str(v) for k, v in (request.get("env") or {}).items()})
    work = Path(tempfile.mkdtemp(prefix="dataops-job-"))
    source, output = work / "input.ipynb", work / "output.ipynb"
    source.write_bytes(store.read_bytes(request["input_key"]))
    done = [0]
    result: dict[str, Any] = {"outcome": "failed", "cells_completed": 0}

    def on_cell(event: str, cell: Any, index: int) -> None:
        if cell.get("cell_type") != "code":
            return
        if event == "start":
            progress(done[0], index)
        elif event == "complete":
            done[0] += 1
            for stream, line in stream_lines(cell):
                say(f"cell {index} {stream}: {line}")
            progress(done[0], None)

    signal.signal(signal.SIGTERM, _stop)
    code = 1
    try:
        from papermill import execute_notebook
        from papermill.engines import papermill_engines
        from papermill.exceptions import PapermillExecutionError

        from ..local.engine import DataOpsEngine, stream_lines

        papermill_engines.register("dataops", DataOpsEngine)
        say("starting the kernel")
        try:
            execute_notebook(
                str(source),
                str(output),
                parameters=request["parameters"],
                kernel_name=request["kernel_name"],
                engine_name="dataops",
                cwd=str(work),
                progress_bar=False,
                log_output=False,
                dataops_listener=on_cell,
            )
        except PapermillExecutionError as exc:
            say(f"failed in cell {exc.cell_index}: {exc.ename}: {exc.evalue}")
            result["error"] = {
                "cell_index": exc.cell_index,
                "ename": exc.ename,
                "evalue": exc.evalue,
                "traceback": list(exc.traceback or []),
            }
        except Exception as exc:
            say(f"failed: {type(exc).__name__}: {exc}")
            result["error"] = {
                "ename": type(exc).__name__,
                "evalue": (str(exc).strip().splitlines() or [""])[0][:2000],
                "traceback": traceback.format_exc().splitlines()[-20:],
            }
        else:
            say(f"completed: {done[0]} code cells")
            result["outcome"] = "succeeded"
            code = 0
    except Stopped:
        say("stopped")
        result["outcome"] = "stopped"
        code = 143
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        result["cells_completed"] = done[0]
        if output.is_file():
            store.write_bytes(request["output_key"], output.read_bytes())
        store.write_bytes(result_key, json.dumps(result).encode())
    return code


def main() -> int:
    files_url = os.environ.get("DATAOPS_FILES_URL", "")
    request_key = os.environ.get("DATAOPS_REQUEST", "")
    if not files_url or not request_key:
        print("error: DATAOPS_FILES_URL and DATAOPS_REQUEST must be set", file=sys.stderr)
        return 2
    return run(files_url, request_key)


if __name__ == "__main__":
    sys.exit(main())
