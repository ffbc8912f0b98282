"""The OpenAPI file is the REST contract: it must describe exactly the routes the server registers,
with the schemas of the models the handlers really parse and render."""

from __future__ import annotations

from typing import Any

import pytest
from openapi_spec_validator import validate

from jupyter_dataops.core.jobs.models import JobQuery
from jupyter_dataops.server.handlers import default_handlers
from jupyter_dataops.server.handlers.not_found import UnknownRouteHandler
from jupyter_dataops.server.openapi import dump_spec, load_spec, main, model_schemas

from .conftest import registered_routes

HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    return load_spec()


def spec_operations(spec: dict[str, Any]) -> dict[str, set[str]]:
    return {
        path: {m.upper() for m in item if m in HTTP_METHODS} for path, item in spec["paths"].items()
    }


def test_spec_is_valid_openapi_3_1(spec):
    assert spec["openapi"].startswith("3.1")
    validate(spec)


def test_schemas_are_generated_from_the_models(spec):
    assert spec["components"]["schemas"] == model_schemas(), (
        "openapi.yaml is out of date: run python -m jupyter_dataops.server.openapi"
    )
    assert main(["--check"]) == 0


def test_check_fails_when_a_schema_drifts(tmp_path, spec):
    drifted = dict(spec)
    drifted["components"] = dict(spec["components"])
    schemas = dict(spec["components"]["schemas"])
    job_create = dict(schemas["JobCreate"])
    job_create["required"] = [*job_create["required"], "kernel_name"]
    schemas["JobCreate"] = job_create
    drifted["components"]["schemas"] = schemas
    path = tmp_path / "openapi.yaml"
    path.write_text(dump_spec(drifted), encoding="utf-8")
    assert main(["--check", "--path", str(path)]) == 1
    assert main(["--path", str(path)]) == 0  # regenerates
    assert main(["--check", "--path", str(path)]) == 0


def documented_routes(web_app: Any) -> dict[str, tuple[Any, frozenset[str]]]:
    """The registered routes but the catch-all, which answers any other /dataops/api path with a
    404 and which OpenAPI, a list of real paths, cannot describe."""
    routes = registered_routes(web_app)
    catch_all = {path for path, (handler, _) in routes.items() if handler is UnknownRouteHandler}
    assert catch_all == {"/dataops/api{path}"}
    del routes["/dataops/api{path}"]
    return routes


def test_paths_and_methods_equal_the_registered_routes(jp_serverapp, spec):
    # Every handler we ship is registered, and nothing else under /dataops is.
    assert len(registered_routes(jp_serverapp.web_app)) == len(default_handlers)
    # The catch-all comes after every other route, so it shadows none of them.
    assert default_handlers[-1][1] is UnknownRouteHandler
    registered = {
        path: methods for path, (_, methods) in documented_routes(jp_serverapp.web_app).items()
    }
    assert len(registered) == len(default_handlers) - 1
    assert spec_operations(spec) == registered


def test_every_path_parameter_is_declared(spec):
    for path, item in spec["paths"].items():
        declared = {p["name"] for p in _parameters(spec, item) if p["in"] == "path"}
        in_path = set(_braces(path))
        assert declared == in_path, path


def test_query_arguments_match_the_handlers(jp_serverapp, spec):
    for path, (handler, methods) in documented_routes(jp_serverapp.web_app).items():
        for method in methods:
            operation = spec["paths"][path][method.lower()]
            item_parameters = _parameters(spec, spec["paths"][path])
            params = [*item_parameters, *_parameters(spec, operation)]
            documented = {p["name"] for p in params if p["in"] == "query"}
            accepted = set(handler.accepted_arguments(method))
            if method in ("GET", "DELETE"):
                assert documented == accepted, (path, method)
            else:
                assert documented <= accepted, (path, method)


def test_job_list_query_arguments_follow_the_job_query_model(spec):
    params = {p["name"]: p for p in spec["paths"]["/dataops/api/jobs"]["get"]["parameters"]}
    assert set(params) == set(JobQuery.model_fields)
    model = JobQuery.model_json_schema()["properties"]
    for name in ("sort", "order"):
        assert params[name]["schema"]["enum"] == model[name]["enum"], name
    for name in ("limit", "sort", "order"):
        assert params[name]["schema"]["default"] == model[name]["default"], name
    assert params["limit"]["schema"]["maximum"] == model["limit"]["maximum"]


def test_every_error_response_uses_the_error_body(spec):
    for name, response in spec["components"]["responses"].items():
        schema = response["content"]["application/json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/ErrorBody"}, name


def _parameters(spec: dict[str, Any], item: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for p in item.get("parameters", []):
        if "$ref" in p:
            p = spec["components"]["parameters"][p["$ref"].rsplit("/", 1)[1]]
        out.append(p)
    return out


def _braces(path: str) -> list[str]:
    import re

    return re.findall(r"{(\w+)}", path)


def test_the_job_event_model_follows_the_event_schema():
    """The JobEvent schema in openapi.yaml (from which the frontend's type is generated) says what
    the server's events carry: the same fields as the jupyter_events schema, same requirements."""
    import yaml

    from jupyter_dataops.core.events import JOB_EVENT_SCHEMA_ID, SCHEMAS_DIR
    from jupyter_dataops.core.jobs.models import JobEvent

    schema = yaml.safe_load((SCHEMAS_DIR / "job" / "v2.yaml").read_text())
    assert schema["$id"] == JOB_EVENT_SCHEMA_ID
    assert set(schema["properties"]) == set(JobEvent.model_fields)
    required = {n for n, f in JobEvent.model_fields.items() if f.is_required()}
    assert set(schema["required"]) == required
