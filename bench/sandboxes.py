"""Benchmark: "Start" to a kernel answering in a ready sandbox, beside a plain kernel start.

One run on this machine, in process, the kinds taking turns (the order rotated each round, so
that other work on the machine falls on all alike), --repeats timed runs of each after --warmup
untimed ones:

- the peer, a plain kernel start: ``KernelManager(kernel_name="python3")``, ``start_kernel()``,
  a client, ``wait_for_ready``, then one ``execute_interactive`` of a cell until its reply (the
  default kernel spec, jupyter_client's own local provisioner);
- a sandbox, the product's path when a user presses "Start" and then runs a cell in its kernel:
  ``SandboxService.start(SandboxCreate(profile="cpu", wait=True))`` (check the policy and quotas,
  record it, provision it synchronously: environment check, no packages, limits, kernel spec
  ``dataops-sandbox-<id>`` in the Jupyter data directory's kernels folder), then the same
  ``KernelManager`` / client / ``wait_for_ready`` / execute with the sandbox's kernel name (its
  ``dataops-sandbox`` provisioner: the launch file, the environment, the limits shim that then
  becomes the kernel). The profile is 1 CPU and 2Gi, no packages, no data;
- a sandbox with a GPU: the same, with a profile asking for one T4 from a fake inventory
  (``c.DataOps.gpu_inventory = [{"index": 0, "type": "t4"}]``); the cell checks that the kernel
  sees ``CUDA_VISIBLE_DEVICES == "0"`` (the run fails otherwise).

Each time is "Start" to the first execute reply: from ``sandboxes.start(...)`` (from
``KernelManager(...)`` for the peer) until the reply to the cell has arrived and its result is
the expected one. For the sandboxes, the breakdown: provisioning (``ready_at - created_at`` of
the sandbox's record), the rest of ``start()`` (checks, records), and the kernel (start, ready,
first reply). After each run, untimed: the sandbox is stopped (``sandboxes.stop``: its kernels
are ended by PID, its devices freed) and the kernel shut down if it still runs.

Goal (the sandboxes issue): a sandbox's "Start" to a kernel answering < 1.5x a plain kernel
start (median against median).

Usage: ``python bench/sandboxes.py [--repeats 7] [--warmup 1] [--timeout 600]
[--json results.json]``; about 20 seconds here. Everything lives in a temporary folder removed at
the end (the Jupyter data and runtime directories too); every sandbox and kernel it starts is
stopped, also on failure, Ctrl-C or --timeout.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _peer import give_up_after

GOAL = 1.5
PLAIN = "plain kernel (python3)"
SANDBOX = "sandbox, 1 CPU 2Gi"
GPU = "sandbox, 1 CPU 2Gi + 1 T4"
KINDS = (PLAIN, SANDBOX, GPU)
PROFILES = [
    {"name": "cpu", "cpus": "1", "memory": "2Gi"},
    {"name": "gpu", "cpus": "1", "memory": "2Gi", "gpus": 1, "gpu_type": "t4"},
]
INVENTORY = [{"index": 0, "type": "t4"}]
#: The cell each kernel runs: its answer shows it ran, and which GPUs the kernel sees.
CELL = 'import os; (1 + 1, os.environ.get("CUDA_VISIBLE_DEVICES"))'
WAIT = 60.0  # seconds: a kernel's ready, a cell's reply


class Run:
    """One kernel (and the sandbox it runs in, if any), stopped by :meth:`stop`."""

    def __init__(self, log: Path) -> None:
        self.log = log
        self.km: Any = None
        self.kc: Any = None
        self.sandbox_id: str | None = None

    def kernel(self, kernel_name: str) -> str:
        """Start a kernel of ``kernel_name``, wait until it is ready, run CELL; its result."""
        from jupyter_client.manager import KernelManager

        self.km = KernelManager(kernel_name=kernel_name)
        with open(self.log, "ab") as log:  # the kernel's stderr: shown when a run fails
            self.km.start_kernel(stdout=subprocess.DEVNULL, stderr=log)
        self.kc = self.km.client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=WAIT)
        results: list[str] = []
        errors: list[str] = []

        def output(msg: dict[str, Any]) -> None:
            if msg["msg_type"] == "execute_result":
                results.append(msg["content"]["data"]["text/plain"])
            elif msg["msg_type"] == "error":
                errors.append(f"{msg['content']['ename']}: {msg['content']['evalue']}")

        reply = self.kc.execute_interactive(CELL, timeout=WAIT, output_hook=output)
        if reply["content"]["status"] != "ok" or errors or not results:
            raise RuntimeError(f"{kernel_name}: the cell failed: {errors or reply['content']}")
        return results[-1]

    def stop(self, services: Any) -> None:
        try:
            if self.sandbox_id is not None:
                services.sandboxes.stop(self.sandbox_id, actor="bench")
        finally:
            try:
                if self.km is not None and self.km.has_kernel:
                    if self.km.is_alive():
                        self.km.shutdown_kernel(now=True)
                    else:
                        self.km.cleanup_resources()
            finally:
                if self.kc is not None:
                    self.kc.stop_channels()


def plain(run: Run) -> dict[str, float]:
    start = time.perf_counter()
    answer = run.kernel("python3")
    done = time.perf_counter()
    if not answer.startswith("(2, "):
        raise RuntimeError(f"{PLAIN}: the cell answered {answer}")
    return {"total_s": done - start}


def sandboxed(run: Run, services: Any, profile: str, gpus: str) -> dict[str, float]:
    from jupyter_dataops.core.sandboxes.models import SandboxCreate

    start = time.perf_counter()
    sandbox = services.sandboxes.start(SandboxCreate(profile=profile, wait=True), actor="bench")
    started = time.perf_counter()
    run.sandbox_id = sandbox.id
    if sandbox.status.value != "ready" or not sandbox.kernel_name:
        raise RuntimeError(f"the sandbox {sandbox.id} is {sandbox.status.value}: {sandbox.error}")
    answer = run.kernel(sandbox.kernel_name)
    done = time.perf_counter()
    if answer != f"(2, {gpus!r})":
        raise RuntimeError(
            f"the sandbox {sandbox.id} ({profile}): the kernel answered {answer}, not "
            f"(2, {gpus!r}): it does not see CUDA_VISIBLE_DEVICES={gpus!r}"
        )
    assert sandbox.ready_at is not None
    return {
        "total_s": done - start,
        "provisioning_s": sandbox.ready_at - sandbox.created_at,
        "start_call_s": started - start,
        "kernel_s": done - started,
    }


def once(kind: str, services: Any, log: Path) -> dict[str, float]:
    run = Run(log)
    try:
        if kind == PLAIN:
            return plain(run)
        if kind == SANDBOX:
            return sandboxed(run, services, "cpu", "")
        return sandboxed(run, services, "gpu", "0")
    except Exception:
        if log.exists():
            tail = log.read_text(errors="replace")[-2000:]
            print(f"{kind} failed; the kernel's stderr ends:\n{tail}", file=sys.stderr)
        raise
    finally:
        run.stop(services)


def spread(values: list[float]) -> str:
    return f"{min(values):.3f}-{max(values):.3f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7, help="timed runs of each kind")
    parser.add_argument("--warmup", type=int, default=1, help="untimed runs of each kind first")
    parser.add_argument(
        "--timeout", type=float, default=600.0, help="seconds before the whole run is given up"
    )
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()

    give_up_after(args.timeout)
    work = Path(tempfile.mkdtemp(prefix="dataops-bench-sandboxes-"))
    # Before anything of Jupyter's is imported: sandboxes' kernel specs go to <data dir>/kernels,
    # connection files to the runtime directory; both in the temporary folder.
    os.environ["JUPYTER_DATA_DIR"] = str(work / "jdata")
    os.environ["JUPYTER_RUNTIME_DIR"] = str(work / "runtime")
    services: Any = None
    times: dict[str, list[dict[str, float]]] = {kind: [] for kind in KINDS}
    try:
        print(
            f"{platform.python_implementation()} {platform.python_version()}, "
            f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}",
            flush=True,
        )
        from jupyter_dataops.core.config import DataOps
        from jupyter_dataops.services import Services

        (work / "root").mkdir()
        dataops = DataOps(root_dir=str(work / "root"), data_dir=str(work / "data"))
        dataops.sandbox_profiles = PROFILES
        dataops.gpu_inventory = INVENTORY
        services = Services.from_config(dataops, actor="bench")
        print(f"limits: {services.sandboxes.provider.limits_method().method}", flush=True)
        for i in range(args.warmup + args.repeats):
            timed = i >= args.warmup
            for kind in KINDS[i % 3 :] + KINDS[: i % 3]:
                result = once(kind, services, work / f"kernel-{i}-{KINDS.index(kind)}.log")
                if timed:
                    times[kind].append(result)
            if timed:
                done = ", ".join(f"{kind} {times[kind][-1]['total_s']:.3f} s" for kind in KINDS)
                print(f"run {i - args.warmup + 1}/{args.repeats}: {done}", flush=True)
            else:
                print(f"warm-up {i + 1}/{args.warmup} done (not timed)", flush=True)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except TimeoutError as exc:
        print(exc, file=sys.stderr)
        return 124
    finally:
        signal.alarm(0)
        try:
            if services is not None:
                for sandbox in services.sandboxes.list(include_ended=False).items:
                    with contextlib.suppress(Exception):
                        services.sandboxes.stop(sandbox.id, actor="bench")
                services.close()
        finally:
            shutil.rmtree(work, ignore_errors=True)

    def median(kind: str, key: str = "total_s") -> float:
        return statistics.median(r[key] for r in times[kind])

    base = median(PLAIN)
    results: dict[str, Any] = {"repeats": args.repeats, "goal_ratio": GOAL, "kinds": {}}
    print()
    print(
        f'"Start" to a kernel\'s first reply, seconds: median of {args.repeats} runs each, '
        "min-max; for the sandboxes, the medians of provisioning (ready_at - created_at), the "
        "rest of start() and the kernel (start, ready, first reply)"
    )
    print(
        f"{'':26} {'median':>7} {'min-max':>13} {'ratio':>6} | "
        f"{'provisioning':>12} {'rest':>6} {'kernel':>7}"
    )
    for kind in KINDS:
        totals = [r["total_s"] for r in times[kind]]
        ratio = median(kind) / base
        row = f"{kind:26} {median(kind):7.3f} {spread(totals):>13} {ratio:5.2f}x | "
        entry: dict[str, Any] = {"median_s": median(kind), "ratio": ratio}
        if kind == PLAIN:
            row += f"{'-':>12} {'-':>6} {base:7.3f}"
        else:
            prov, call, kern = (
                median(kind, key) for key in ("provisioning_s", "start_call_s", "kernel_s")
            )
            row += f"{prov:12.3f} {call - prov:6.3f} {kern:7.3f}"
            entry.update(provisioning_s=prov, start_rest_s=call - prov, kernel_s=kern)
        print(row)
        results["kinds"][kind] = {**entry, "runs": times[kind]}
    met = all(results["kinds"][kind]["ratio"] < GOAL for kind in (SANDBOX, GPU))
    print(
        f"goal: a sandbox's Start to a kernel answering < {GOAL:g}x a plain kernel start: "
        + ", ".join(f"{results['kinds'][kind]['ratio']:.2f}x" for kind in (SANDBOX, GPU))
        + f" (without, with a GPU): {'met' if met else 'NOT met'}"
    )
    results["goal_met"] = met
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
