"""Local sandboxes: a folder, limits and a kernel spec on this machine.

Provisioning a sandbox (steps as the progress shows them):

1. **environment**: find the profile's Python (an interpreter, an environment's folder, or the
   default kernel's) and check that it has ipykernel;
2. **packages**: check the profile's requirements against it; the missing ones are installed
   with pip into the sandbox's own folder (on ``PYTHONPATH`` of its kernels only);
3. **tools**: check that the profile's programs are on ``PATH``;
4. **data**: link the profile's folders, DVC-tracked paths (pulled first when missing) and
   snapshots' data into ``data/`` of the sandbox's folder;
5. **limits**: a cgroup v2 group with memory.max and cpu.max where the server may create one;
   otherwise resource limits (RLIMIT_DATA for memory) and CPU affinity;
6. **kernel spec**: ``dataops-sandbox-<id>`` in the Jupyter kernels folder, naming the
   ``dataops-sandbox`` provisioner (:mod:`.sandbox_provisioner`) and the sandbox's launch file.

Kernels then start through Jupyter's own machinery (the server's kernel manager, papermill's),
each with exactly the sandbox's environment, limits and ``CUDA_VISIBLE_DEVICES``.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, ClassVar

from traitlets import Unicode

from ...core.errors import InvalidInput
from ...core.sandboxes.models import KernelRecord, Limits, Profile
from ...core.sandboxes.provider import Provisioned, Report, Sample, SandboxProvider, SandboxSpec
from ...core.sandboxes.quantities import format_cpus, format_memory
from ..sandbox_files import SandboxFiles
from .zygote import _program

PROVISIONER = "dataops-sandbox"
CGROUP_ROOT = Path("/sys/fs/cgroup")

_CHECK = r"""
import json, sys, importlib.util, importlib.metadata as md
wanted = json.loads(sys.argv[1])
try:
    from packaging.requirements import Requirement
except Exception:
    Requirement = None
missing = []
for text in wanted:
    name, spec = text, None
    if Requirement is not None:
        try:
            req = Requirement(text); name, spec = req.name, req.specifier
        except Exception:
            pass
    try:
        version = md.version(name)
    except md.PackageNotFoundError:
        missing.append(text); continue
    if spec is not None and version not in spec:
        missing.append(text)
print(json.dumps({"ipykernel": importlib.util.find_spec("ipykernel") is not None,
                  "python": sys.version.split()[0], "missing": missing}))
"""


def machine_cpus() -> list[int]:
    return sorted(os.sched_getaffinity(0))


def cgroup_v2_parent(root: Path = CGROUP_ROOT) -> Path | None:
    """A cgroup v2 group this server may create sandboxes' groups under (memory and cpu
    controllers enabled for its children), or None (then resource limits are used)."""
    try:
        controllers = (root / "cgroup.controllers").read_text().split()
    except OSError:
        return None
    if not {"memory", "cpu"} <= set(controllers):
        return None
    own = "/"
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            if line.startswith("0::"):
                own = line[3:] or "/"
    parent = root / own.lstrip("/")
    try:
        enabled = (parent / "cgroup.subtree_control").read_text().split()
    except OSError:
        return None
    if not {"memory", "cpu"} <= set(enabled) or not os.access(parent, os.W_OK):
        return None
    return parent


class LocalSandboxProvider(SandboxFiles, SandboxProvider):
    """Sandboxes on this machine (``c.DataOps.sandbox_provider_class = "local"``)."""

    name: ClassVar[str] = "local"
    provisioner: ClassVar[str] = PROVISIONER
    steps: ClassVar[tuple[str, ...]] = (
        "environment",
        "packages",
        "tools",
        "data",
        "limits",
        "kernel spec",
    )

    kernels_dir = Unicode(
        "",
        config=True,
        help="""Where sandboxes' kernel specs are written (a folder Jupyter searches for
        kernels). Default: the kernels folder of the Jupyter data directory.""",
    )
    cgroup_parent = Unicode(
        "",
        config=True,
        help="""The cgroup v2 group under which each sandbox gets its own (memory.max, cpu.max).
        Default: this server's own group, when the memory and cpu controllers are delegated to
        it; otherwise sandboxes get resource limits and CPU affinity.""",
    )

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._cgroup_parent: Path | bool | None = False

    # -- where things are ---------------------------------------------------------------------
    @property
    def state_dir(self) -> Path:
        return Path(self.dataops.data_dir) / "sandboxes"

    def cgroup(self) -> Path | None:
        if self._cgroup_parent is False:
            self._cgroup_parent = (
                Path(self.cgroup_parent) if self.cgroup_parent else cgroup_v2_parent()
            )
        return self._cgroup_parent or None  # type: ignore[return-value]

    # -- the interface ------------------------------------------------------------------------
    def limits_method(self) -> Limits:
        if self.cgroup() is not None:
            return Limits(
                method="cgroup v2",
                detail=f"each sandbox in its own group under {self.cgroup()} (memory.max, cpu.max)",
            )
        return Limits(
            method="rlimits",
            detail="memory: RLIMIT_DATA (an allocation beyond it fails with MemoryError); "
            "CPUs: the kernel runs on that many cores (affinity); cgroup v2 is not delegated "
            "to this server",
        )

    def unavailable(self, profile: Profile) -> str | None:
        if profile.image:
            return (
                f"it runs the image {profile.image}, and this machine has no container engine "
                "(available on the cluster only)"
            )
        return None

    def provision(self, spec: SandboxSpec, report: Report) -> Provisioned:
        folder = self.folder(spec.id)
        work = folder / "work"
        try:
            work.mkdir(parents=True, exist_ok=True)
            os.chmod(folder, 0o700)
            return self._provision(spec, report, folder, work)
        except Exception:
            self.remove_files(spec.id)
            raise

    def _provision(
        self, spec: SandboxSpec, report: Report, folder: Path, work: Path
    ) -> Provisioned:
        profile = spec.profile
        report("environment", "running", None)
        python = self._python(profile)
        checked = self._check(python, profile.packages)
        if not checked["ipykernel"]:
            raise InvalidInput(
                f"The environment {python} has no ipykernel, so it cannot run a kernel.",
                hint=f"Install it there ({python} -m pip install ipykernel) or pick another environment.",
            )
        report("environment", "done", f"Python {checked['python']} at {python}")
        pythonpath = None
        missing = checked["missing"]
        if missing:
            report("packages", "running", f"installing {', '.join(missing)}")
            target = work / "site-packages"
            self._pip(python, target, missing)
            pythonpath = str(target)
            report("packages", "done", f"installed {', '.join(missing)}")
        elif profile.packages:
            report("packages", "done", f"all {len(profile.packages)} present")
        else:
            report("packages", "skipped", "none asked")
        env_path = os.environ.get("PATH", os.defpath)
        if profile.tools:
            report("tools", "running", None)
            absent = [t for t in profile.tools if shutil.which(t, path=env_path) is None]
            if absent:
                raise InvalidInput(
                    f"The profile needs {', '.join(absent)} on PATH, and this machine has not.",
                    hint="Ask an operator to install them, or pick another profile.",
                )
            report("tools", "done", ", ".join(profile.tools))
        else:
            report("tools", "skipped", "none asked")
        if profile.data:
            report("data", "running", None)
            linked = self._data(spec, work / "data")
            report("data", "done", ", ".join(linked))
        else:
            report("data", "skipped", "none asked")
        report("limits", "running", None)
        launch, limits = self._limits(spec)
        report("limits", "done", f"{limits.method}: {limits.detail}")
        report("kernel spec", "running", None)
        env = self._env(spec, work)
        launch.update(
            {
                "id": spec.id,
                "env": env,
                "secrets": profile.secrets,
                "pythonpath": pythonpath,
                "workdir": str(work),
                "kernels_dir": str(folder / "kernels"),
            }
        )
        self.write_launch(spec.id, launch)
        kernel_name = self.write_spec(
            spec, [python, "-m", "ipykernel_launcher", "-f", "{connection_file}"], debugger=True
        )
        report("kernel spec", "done", kernel_name)
        return Provisioned(kernel_name=kernel_name, workdir=str(work), env=env, limits=limits)

    def _python(self, profile: Profile) -> str:
        wanted = profile.environment
        if not wanted:
            from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

            try:
                argv0 = (
                    KernelSpecManager().get_kernel_spec(self.dataops.default_kernel_name).argv[0]
                )
            except (NoSuchKernel, IndexError):
                argv0 = sys.executable
            if argv0 in ("python", "python3", f"python{sys.version_info[0]}.{sys.version_info[1]}"):
                argv0 = sys.executable
            found = _program(argv0, os.environ)
            return found or sys.executable
        path = Path(wanted).expanduser()
        for candidate in (path, path / "bin" / "python", path / "bin" / "python3"):
            if candidate.is_file() and os.access(candidate, os.X_OK):
                return str(candidate)
        raise InvalidInput(
            f"The profile's environment {wanted!r} is neither a Python interpreter nor an "
            "environment's folder with bin/python.",
            hint="Ask an operator to fix the profile's environment.",
        )

    def _check(self, python: str, packages: list[str]) -> dict[str, Any]:
        try:
            proc = subprocess.run(
                [python, "-c", _CHECK, json.dumps(packages)],
                capture_output=True,
                text=True,
                timeout=120,
                cwd="/",
            )
            return dict(json.loads(proc.stdout))
        except (OSError, ValueError, subprocess.TimeoutExpired) as exc:
            raise InvalidInput(
                f"The environment {python} cannot be run: {exc}.",
                hint="Ask an operator to fix the profile's environment.",
            ) from None

    def _pip(self, python: str, target: Path, requirements: list[str]) -> None:
        """Install into ``target`` for ``python``: with its own pip, else with uv (environments
        made by uv have no pip)."""
        common = ["--target", str(target), *requirements]
        has_pip = (
            subprocess.run([python, "-c", "import pip"], capture_output=True, timeout=60).returncode
            == 0
        )
        uv = shutil.which("uv") or shutil.which("uv", path=str(Path(sys.executable).parent))
        if has_pip:
            command = [python, "-m", "pip", "install", "--disable-pip-version-check", "--no-input"]
        elif uv:
            command = [uv, "pip", "install", "--python", python]
        else:
            raise InvalidInput(
                f"The environment {python} has no pip, and uv is not on PATH, so "
                f"{', '.join(requirements)} cannot be installed.",
                hint="Install them in the environment, or install pip there.",
            )
        proc = subprocess.run([*command, *common], capture_output=True, text=True, timeout=3600)
        if proc.returncode != 0:
            tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-5:])
            raise InvalidInput(
                f"Installing {', '.join(requirements)} failed:\n{tail}",
                hint="Fix the profile's packages, or install them in its environment.",
            )

    def _data(self, spec: SandboxSpec, into: Path) -> list[str]:
        into.mkdir(parents=True, exist_ok=True)
        root = Path(spec.root_dir).resolve()
        linked = []
        for item in spec.profile.data:
            if item.kind == "snapshot":
                # Its data keeps its project paths (data/train.csv) in the sandbox's folder.
                count = self._snapshot_data(spec, item.source, into.parent)
                linked.append(f"snapshot {item.source} ({count} files)")
                continue
            source = Path(item.source).expanduser()
            if not source.is_absolute():
                source = (root / source).resolve()
                if item.kind == "dvc" and not source.is_relative_to(root):
                    raise InvalidInput(
                        f"The DVC path {item.source!r} leaves the project.",
                        hint="Name a path inside the project.",
                    )
            if item.kind == "dvc" and not source.exists():
                self._dvc_pull(root, source)
            if not source.exists():
                raise InvalidInput(
                    f"The profile's data {item.source!r} does not exist ({source}).",
                    hint="Ask an operator to fix the profile's data.",
                )
            name = item.name or source.name
            link = into / name
            if link.is_symlink() or link.exists():
                link.unlink()
            link.symlink_to(source, target_is_directory=source.is_dir())
            linked.append(f"data/{name}")
        return linked

    def _dvc_pull(self, root: Path, source: Path) -> None:
        proc = subprocess.run(
            [sys.executable, "-m", "dvc", "pull", str(source.relative_to(root))],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=3600,
        )
        if proc.returncode != 0:
            tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-3:])
            raise InvalidInput(
                f"dvc pull {source.relative_to(root)} failed: {tail}",
                hint="Check the project's DVC remote (dvc remote list).",
            )

    def _snapshot_data(self, spec: SandboxSpec, snapshot_id: str, into: Path) -> int:
        """The snapshot's data files in the sandbox's folder, at their project paths."""
        if self.snapshot_loader is None:
            raise InvalidInput(
                "Snapshots cannot be loaded into sandboxes by this server.",
                hint="Name the data folder instead.",
            )
        return int(self.snapshot_loader(spec.root_dir, snapshot_id, into))

    def _limits(self, spec: SandboxSpec) -> tuple[dict[str, Any], Limits]:
        res = spec.resources
        launch: dict[str, Any] = {"memory_bytes": res.memory_bytes}
        cpus = machine_cpus()
        count = max(1, min(len(cpus), int(-(-res.cpus // 1))))
        # Spread sandboxes over the cores: start where the id's hash points.
        first = int(spec.id[:8], 16) % len(cpus)
        chosen = sorted((cpus * 2)[first : first + count])
        parent = self.cgroup()
        if parent is not None:
            group = parent / f"dataops-{spec.id}"
            group.mkdir(exist_ok=True)
            (group / "memory.max").write_text(str(res.memory_bytes))
            with contextlib.suppress(OSError):
                (group / "memory.swap.max").write_text("0")
            period = 100_000
            (group / "cpu.max").write_text(f"{int(res.cpus * period)} {period}")
            launch["cgroup"] = str(group)
            return launch, Limits(
                method="cgroup v2",
                detail=f"memory.max {format_memory(res.memory_bytes)}, cpu.max "
                f"{format_cpus(res.cpus)} CPU ({group})",
            )
        launch["cpu_list"] = chosen
        note = (
            ""
            if float(res.cpus).is_integer()
            else f" ({format_cpus(res.cpus)} rounded up: affinity gives whole cores)"
        )
        return launch, Limits(
            method="rlimits",
            detail=f"memory {format_memory(res.memory_bytes)} (RLIMIT_DATA), CPUs "
            f"{','.join(map(str, chosen))}{note}",
        )

    def _env(self, spec: SandboxSpec, work: Path) -> dict[str, str]:
        threads = str(max(1, int(-(-spec.resources.cpus // 1))))
        devices = ",".join(str(d.index) for d in spec.devices)
        env = {
            "DATAOPS_SANDBOX": spec.id,
            "DATAOPS_SANDBOX_DIR": str(work),
            "DATAOPS_SANDBOX_PROFILE": spec.profile.name,
            # Exactly its GPUs: an empty value hides every GPU from CUDA.
            "CUDA_VISIBLE_DEVICES": devices,
            "NVIDIA_VISIBLE_DEVICES": devices or "void",
            "OMP_NUM_THREADS": threads,
            "OPENBLAS_NUM_THREADS": threads,
            "MKL_NUM_THREADS": threads,
        }
        env.update(spec.profile.env)
        return env

    # -- kernels and usage --------------------------------------------------------------------
    def _records(self, sandbox_id: str) -> list[tuple[Path, dict[str, Any]]]:
        """Each kernel's record: what its provisioner wrote (``KID-PID.json``: pid, start, how
        it ended) merged with what this provider noted beside it (``KID-PID.usage``: CPU time,
        peak memory, whether we stopped it), so neither overwrites the other's."""
        found = []
        for path in sorted((self.folder(sandbox_id) / "kernels").glob("*.json")):
            try:
                record = json.loads(path.read_text())
            except (OSError, ValueError):
                continue
            noted: dict[str, Any] = {}
            with contextlib.suppress(OSError, ValueError):
                noted = json.loads(path.with_suffix(".usage").read_text())
            for key, value in noted.items():
                if key == "stopped":
                    record["stopped"] = bool(record.get("stopped")) or bool(value)
                elif record.get(key) is None:
                    record[key] = value
            found.append((path.with_suffix(".usage"), record))
        return found

    def sample(self, sandbox_id: str) -> Sample:
        import psutil

        kernels: list[KernelRecord] = []
        cpu = 0.0
        memory = 0
        peak = 0
        for path, record in self._records(sandbox_id):
            process = _process(record)
            if process is not None:
                try:
                    with process.oneshot():
                        tree = [process, *process.children(recursive=True)]
                    used = 0.0
                    rss = 0
                    for p in tree:
                        with contextlib.suppress(psutil.Error):
                            t = p.cpu_times()
                            used += t.user + t.system
                            rss += p.memory_info().rss
                    record["cpu_seconds"] = max(float(record.get("cpu_seconds", 0.0)), used)
                    record["peak_memory_bytes"] = max(int(record.get("peak_memory_bytes", 0)), rss)
                    memory += rss
                    _save(path, record)
                except psutil.Error:
                    pass
            elif not record.get("ended_at"):
                # Gone without its provisioner seeing it end (the server was down meanwhile).
                record["ended_at"] = time.time()
                record["exit"] = "ended while the server was not watching"
                _save(path, record)
            cpu += float(record.get("cpu_seconds", 0.0))
            peak = max(peak, int(record.get("peak_memory_bytes", 0)))
            kernels.append(
                KernelRecord(
                    id=record["id"],
                    pid=record.get("pid"),
                    started_at=record.get("started_at", 0.0),
                    ended_at=record.get("ended_at"),
                    exit=None if record.get("stopped") else record.get("exit"),
                    oom=bool(record.get("oom")),
                )
            )
        group = self._group(sandbox_id)
        if group is not None:
            with contextlib.suppress(OSError, ValueError):
                stat = dict(line.split() for line in (group / "cpu.stat").read_text().splitlines())
                cpu = max(cpu, int(stat["usage_usec"]) / 1e6)
            with contextlib.suppress(OSError, ValueError):
                peak = max(peak, int((group / "memory.peak").read_text()))
        return Sample(
            kernels=kernels,
            cpu_seconds=cpu,
            memory_bytes=memory,
            peak_memory_bytes=max(peak, memory),
        )

    def _group(self, sandbox_id: str) -> Path | None:
        try:
            launch = json.loads(self.launch_file(sandbox_id).read_text())
        except (OSError, ValueError):
            return None
        return Path(launch["cgroup"]) if launch.get("cgroup") else None

    def exists(self, sandbox_id: str) -> bool:
        return (
            self.launch_file(sandbox_id).is_file()
            and (self.spec_dir(sandbox_id) / "kernel.json").is_file()
        )

    def stop(self, sandbox_id: str, *, timeout: float = 10.0) -> Sample:
        import psutil

        group = self._group(sandbox_id)
        # First out of the picker and no new kernel: the launch file goes.
        self.remove_files(sandbox_id)
        running = []
        for path, record in self._records(sandbox_id):
            process = _process(record)
            if process is not None:
                record["stopped"] = True
                _save(path, record)
                running.append(process)
        sample = self.sample(sandbox_id)
        for process in running:
            with contextlib.suppress(psutil.Error):
                for child in process.children(recursive=True):
                    with contextlib.suppress(psutil.Error):
                        child.send_signal(signal.SIGTERM)
                process.send_signal(signal.SIGTERM)
        alive = _wait_gone(running, timeout)
        for process in alive:
            with contextlib.suppress(psutil.Error):
                process.kill()
        _wait_gone(alive, timeout)
        now = time.time()
        for path, record in self._records(sandbox_id):
            if not record.get("ended_at"):
                record.update({"ended_at": now, "exit": "stopped", "stopped": True})
                _save(path, record)
        if group is not None:
            with contextlib.suppress(OSError):
                group.rmdir()
        kernels = [k.model_copy(update={"ended_at": k.ended_at or now}) for k in sample.kernels]
        return Sample(
            kernels=kernels,
            cpu_seconds=sample.cpu_seconds,
            memory_bytes=0,
            peak_memory_bytes=sample.peak_memory_bytes,
        )


def _wait_gone(processes: list[Any], timeout: float) -> list[Any]:
    """Wait until the processes have ended (a zombie has: its parent, another process, reaps
    it); those still running after ``timeout`` seconds."""
    import psutil

    deadline = time.monotonic() + timeout
    left = list(processes)
    while left:
        still = []
        for process in left:
            with contextlib.suppress(psutil.Error):
                if process.is_running() and process.status() != psutil.STATUS_ZOMBIE:
                    still.append(process)
        left = still
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    return left


def _process(record: dict[str, Any]) -> Any:
    """The kernel's process if it still runs (same pid *and* start time), else None."""
    import psutil

    pid = record.get("pid")
    if not pid or record.get("ended_at"):
        return None
    try:
        process = psutil.Process(int(pid))
        created = record.get("create_time")
        if created is not None and abs(process.create_time() - float(created)) > 0.5:
            return None
        if process.status() == psutil.STATUS_ZOMBIE:
            return None
        return process
    except psutil.Error:
        return None


_NOTED = ("cpu_seconds", "peak_memory_bytes", "stopped", "ended_at", "exit")


def _save(path: Path, record: dict[str, Any]) -> None:
    """Note this provider's side of a kernel's record (its ``.usage`` file)."""
    tmp = path.with_suffix(".usage-tmp")
    with contextlib.suppress(OSError):
        tmp.write_text(json.dumps({k: record[k] for k in _NOTED if k in record}))
        os.replace(tmp, path)
