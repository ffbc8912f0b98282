"""Endpoints served where a publish asks: ``c.DataOps.endpoint_targets`` offers targets besides
the default one, a publish names one (``--on``, REST ``target``), an endpoint stays on its target
and a publish naming another moves it there. Real parts: a sqlite MLflow store, our model server
processes on loopback for two local targets (the default and a second one), and the validating
in-memory API server with its kubelet for the Kubernetes target. Waits are bounded."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest

pytest.importorskip("mlflow")
pytest.importorskip("sklearn")

from traitlets.config import Config

from jupyter_dataops import publishing
from jupyter_dataops.backends.local.serving import LocalProcessTarget
from jupyter_dataops.core.endpoints.models import InvokeRequest, PublishRequest
from jupyter_dataops.core.errors import BackendUnavailable, InvalidInput
from jupyter_dataops.services import Services

from .kube_cluster import NAMESPACE, emulated_cluster, wait_for
from .schedule_helpers import SchedEnv
from .test_kube_serving import (
    log_tripler,
    mlflow_server,  # noqa: F401 (a fixture)
)

PORTS = {"endpoint_port_min": 18900, "endpoint_port_max": 18949}
ELSEWHERE = f"{__name__}.Elsewhere"


class Elsewhere(LocalProcessTarget):
    """A second place to serve: model server processes on this machine under another name (a
    second target's routing is what is tested; where its servers run is not)."""

    name: ClassVar[str] = "elsewhere"


def _config(base: Path, **more: Any) -> dict[str, dict[str, Any]]:
    return {
        "DataOps": {
            **PORTS,
            "mlflow_tracking_uri": f"sqlite:///{base / 'mlflow.db'}",
            "mlflow_artifact_location": str(base / "mlartifacts"),
            "endpoint_start_timeout": 90.0,
            **more,
        }
    }


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SchedEnv]:
    base = tmp_path_factory.mktemp("targets")
    made = SchedEnv(base, config=_config(base, endpoint_targets=[ELSEWHERE]))
    made.env.pop("MLFLOW_TRACKING_URI", None)
    try:
        yield made
    finally:
        service = made.services.endpoints
        for endpoint in service.list().items:
            service.delete(endpoint.name)
        service.target.stop_launcher()  # type: ignore[attr-defined]
        made.close()


@pytest.fixture(scope="module")
def model() -> Any:
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    X, y = load_iris(return_X_y=True, as_frame=True)
    return X, LogisticRegression(max_iter=500).fit(X, y)


def _log(env: SchedEnv, model: Any) -> str:
    X, clf = model
    return publishing.log_model(clf, env.services.endpoints.settings(), example=X[:3], name="m")


def _predict(url: str, model: Any) -> list[Any]:
    X, _ = model
    body = {"dataframe_records": json.loads(X[:2].to_json(orient="records"))}
    answer = httpx.post(url, json=body, timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.json()["predictions"]


def _alive(pid: int | None) -> bool:
    try:
        os.kill(pid or 0, 0)
    except ProcessLookupError:
        return False
    return bool(pid)


def _listens(url: str) -> bool:
    try:
        httpx.get(url.removesuffix("/invocations") + "/health", timeout=2)
    except httpx.HTTPError:
        return False
    return True


def test_the_settings_list_the_targets_a_publish_may_name(env):
    settings = env.services.endpoints.settings()
    assert settings.target == "local"
    assert settings.targets == ["local", "elsewhere"]


def test_a_publish_names_its_target_and_a_later_one_moves_the_endpoint(env, model):
    service = env.services.endpoints
    uri = _log(env, model)
    first = service.publish(PublishRequest(model_uri=uri, name="moving", target="elsewhere"))
    endpoint = first.endpoint
    assert endpoint.target == "elsewhere" and endpoint.status.value == "running"
    assert _predict(endpoint.url, model)

    # A publish that names no target keeps the endpoint where it is.
    again = service.publish(PublishRequest(model_uri=uri, name="moving")).endpoint
    assert again.target == "elsewhere" and again.version == 2

    # Naming another moves it: the old server goes, the new one serves on a port of its own.
    moved = service.publish(PublishRequest(model_uri=uri, name="moving", target="local")).endpoint
    assert moved.target == "local" and moved.status.value == "running" and moved.version == 3
    assert _predict(moved.url, model)
    assert moved.pid != again.pid
    wait_for(lambda: not _alive(again.pid), "the old server to end", 30)
    assert moved.history[-1].detail == "moved from elsewhere to local"
    assert moved.restarts == 0

    # A canary is served next to the current version: it cannot go elsewhere.
    with pytest.raises(InvalidInput, match="canary") as refused:
        service.publish(
            PublishRequest(model_uri=uri, name="moving", target="elsewhere", canary_percent=10)
        )
    assert "--on" in (refused.value.hint or "")
    assert service.get("moving").version == 3 and service.get("moving").target == "local"
    service.delete("moving")


def test_an_unknown_target_is_refused_before_anything_is_registered(env, model):
    service = env.services.endpoints
    uri = _log(env, model)
    versions = len(service.models().items)
    with pytest.raises(InvalidInput) as refused:
        service.publish(PublishRequest(model_uri=uri, name="nowhere", target="slurm"))
    assert refused.value.message == (
        "Unknown endpoint target 'slurm'; endpoints here are served on: local, elsewhere."
    )
    assert "c.DataOps.endpoint_targets" in (refused.value.hint or "")
    assert not [e for e in service.list().items if e.name == "nowhere"]
    assert len(service.models().items) == versions


def test_the_cli_publishes_on_a_named_target_and_refuses_an_unknown_one(env, model):
    uri = _log(env, model)
    bad = env.dataops("publish", uri, "--name", "cli-ep", "--on", "slurm")
    assert bad.returncode == 2, bad.stderr
    assert "Unknown endpoint target 'slurm'" in bad.stderr
    assert "local, elsewhere" in bad.stderr
    done = env.json("publish", uri, "--name", "cli-ep", "--on", "elsewhere")
    assert done["endpoint"]["target"] == "elsewhere"
    table = env.dataops("endpoints", "list")
    assert table.returncode == 0, table.stderr
    header, *rows = table.stdout.splitlines()
    assert header.split()[4] == "ON"
    (row,) = [r for r in rows if r.startswith("cli-ep ")]
    assert "elsewhere" in row.split()
    env.services.endpoints.delete("cli-ep")


def test_an_endpoint_whose_target_is_no_longer_offered_is_left_alone_and_says_so(
    env, model, caplog
):
    service = env.services.endpoints
    uri = _log(env, model)
    served = service.publish(PublishRequest(model_uri=uri, name="orphan", target="elsewhere"))
    url = served.endpoint.url
    # The operator takes the target out of the configuration; a new server reads it.
    fewer = _config(env.base)
    from jupyter_dataops.core.config import DataOps

    dataops = DataOps(
        config=Config({**env.sections, **fewer}),
        root_dir=str(env.root),
        data_dir=str(env.data_dir),
        store_url=env.store_url,
    )
    assert not dataops.endpoint_targets
    later = Services.from_config(dataops, actor="tester")
    try:
        shown = later.endpoints.get("orphan")
        assert shown.target == "elsewhere" and shown.url == ""
        with pytest.raises(BackendUnavailable) as refused:
            later.endpoints.restart("orphan")
        assert "'elsewhere', which this server no longer offers" in refused.value.message
        assert "--on local" in (refused.value.hint or "")
        with pytest.raises(BackendUnavailable):
            later.endpoints.invoke("orphan", InvokeRequest(payload={"inputs": []}))
        with caplog.at_level(logging.WARNING, logger="jupyter_dataops"):
            assert later.endpoints.reconcile() == []
            assert later.endpoints.reconcile() == []
        warned = [r for r in caplog.records if "orphan" in r.getMessage()]
        assert len(warned) == 1  # once, not at every reconcile
        assert _predict(url, model)  # its server was left alone
    finally:
        later.close()
    service.delete("orphan")
    assert not _listens(url)


# -- a cluster offered besides this machine ---------------------------------------------------


def _with_cluster(base: Path, api_url: str, **dataops: Any) -> Config:
    return Config(
        {
            "DataOps": {
                **_config(base),
                "endpoint_targets": ["kubernetes"],
                "store_url": f"sqlite:///{base}/dataops.db",
                **dataops,
            },
            "Kubernetes": {
                "api_url": api_url,
                "namespace": NAMESPACE,
                "serving_image": "dataops-serving:test",
            },
        }
    )


def test_a_cluster_the_registry_cannot_serve_is_refused_before_anything_is_made(tmp_path, model):
    """This machine's sqlite registry cannot serve pods: asking for the cluster is refused
    with the setting to change, before a version is registered or an object made."""
    from jupyter_dataops.core.config import DataOps

    X, clf = model
    with emulated_cluster() as (api, _):
        dataops = DataOps(
            config=_with_cluster(tmp_path, api.url),
            root_dir=str(tmp_path),
            data_dir=str(tmp_path / "data"),
        )
        services = Services.from_config(dataops, actor="alice")
        try:
            settings = services.endpoints.settings()
            assert settings.targets == ["local", "kubernetes"]
            uri = publishing.log_model(clf, settings, example=X[:3], name="m")
            with pytest.raises(BackendUnavailable) as refused:
                services.endpoints.publish(
                    PublishRequest(model_uri=uri, name="big", target="kubernetes")
                )
            assert "c.DataOps.mlflow_tracking_uri" in (
                refused.value.message + (refused.value.hint or "")
            )
            assert services.endpoints.list().total == 0
            assert services.endpoints.models().items == []
            assert not [r for r in api.requests if r.verb == "create"]
        finally:
            services.close()


def test_a_publish_on_the_cluster_serves_there_while_this_machine_stays_the_default(
    tmp_path,
    mlflow_server,  # noqa: F811 (the fixture imported above)
):
    from jupyter_dataops.backends.mlflow_registry import MlflowRegistry
    from jupyter_dataops.core.config import DataOps

    run_id = log_tripler(mlflow_server, "targets")
    with emulated_cluster() as (api, kubelet):
        kubelet.dns["mlflow.dataops.svc:5000"] = mlflow_server.removeprefix("http://")
        dataops = DataOps(
            config=_with_cluster(
                tmp_path,
                api.url,
                mlflow_tracking_uri="http://mlflow.dataops.svc:5000",
                mlflow_artifact_location="mlflow-artifacts:/",
            ),
            root_dir=str(tmp_path),
            data_dir=str(tmp_path / "data"),
        )
        services = Services.from_config(dataops, actor="alice")
        try:
            services.endpoints._registry_factory = lambda: MlflowRegistry(
                mlflow_server, experiment="targets", artifact_location=""
            )
            endpoint = services.endpoints.publish(
                PublishRequest(model_uri=f"runs:/{run_id}/model", name="tri", target="kubernetes"),
                actor="alice",
            ).endpoint
            assert endpoint.target == "kubernetes" and endpoint.status.value == "running"
            assert endpoint.token_required  # every endpoint on a cluster has a token
            assert endpoint.url.startswith("http://dataops-ep-tri.dataops.svc.cluster.local:")
            (deployment,) = api.list("deployments", NAMESPACE)
            assert deployment["metadata"]["labels"]["dataops.io/endpoint"] == "tri"
            result = services.endpoints.invoke(
                "tri", InvokeRequest(payload={"dataframe_records": [{"x": 2.0}]})
            )
            assert result.status == 200 and result.body["predictions"] == [6.0], result
            # The supervisor watches it on its own target: alive, nothing to do.
            assert services.endpoints.reconcile() == []
            services.endpoints.delete("tri", actor="alice")
            assert not api.list("deployments", NAMESPACE)
        finally:
            services.close()
