"""Publishing through the running server (REST under /dataops/api/endpoints and /models), end to
end: a model logged as a kernel logs it (to the tracking URI the server names), published, called
through the try-it proxy and directly, watched by the server's supervisor (a killed server comes
back on its port) and told on the event bus. Every wait is bounded; nothing asserts on timing."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import httpx
import pytest

pytest.importorskip("mlflow")
pytest.importorskip("sklearn")

from jupyter_dataops import publishing
from jupyter_dataops.core.endpoints.models import ModelSettings
from jupyter_dataops.core.events import ENDPOINT_EVENT_SCHEMA_ID

from .conftest import EXTENSION
from .test_schedules_server import assert_error, wait_until


@pytest.fixture
def jp_server_config(jp_server_config: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    return {
        **jp_server_config,
        "DataOps": {
            "endpoint_port_min": 18800,
            "endpoint_port_max": 18850,
            "mlflow_tracking_uri": f"sqlite:///{tmp_path / 'mlflow.db'}",
        },
        "DataOpsExtension": {"endpoint_interval": 0.5, "drift_interval": 3600.0},
    }


@pytest.fixture
def endpoint_events(dataops_server: Any, jp_serverapp: Any) -> list[dict[str, Any]]:
    received: list[dict[str, Any]] = []

    async def listener(logger: Any, schema_id: str, data: dict[str, Any]) -> None:
        received.append(dict(data))

    jp_serverapp.event_logger.add_listener(schema_id=ENDPOINT_EVENT_SCHEMA_ID, listener=listener)
    return received


@pytest.fixture
def cleanup(dataops_server: Any, jp_serverapp: Any):
    yield
    app = jp_serverapp.extension_manager.extension_apps[EXTENSION]
    (extension,) = app
    services = extension.services
    for endpoint in services.endpoints.list().items:
        services.endpoints.delete(endpoint.name)
    services.endpoints.target.stop_launcher()


async def test_publish_and_manage_an_endpoint_through_the_api(
    dataops_api, endpoint_events, cleanup, tmp_path
):
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    X, y = load_iris(return_X_y=True, as_frame=True)
    settings = ModelSettings(**(await dataops_api("GET", "models", "settings")).json())
    assert (
        settings.tracking_uri.endswith(f"{tmp_path}/mlflow.db") and settings.experiment == "dataops"
    )
    uri = publishing.log_model(LogisticRegression(max_iter=500).fit(X, y), settings, example=X[:5])

    # Bad requests are refused with the reason and leave nothing behind.
    bad = await dataops_api("POST", "endpoints", json={"model_uri": uri, "name": "Iris!"})
    assert_error(bad, 400, "invalid_input", "name")
    ghost = await dataops_api(
        "POST", "endpoints", json={"model_uri": "runs:/0123456789abcdef/model", "name": "ghost"}
    )
    assert_error(ghost, 404, "not_found", "No model at")
    assert settings.target == "local" and settings.targets == ["local"]
    elsewhere = await dataops_api(
        "POST", "endpoints", json={"model_uri": uri, "name": "iris", "target": "kubernetes"}
    )
    assert_error(elsewhere, 400, "invalid_input", "endpoints here are served on: local.")
    assert (await dataops_api("GET", "endpoints")).json() == {"items": [], "total": 0}

    made = await dataops_api("POST", "endpoints", json={"model_uri": uri, "name": "iris"})
    assert made.code == 201, made.body
    published = made.json()
    assert made.headers["Location"].endswith("/dataops/api/endpoints/iris")
    endpoint = published["endpoint"]
    assert endpoint["status"] == "running" and endpoint["version"] == 1
    assert published["version"]["aliases"] == ["production"]

    # Direct calls and the try-it proxy answer alike.
    snippets = (await dataops_api("GET", "endpoints", "iris", "snippets")).json()
    direct = httpx.post(endpoint["url"], json=snippets["example"], timeout=30)
    assert direct.status_code == 200 and len(direct.json()["predictions"]) == 5
    tried = (
        await dataops_api(
            "POST", "endpoints", "iris", "invoke", json={"payload": snippets["example"]}
        )
    ).json()
    assert tried["status"] == 200 and tried["body"] == direct.json() and tried["version"] == "1"
    wrong = (
        await dataops_api("POST", "endpoints", "iris", "invoke", json={"payload": {"inputs": "x"}})
    ).json()
    assert 400 <= wrong["status"] < 500 and wrong["body"]["message"]

    metrics = (await dataops_api("GET", "endpoints", "iris", "metrics")).json()
    assert metrics["available"] and sum(p["requests"] for p in metrics["points"]) >= 3
    drift = (await dataops_api("GET", "endpoints", "iris", "drift")).json()
    assert drift["score"] is None and "a score needs 20" in drift["message"]
    token = (await dataops_api("GET", "endpoints", "iris", "token")).json()
    assert token == {"name": "iris", "token": None}
    models = (await dataops_api("GET", "models")).json()
    assert [m["name"] for m in models["items"]] == ["iris"]
    assert (await dataops_api("GET", "models", "iris")).json()["aliases"] == {"production": 1}

    refused = await dataops_api("POST", "endpoints", "iris", "traffic", json={"percent": 150})
    assert_error(refused, 400, "invalid_input", "percent")
    no_canary = await dataops_api("POST", "endpoints", "iris", "promote", json={})
    assert_error(no_canary, 400, "invalid_input", "no canary")
    no_previous = await dataops_api("POST", "endpoints", "iris", "rollback", json={})
    assert_error(no_previous, 409, "conflict", "served no other version")

    # The server's supervisor brings a killed server back on the same port.
    os.kill(endpoint["pid"], signal.SIGKILL)

    async def back() -> bool:
        found = (await dataops_api("GET", "endpoints", "iris")).json()
        return found["restarts"] == 1 and found["status"] == "running"

    await wait_until("the endpoint restarted", back)
    again = (await dataops_api("GET", "endpoints", "iris")).json()
    assert again["port"] == endpoint["port"] and again["pid"] != endpoint["pid"]
    assert httpx.post(endpoint["url"], json=snippets["example"], timeout=30).status_code == 200

    stopped = (await dataops_api("POST", "endpoints", "iris", "stop", json={})).json()
    assert stopped["status"] == "stopped"
    await wait_until(
        "the endpoint events",
        lambda: any(e["id"] == "iris" and e.get("status") == "stopped" for e in endpoint_events),
    )
    assert (await dataops_api("DELETE", "endpoints", "iris")).code == 204
    gone = await dataops_api("GET", "endpoints", "iris")
    assert_error(gone, 404, "not_found", "No endpoint named 'iris'")
    await wait_until(
        "the deleted event",
        lambda: any(e["id"] == "iris" and e["action"] == "deleted" for e in endpoint_events),
    )
