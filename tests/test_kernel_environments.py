"""A kernel runs in the Python environment its kernel spec names, forked from the zygote or not.

The zygote may fork a kernel only when a usual start would run the very same interpreter with the
same ``sys.prefix``, user site and start-up options. These tests name, in kernel specs, another
virtual environment and the base interpreter (both the same executable as the project's venv once
symlinks are resolved) and prove, from inside each kernel, where it runs.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import packaging
import pytest

from jupyter_dataops.backends.local.kernels import start_kernel
from jupyter_dataops.backends.local.zygote import ForkedProcess, ForkServer

from .kernel_envs import (
    ENV_PROBE,
    OTHER_VENV_PACKAGING,
    USER_SITE_PACKAGING,
    Environments,
    launcher_argv,
    make_environments,
    run_in_kernel,
    same_path,
    write_kernel_spec,
)

FROZEN_OFF = "-Xfrozen_modules=off"


@pytest.fixture(scope="session")
def envs(tmp_path_factory: pytest.TempPathFactory) -> Environments:
    return make_environments(tmp_path_factory.mktemp("kernel-envs"))


@pytest.fixture
def specs(envs: Environments, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Environments:
    """Kernel specs on this test's JUPYTER_PATH; HOME is the one whose user site serves the base
    interpreter (for the worker and every kernel alike, so only the interpreter tells them
    apart)."""
    write_kernel_spec(tmp_path, "other-venv", launcher_argv(envs.other_python))
    write_kernel_spec(tmp_path, "base-python", launcher_argv(envs.base_python))
    write_kernel_spec(tmp_path, "this-venv", launcher_argv(envs.this_python))
    write_kernel_spec(tmp_path, "this-venv-frozen-off", launcher_argv(envs.this_python, FROZEN_OFF))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path))
    monkeypatch.setenv("HOME", str(envs.home))
    monkeypatch.delenv("PYTHONUSERBASE", raising=False)
    monkeypatch.delenv("PYTHONNOUSERSITE", raising=False)
    return envs


@pytest.fixture
def fork_server(specs: Environments) -> Iterator[ForkServer]:
    server = ForkServer()  # made after HOME is set: the zygote gets the tests' environment
    yield server
    server.close()


def expected(envs: Environments, spec: str) -> tuple[str, str, bool]:
    """``(sys.prefix, packaging version, forked)`` for a kernel of ``spec``."""
    if spec == "other-venv":
        return str(envs.other_venv), OTHER_VENV_PACKAGING, False
    if spec == "base-python":
        return sys.base_prefix, USER_SITE_PACKAGING, False
    return sys.prefix, packaging.__version__, True


@pytest.mark.parametrize("spec", ["other-venv", "base-python", "this-venv"])
def test_a_kernel_runs_in_the_environment_its_spec_names(
    fork_server: ForkServer, specs: Environments, spec: str
) -> None:
    prefix, version, forked = expected(specs, spec)
    km = start_kernel(spec, fork_server=fork_server)
    try:
        facts = run_in_kernel(km, ENV_PROBE)
        was_forked = isinstance(km.provisioner.process, ForkedProcess)
    finally:
        km.shutdown_kernel(now=True)
    assert same_path(facts["prefix"], prefix), facts
    assert facts["packaging"] == version, facts
    assert was_forked is forked
    assert fork_server.forked == int(forked)
    if forked:  # a forked kernel is the worker's own environment, and says so
        assert facts["prefix"] == sys.prefix and facts["executable"] == sys.executable


def test_the_interpreter_options_of_a_spec_are_kept(specs: Environments) -> None:
    """``-Xfrozen_modules=off`` (which ``ipykernel install`` writes) is set up when the
    interpreter starts: such a kernel is forked only from a zygote started with it."""
    plain, frozen_off = ForkServer(), ForkServer(interpreter_options=[FROZEN_OFF])
    try:
        kms = {
            "plain zygote, -X spec": start_kernel("this-venv-frozen-off", fork_server=plain),
            "-X zygote, -X spec": start_kernel("this-venv-frozen-off", fork_server=frozen_off),
            "-X zygote, plain spec": start_kernel("this-venv", fork_server=frozen_off),
        }
        try:
            facts = {what: run_in_kernel(km, ENV_PROBE) for what, km in kms.items()}
            forked = {w: isinstance(km.provisioner.process, ForkedProcess) for w, km in kms.items()}
        finally:
            for km in kms.values():
                km.shutdown_kernel(now=True)
    finally:
        plain.close()
        frozen_off.close()
    assert forked == {
        "plain zygote, -X spec": False,
        "-X zygote, -X spec": True,
        "-X zygote, plain spec": False,
    }
    assert facts["plain zygote, -X spec"]["xoptions"] == {"frozen_modules": "off"}
    assert facts["-X zygote, -X spec"]["xoptions"] == {"frozen_modules": "off"}
    assert facts["-X zygote, plain spec"]["xoptions"] == {}
    assert all(f["prefix"] == sys.prefix for f in facts.values())


def test_which_commands_may_be_forked(specs: Environments, tmp_path: Path) -> None:
    """The decision alone, without starting kernels: only a command that would find this very
    environment, with the same start-up environment, may be forked."""
    server = ForkServer()
    env = dict(os.environ)
    this = specs.this_python
    assert server.can_fork(launcher_argv(this), env)
    # Another name of this venv's python, in its own bin/: the same environment.
    assert server.can_fork(launcher_argv(str(Path(this).with_name("python3"))), env)
    # Same executable once resolved, other environments.
    assert not server.can_fork(launcher_argv(specs.base_python), env)
    assert not server.can_fork(launcher_argv(specs.other_python), env)
    # A symlink to this venv's python outside the venv is the base interpreter (no pyvenv.cfg).
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "python").symlink_to(this)
    assert not server.can_fork(launcher_argv(str(tmp_path / "bin" / "python")), env)
    # A bare name is found on the kernel's PATH, as the kernel's start would find it.
    bare = launcher_argv("python")
    assert server.can_fork(bare, {**env, "PATH": f"{Path(this).parent}:/usr/bin"})
    assert not server.can_fork(bare, {**env, "PATH": f"{Path(specs.other_python).parent}"})
    assert not server.can_fork(bare, {**env, "PATH": str(tmp_path / "nowhere")})
    assert not server.can_fork(launcher_argv("./python"), env)  # relative to an unknown cwd
    # What the interpreter reads as it starts must match: the user site's location and switches.
    assert not server.can_fork(launcher_argv(this), {**env, "HOME": str(tmp_path)})
    assert not server.can_fork(launcher_argv(this), {**env, "PYTHONUSERBASE": str(tmp_path)})
    assert not server.can_fork(launcher_argv(this), {**env, "PYTHONNOUSERSITE": "1"})
    assert not server.can_fork(launcher_argv(this), {**env, "PYTHONHOME": sys.base_prefix})
    # Interpreter options must be the zygote's own.
    assert not server.can_fork(launcher_argv(this, FROZEN_OFF), env)
    assert not server.can_fork(launcher_argv(this, "-I"), env)
    frozen_off = ForkServer(interpreter_options=[FROZEN_OFF])
    assert frozen_off.can_fork(launcher_argv(this, FROZEN_OFF), env)
    assert frozen_off.can_fork(launcher_argv(this, "-X", "frozen_modules=off"), env)
    assert not frozen_off.can_fork(launcher_argv(this), env)


@pytest.mark.parametrize("spec", ["other-venv", "this-venv"])
def test_a_job_runs_in_the_environment_its_kernel_spec_names(
    specs: Environments, tmp_path: Path, spec: str
) -> None:
    """End to end: a job on a kernel spec of another virtual environment, run by the worker with
    kernel forking on, sees that environment's prefix and packages, not the worker's."""
    from traitlets.config import Config

    from jupyter_dataops.core.config import DataOps
    from jupyter_dataops.core.jobs.models import JobCreate, JobStatus
    from jupyter_dataops.services import Services

    from .notebooks import output_text, write_notebook

    root = tmp_path / "root"
    write_notebook(root / "probe.ipynb", [ENV_PROBE], kernel=spec)
    config = Config(
        {
            "LocalExecutor": {"kernel_pool_size": 1, "fork_kernels": True},
            "Worker": {"warm_start": False, "idle_timeout": 60},
        }
    )
    services = Services.from_config(
        DataOps(config=config, root_dir=str(root), data_dir=str(tmp_path / "data"))
    )
    try:
        job = services.jobs.create(JobCreate(notebook_path="probe.ipynb"))
        assert job.kernel_name == spec
        done = services.jobs.wait(job.id, timeout=120)
        assert done.status is JobStatus.COMPLETED, done.error
        text = output_text(root / done.output_path)
        facts = json.loads(text[text.index("{") : text.rindex("}") + 1])
    finally:
        services.supervisor.stop_worker()
        services.close()
    prefix, version, _ = expected(specs, spec)
    assert same_path(facts["prefix"], prefix), facts
    assert facts["packaging"] == version, facts


def test_a_sandbox_profile_runs_in_another_environment_with_its_packages(
    envs: Environments, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A profile naming another environment (its folder) gets kernels of that environment;
    requirements it meets are not installed again, and ones it cannot meet fail the sandbox
    with pip's (or uv's) reason."""
    from jupyter_client.manager import KernelManager

    from jupyter_dataops.core.config import DataOps
    from jupyter_dataops.core.sandboxes.models import SandboxCreate
    from jupyter_dataops.services import Services

    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "jupyter"))
    (tmp_path / "root").mkdir()
    dataops = DataOps(root_dir=str(tmp_path / "root"), data_dir=str(tmp_path / "data"))
    dataops.gpu_inventory = "none"
    dataops.sandbox_profiles = [
        {
            "name": "other",
            "cpus": "1",
            "memory": "2Gi",
            "environment": str(envs.other_venv),
            "packages": [f"packaging=={OTHER_VENV_PACKAGING}", "ipykernel"],
        },
        {
            "name": "impossible",
            "cpus": "1",
            "memory": "2Gi",
            "environment": str(envs.other_venv),
            "packages": ["packaging==0.0.0.dev0-not-a-release"],
        },
    ]
    services = Services.from_config(dataops, actor="alice")
    try:
        sandbox = services.sandboxes.start(SandboxCreate(profile="other", wait=True))
        assert sandbox.status.value == "ready", sandbox.error
        steps = {s.name: s for s in sandbox.steps}
        assert steps["environment"].detail and str(envs.other_venv) in steps["environment"].detail
        assert steps["packages"].detail == "all 2 present"
        km = KernelManager(kernel_name=sandbox.kernel_name)
        km.start_kernel()
        kc = km.client()
        out: list[str] = []
        try:
            kc.start_channels()
            kc.wait_for_ready(timeout=60)
            kc.execute_interactive(
                ENV_PROBE,
                timeout=60,
                output_hook=lambda m: (
                    out.append(m["content"]["text"]) if m["msg_type"] == "stream" else None
                ),
            )
        finally:
            kc.stop_channels()
            km.shutdown_kernel(now=True)
        seen = json.loads("".join(out))
        assert same_path(seen["prefix"], envs.other_venv)
        assert seen["packaging"] == OTHER_VENV_PACKAGING
        services.sandboxes.stop(sandbox.id)
        failed = services.sandboxes.start(SandboxCreate(profile="impossible", wait=True))
        assert failed.status.value == "failed"
        assert "Installing packaging==0.0.0.dev0-not-a-release failed" in (failed.error or "")
    finally:
        services.close()
