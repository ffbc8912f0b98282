"""What publishing needs from a model registry (MLflow's, in ``backends.mlflow_registry``)."""

from __future__ import annotations

from typing import Any, Protocol

from .models import ModelVersion, RegisteredModel


class ModelRegistry(Protocol):
    tracking_uri: str

    def register(
        self, model_uri: str, name: str, *, tags: dict[str, str], description: str | None
    ) -> ModelVersion:
        """A new version of ``name`` from ``model_uri`` (a ``models:/`` URI of another version
        is registered again under ``name``). Raises NotFound for a URI with no model."""

    def version(self, name: str, version: int) -> ModelVersion: ...

    def set_alias(self, name: str, alias: str, version: int) -> None: ...

    def download_uri(self, name: str, version: int) -> str:
        """Where the version's files are (what a server loads without asking the registry)."""

    def models(self) -> list[RegisteredModel]: ...

    def model(self, name: str) -> RegisteredModel: ...

    def input_example(self, model_uri: str) -> list[dict[str, Any]] | None:
        """The model's logged input example, as rows (None: it has none)."""

    def log_params(self, run_id: str, params: dict[str, Any]) -> None:
        """Record the parameters of the job that made the run, where the run has none."""

    def settings(self) -> dict[str, Any]:
        """{tracking_uri, experiment, artifact_location} for a kernel to log models."""
