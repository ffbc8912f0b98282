"""Publishing from a kernel: find the model-like objects a cell defined, and log one to MLflow
with its signature, input example and pip requirements, so the server can register and serve
it. This runs in the kernel, where the object lives (``%dataops publish`` and the "Publish
model" dialog call it); the server never unpickles a kernel's objects.

Flavours: scikit-learn estimators and pipelines, XGBoost and LightGBM models, PyTorch modules,
Keras models (the latter two through MLflow's own flavours, when installed), and plain Python
callables as MLflow pyfunc models. Requirements come from the kernel's installed distributions
(``importlib.metadata``), not from MLflow's inference, which costs seconds.
"""

from __future__ import annotations

import ast
import json
import sys
from typing import Any

from .core.endpoints.models import Candidate, ModelSettings
from .core.errors import InvalidInput

#: Rows of the reference data sent for the drift score at most (sampled evenly).
MAX_REFERENCE_ROWS = 5000
#: Rows of the input example logged with the model at most.
MAX_EXAMPLE_ROWS = 20

#: flavour -> the top-level modules whose distributions the model needs.
_MODULES = {
    "sklearn": ["sklearn", "numpy", "scipy", "pandas", "cloudpickle"],
    "xgboost": ["xgboost", "sklearn", "numpy", "scipy", "pandas"],
    "lightgbm": ["lightgbm", "sklearn", "numpy", "scipy", "pandas"],
    "pytorch": ["torch", "numpy", "pandas", "cloudpickle"],
    "keras": ["keras", "tensorflow", "numpy", "pandas"],
    "pyfunc": ["numpy", "pandas", "cloudpickle"],
}


def flavor_of(value: Any) -> str | None:
    """The MLflow flavour that would log ``value``, or None when it is not a model."""
    if isinstance(value, type):
        return None
    module = type(value).__module__.split(".")[0]
    if module == "xgboost" and hasattr(value, "predict"):
        return "xgboost"
    if module == "lightgbm" and hasattr(value, "predict"):
        return "lightgbm"
    if module == "sklearn" or (
        hasattr(value, "fit") and hasattr(value, "predict") and hasattr(value, "get_params")
    ):
        return "sklearn"
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(value, torch.nn.Module):
        return "pytorch"
    keras = sys.modules.get("keras")
    if keras is not None and isinstance(value, getattr(keras, "Model", ())):
        return "keras"
    if callable(value) and type(value).__name__ == "function" and not module.startswith("_"):
        # Plain functions defined in the notebook (not builtins or library functions).
        if getattr(value, "__module__", None) == "__main__":
            return "pyfunc"
    return None


def _example_like(value: Any) -> str | None:
    pandas = sys.modules.get("pandas")
    numpy = sys.modules.get("numpy")
    if pandas is not None and isinstance(value, pandas.DataFrame | pandas.Series):
        return "x".join(str(n) for n in value.shape)
    if numpy is not None and isinstance(value, numpy.ndarray) and value.ndim in (1, 2):
        return "x".join(str(n) for n in value.shape)
    return None


def assigned_names(source: str) -> list[str]:
    """The names a cell's code binds at its top level (assignments, imports, defs), in order."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    names: list[str] = []
    for node in ast.walk(tree):
        targets: list[ast.AST] = []
        if isinstance(node, ast.Assign):
            targets = list(node.targets)
        elif isinstance(node, ast.AnnAssign | ast.AugAssign):
            targets = [node.target]
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.append(node.name)
        elif isinstance(node, ast.For | ast.With):
            targets = (
                [node.target]
                if isinstance(node, ast.For)
                else [i.optional_vars for i in node.items if i.optional_vars is not None]
            )
        for target in targets:
            for sub in ast.walk(target):
                if isinstance(sub, ast.Name):
                    names.append(sub.id)
    return list(dict.fromkeys(names))


def candidates(namespace: dict[str, Any], source: str | None = None) -> dict[str, Any]:
    """The models a cell defined (``in_cell``), then the kernel's other models, and the
    DataFrames and arrays that could be an input example."""
    in_cell = set(assigned_names(source)) if source else set()
    models: list[dict[str, Any]] = []
    examples: list[dict[str, Any]] = []
    for name, value in list(namespace.items()):
        if name.startswith("_") or name in ("In", "Out", "exit", "quit", "get_ipython"):
            continue
        flavor = flavor_of(value)
        if flavor is not None:
            item = Candidate(name=name, type=type(value).__name__, flavor=flavor).model_dump()
            models.append({**item, "in_cell": name in in_cell})
            continue
        shape = _example_like(value)
        if shape is not None:
            examples.append({"name": name, "type": type(value).__name__, "shape": shape})
    models.sort(key=lambda m: (not m["in_cell"], m["name"]))
    return {"models": models, "examples": examples}


def print_candidates(namespace: dict[str, Any], source: str | None = None) -> None:
    """What the "Publish model" dialog reads: one JSON line."""
    print(json.dumps(candidates(namespace, source)))


def requirements(flavor: str) -> list[str]:
    """``dist==version`` of what the flavour needs, as installed in this kernel."""
    from importlib import metadata

    owners = metadata.packages_distributions()
    wanted = ["mlflow", *_MODULES.get(flavor, [])]
    found: dict[str, str] = {}
    for module in wanted:
        for dist in owners.get(module, []):
            if module == "mlflow" and dist not in ("mlflow", "mlflow-skinny"):
                continue
            try:
                found[dist] = metadata.version(dist)
            except metadata.PackageNotFoundError:
                continue
            break
    return [f"{dist}=={version}" for dist, version in sorted(found.items())]


def rows_of(value: Any, limit: int) -> list[dict[str, Any]] | None:
    """Up to ``limit`` rows of a DataFrame or 2-D array as JSON-able dicts, sampled evenly."""
    import numpy as np

    pandas = sys.modules.get("pandas")
    if pandas is not None and isinstance(value, pandas.Series):
        value = value.to_frame()
    if pandas is not None and isinstance(value, pandas.DataFrame):
        frame = value
    elif isinstance(value, np.ndarray) and value.ndim in (1, 2):
        import pandas as pd

        frame = pd.DataFrame(value if value.ndim == 2 else value.reshape(-1, 1))
        frame.columns = [str(c) for c in frame.columns]
    else:
        return None
    if len(frame) > limit:
        step = len(frame) / limit
        frame = frame.iloc[[int(i * step) for i in range(limit)]]
    return json.loads(frame.to_json(orient="records", date_format="iso"))


def log_model(
    value: Any,
    settings: ModelSettings,
    *,
    example: Any = None,
    name: str = "model",
    tags: dict[str, str] | None = None,
    metrics: dict[str, float] | None = None,
) -> str:
    """Log ``value`` to MLflow (in the kernel's active run if there is one, so its parameters
    and metrics come along; else a new run) and return the model's URI."""
    flavor = flavor_of(value)
    if flavor is None:
        raise InvalidInput(
            f"A {type(value).__name__} is not a model dataops can publish.",
            hint="Publish a scikit-learn, XGBoost, LightGBM, PyTorch or Keras model, or a "
            "function defined in the notebook.",
        )
    import mlflow

    from .backends.mlflow_registry import tracking

    # The user's own run counts only when it is in the store models are published from.
    user_uri = mlflow.get_tracking_uri()
    if example is not None:
        pandas = sys.modules.get("pandas")
        if pandas is not None and isinstance(example, pandas.DataFrame | pandas.Series):
            example = example.head(MAX_EXAMPLE_ROWS)
        elif hasattr(example, "__len__") and hasattr(example, "__getitem__"):
            example = example[:MAX_EXAMPLE_ROWS]
    kwargs: dict[str, Any] = {
        "name": "model",
        "pip_requirements": requirements(flavor),
    }
    if example is not None:
        kwargs["input_example"] = example
        signature = _signature(value, flavor, example)
        if signature is not None:
            kwargs["signature"] = signature
    active = mlflow.active_run()
    if active is not None and user_uri == settings.tracking_uri:
        if tags:
            mlflow.set_tags(tags)
        if metrics:
            mlflow.log_metrics(metrics)
        return str(_log(flavor, value, kwargs).model_uri)
    with tracking(settings.tracking_uri):
        client = mlflow.MlflowClient(settings.tracking_uri)
        experiment = client.get_experiment_by_name(settings.experiment)
        experiment_id = (
            experiment.experiment_id
            if experiment is not None
            else client.create_experiment(
                settings.experiment, artifact_location=settings.artifact_location
            )
        )
        with mlflow.start_run(
            run_name=name, experiment_id=experiment_id, tags=tags or {}, nested=active is not None
        ):
            if metrics:
                mlflow.log_metrics(metrics)
            info = _log(flavor, value, kwargs)
    return str(info.model_uri)


def _signature(value: Any, flavor: str, example: Any) -> Any:
    from mlflow.models import infer_signature

    try:
        if flavor == "pyfunc":
            output = value(example)
        elif flavor in ("sklearn", "xgboost", "lightgbm"):
            output = value.predict(example)
        else:
            return None  # MLflow's flavour infers it from the input example
        return infer_signature(example, output)
    except Exception as exc:
        raise InvalidInput(
            f"The model cannot predict on the example: {type(exc).__name__}: {exc}",
            hint="Give an example it takes, e.g. rows of its training data (--example X_test[:5]).",
        ) from None


def _log(flavor: str, value: Any, kwargs: dict[str, Any]) -> Any:
    if flavor == "sklearn":
        import mlflow.sklearn

        return mlflow.sklearn.log_model(value, serialization_format="cloudpickle", **kwargs)
    if flavor == "xgboost":
        import mlflow.xgboost

        return mlflow.xgboost.log_model(value, **kwargs)
    if flavor == "lightgbm":
        import mlflow.lightgbm

        return mlflow.lightgbm.log_model(value, **kwargs)
    if flavor == "pytorch":
        import mlflow.pytorch

        return mlflow.pytorch.log_model(value, **kwargs)
    if flavor == "keras":
        import mlflow.keras

        return mlflow.keras.log_model(value, **kwargs)
    import mlflow.pyfunc

    return mlflow.pyfunc.log_model(python_model=value, **kwargs)


def root_name(expression: str) -> str | None:
    """The variable an example expression starts from (``X_test`` of ``X_test.iloc[:5]``)."""
    try:
        node: ast.AST = ast.parse(expression.strip(), mode="eval").body
    except SyntaxError:
        return None
    while True:
        if isinstance(node, ast.Name):
            return node.id
        if isinstance(node, ast.Attribute | ast.Subscript):
            node = node.value
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            node = node.func.value
        else:
            return None
