"""The model registry on MLflow (``core.endpoints.registry.ModelRegistry``): sqlite tracking and
registry by default (``c.DataOps.mlflow_tracking_uri``), any MLflow server by configuration.
MLflow is imported when first used, never at start-up."""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..core.endpoints.models import ModelVersion, RegisteredModel
from ..core.errors import InvalidInput, NotFound

log = logging.getLogger("jupyter_dataops")
#: Versions listed per model in the catalogue at most (newest first).
MAX_VERSIONS = 50


@contextlib.contextmanager
def tracking(uri: str) -> Iterator[None]:
    """MLflow's process-wide tracking and registry URIs set to ``uri`` for a block, then put
    back as they were (``mlflow.set_tracking_uri`` also writes the environment, which every
    process started afterwards would inherit)."""
    from mlflow.tracking._model_registry import utils as registry_utils
    from mlflow.tracking._tracking_service import utils as tracking_utils

    saved_env = {k: os.environ.get(k) for k in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")}
    # The raw settings (None: "follow the environment / the tracking URI"), not what they
    # resolve to: putting back a resolved value would pin it.
    saved = tracking_utils._tracking_uri, registry_utils._registry_uri
    tracking_utils.set_tracking_uri(uri)
    registry_utils.set_registry_uri(uri)
    try:
        yield
    finally:
        tracking_utils.set_tracking_uri(saved[0])  # type: ignore[arg-type]  # None unsets
        registry_utils._registry_uri = saved[1]
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _artifact_uri(location: str) -> str:
    return location if "://" in location else Path(location).resolve().as_uri()


class MlflowRegistry:
    def __init__(
        self, tracking_uri: str, *, experiment: str, artifact_location: str, ui_url: str = ""
    ) -> None:
        self.tracking_uri = tracking_uri
        self.experiment = experiment
        self.artifact_location = _artifact_uri(artifact_location) if artifact_location else ""
        self.ui_url = ui_url.rstrip("/")
        self._client: Any = None

    @property
    def client(self) -> Any:
        if self._client is None:
            from mlflow import MlflowClient

            self._client = MlflowClient(
                tracking_uri=self.tracking_uri, registry_uri=self.tracking_uri
            )
        return self._client

    # -- versions -----------------------------------------------------------------------------
    def register(
        self, model_uri: str, name: str, *, tags: dict[str, str], description: str | None
    ) -> ModelVersion:
        import mlflow
        from mlflow.exceptions import MlflowException

        client = self.client
        try:
            client.get_registered_model(name)
            existed = True
        except MlflowException:
            existed = False
        try:
            with tracking(self.tracking_uri):  # register_model reads the process's URIs
                version = mlflow.register_model(model_uri, name, tags=tags)
        except (MlflowException, OSError) as exc:
            if not existed:  # a failed publish leaves no empty model behind
                with contextlib.suppress(MlflowException):
                    client.delete_registered_model(name)
            raise _refused(model_uri, exc) from None
        if description:
            client.update_model_version(name, version.version, description=description)
        return self.version(name, int(version.version))

    def version(self, name: str, version: int) -> ModelVersion:
        from mlflow.exceptions import MlflowException

        try:
            found = self.client.get_model_version(name, str(version))
        except MlflowException:
            raise NotFound(
                f"The model {name!r} has no version {version}.",
                hint=f"See its versions with `dataops endpoints show` or GET /dataops/api/models/{name}.",
            ) from None
        return self._to_version(found, details=True)

    def _to_version(self, found: Any, *, details: bool) -> ModelVersion:
        tags = dict(found.tags or {})
        params: dict[str, str] = {}
        metrics: dict[str, float] = {}
        flavors: list[str] = []
        signature = None
        if details and found.run_id:
            try:
                run = self.client.get_run(found.run_id)
                params = dict(run.data.params)
                metrics = {k: float(v) for k, v in run.data.metrics.items()}
            except Exception:  # a deleted run
                pass
        if details:
            try:
                from mlflow.models import get_model_info

                with tracking(self.tracking_uri):
                    info = get_model_info(f"models:/{found.name}/{found.version}")
                flavors = sorted(info.flavors)
                signature = info.signature.to_dict() if info.signature is not None else None
            except Exception as exc:
                log.debug(
                    "jupyter_dataops: no model info for %s/%s: %s", found.name, found.version, exc
                )
        run_url = None
        if self.ui_url and found.run_id:
            run_url = f"{self.ui_url}/#/experiments/0/runs/{found.run_id}"
            try:
                experiment = self.client.get_run(found.run_id).info.experiment_id
                run_url = f"{self.ui_url}/#/experiments/{experiment}/runs/{found.run_id}"
            except Exception:
                pass
        return ModelVersion(
            name=found.name,
            version=int(found.version),
            run_id=found.run_id or None,
            source=str(found.source),
            model_uri=f"models:/{found.name}/{found.version}",
            aliases=list(getattr(found, "aliases", []) or []),
            flavors=flavors,
            signature=signature,
            created_at=(found.creation_timestamp or 0) / 1000,
            description=found.description or None,
            tags={k: v for k, v in tags.items()},
            params=params,
            metrics=metrics,
            job_id=tags.get("dataops.job_id"),
            snapshot_id=tags.get("dataops.snapshot_id"),
            run_url=run_url,
        )

    def download_uri(self, name: str, version: int) -> str:
        return str(self.client.get_model_version_download_uri(name, str(version)))

    def set_alias(self, name: str, alias: str, version: int) -> None:
        self.client.set_registered_model_alias(name, alias, str(version))

    def models(self) -> list[RegisteredModel]:
        return [self._to_model(m) for m in self.client.search_registered_models(max_results=500)]

    def model(self, name: str) -> RegisteredModel:
        from mlflow.exceptions import MlflowException

        try:
            found = self.client.get_registered_model(name)
        except MlflowException:
            raise NotFound(
                f"No registered model named {name!r}.",
                hint="See GET /dataops/api/models for the models there are.",
            ) from None
        return self._to_model(found, details=True)

    def _to_model(self, found: Any, *, details: bool = False) -> RegisteredModel:
        versions = self.client.search_model_versions(
            f"name='{found.name}'", max_results=MAX_VERSIONS, order_by=["version_number DESC"]
        )
        items = [self._to_version(v, details=details) for v in versions]
        return RegisteredModel(
            name=found.name,
            description=found.description or None,
            aliases={k: int(v) for k, v in (found.aliases or {}).items()},
            latest_version=items[0].version if items else None,
            updated_at=(found.last_updated_timestamp or 0) / 1000 or None,
            versions=items,
        )

    # -- what comes with a model --------------------------------------------------------------
    def input_example(self, model_uri: str) -> list[dict[str, Any]] | None:
        """The logged input example as rows: a DataFrame's columns by name, an array's by
        position ("0", "1", ...)."""
        import mlflow

        if model_uri.startswith("models:/"):
            _, _, rest = model_uri.partition("models:/")
            name, _, version = rest.partition("/")
            base = self.client.get_model_version_download_uri(name, version)
        else:
            base = model_uri
        try:
            with tracking(self.tracking_uri):
                meta_path = mlflow.artifacts.download_artifacts(artifact_uri=f"{base}/MLmodel")
        except Exception:
            return None
        import yaml

        with open(meta_path, encoding="utf-8") as f:
            meta = yaml.safe_load(f) or {}
        info = meta.get("saved_input_example_info")
        if not info:
            return None
        with tracking(self.tracking_uri):
            path = mlflow.artifacts.download_artifacts(
                artifact_uri=f"{base}/{info['artifact_path']}"
            )
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        return _rows(data)

    def log_params(self, run_id: str, params: dict[str, Any]) -> None:
        have = self.client.get_run(run_id).data.params
        for key, value in params.items():
            if key not in have:
                self.client.log_param(run_id, key, json.dumps(value)[:6000])

    def settings(self) -> dict[str, Any]:
        """Where a kernel logs models; creates the experiment (with its artifact folder) when
        it does not exist, so models never land in a ./mlruns of the kernel's directory."""
        client = self.client
        experiment = client.get_experiment_by_name(self.experiment)
        if experiment is None:
            if self.artifact_location.startswith("file:"):
                from urllib.parse import unquote, urlparse

                os.makedirs(unquote(urlparse(self.artifact_location).path), exist_ok=True)
            try:
                client.create_experiment(
                    self.experiment, artifact_location=self.artifact_location or None
                )
            except Exception:  # created by another process meanwhile
                pass
            experiment = client.get_experiment_by_name(self.experiment)
        return {
            "tracking_uri": self.tracking_uri,
            "experiment": self.experiment,
            "artifact_location": experiment.artifact_location if experiment else None,
        }


def _rows(data: Any) -> list[dict[str, Any]] | None:
    """MLflow's saved input example (split-oriented frame, {"inputs": ...}, a list) as rows."""
    if isinstance(data, dict) and "columns" in data and "data" in data:
        return [
            dict(zip([str(c) for c in data["columns"]], row, strict=False)) for row in data["data"]
        ]
    if isinstance(data, dict) and "inputs" in data:
        data = data["inputs"]
    if isinstance(data, dict) and all(isinstance(v, list) for v in data.values()):
        keys = list(data)
        n = min((len(data[k]) for k in keys), default=0)
        return [{k: data[k][i] for k in keys} for i in range(n)]
    if isinstance(data, list) and data:
        if all(isinstance(r, dict) for r in data):
            return [dict(r) for r in data]
        if all(isinstance(r, list) for r in data):
            return [{str(i): v for i, v in enumerate(r)} for r in data]
    return None


def _refused(model_uri: str, exc: Exception) -> Exception:
    """The core error that says why MLflow refused to register ``model_uri``."""
    from mlflow.exceptions import MlflowException

    if isinstance(exc, OSError):
        return NotFound(
            f"No model at {model_uri!r}: {exc.strerror or exc}",
            hint="Give a folder with an MLmodel file, or a runs:/ or models:/ URI.",
        )
    text = str(getattr(exc, "message", exc)).splitlines()[0][:300]
    code = getattr(exc, "error_code", "") if isinstance(exc, MlflowException) else ""
    if code in ("RESOURCE_DOES_NOT_EXIST", "NOT_FOUND") or "not found" in text.lower():
        return NotFound(
            f"No model at {model_uri!r}: {text}",
            hint="Give a model URI MLflow knows: runs:/RUN_ID/model, models:/NAME/N, "
            "or a folder with an MLmodel file.",
        )
    return InvalidInput(
        f"MLflow cannot register {model_uri!r}: {text}",
        hint="Give a logged model's URI (runs:/RUN_ID/model, models:/NAME/N).",
    )
