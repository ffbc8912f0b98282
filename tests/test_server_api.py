"""REST API: each route's happy path, and bad input answered with a 4xx that says what is wrong
(and changes nothing)."""

from __future__ import annotations

import getpass
import json
import os

import pytest

import jupyter_dataops

PARAMS = 'alpha = 0.5  # learning rate\nepochs: int = 3\nname = "run"\nflags = [1, 2]'


def assert_error(response, code: int, error: str) -> dict:
    assert response.code == code, response
    body = response.json()
    assert set(body) == {"error", "message", "hint", "details"}, body
    assert body["error"] == error, body
    assert body["message"], body
    return body


async def assert_nothing_stored(dataops_api, notebook_root):
    page = (await dataops_api("GET", "jobs")).json()
    assert page["total"] == 0 and page["items"] == []
    assert not any((notebook_root / "dataops-jobs").glob("*"))


# -- info and notebooks --------------------------------------------------------------------------
async def test_info(dataops_api, notebook_root):
    response = await dataops_api("GET", "info")
    assert response.code == 200
    info = response.json()
    assert info["version"] == jupyter_dataops.__version__
    assert (info["jobs_dir"], info["root_dir"]) == ("dataops-jobs", os.path.realpath(notebook_root))
    # A single-user server with token auth acts as the OS user, not a random display name.
    assert info["user"] == getpass.getuser()
    assert info["executor"] == {
        "name": "local",
        "cancel": True,
        "logs": True,
        "follow_logs": True,
        "progress": True,
        "gpus": False,
        "max_concurrent_jobs": os.cpu_count() or 1,
        "profiles": False,  # a job's profile starts a sandbox here; it sizes pods on a cluster
    }


async def test_notebook_parameters(dataops_api, make_notebook):
    make_notebook("sub/train.ipynb", ["print(alpha)", "print(epochs)"], parameters=PARAMS)
    response = await dataops_api(
        "GET", "notebooks", "parameters", params={"path": "sub/train.ipynb"}
    )
    assert response.code == 200, response
    body = response.json()
    assert body["path"] == "sub/train.ipynb"
    assert body["has_parameters_cell"] is True
    assert body["kernel_name"] == "python3"
    assert body["cell_count"] == 3
    by_name = {p["name"]: p for p in body["parameters"]}
    assert list(by_name) == ["alpha", "epochs", "name", "flags"]
    assert by_name["alpha"] == {
        "name": "alpha",
        "type": "float",
        "default": 0.5,
        "default_repr": "0.5",
        "help": "learning rate",
    }
    assert by_name["epochs"]["type"] == "int"
    assert by_name["name"]["default"] == "run"
    assert by_name["flags"]["type"] == "list"


async def test_notebook_parameters_bad_input(dataops_api, make_notebook, notebook_root):
    make_notebook("plain.ipynb", ["1"])
    (notebook_root / "notes.txt").write_text("hi")

    body = assert_error(await dataops_api("GET", "notebooks", "parameters"), 400, "invalid_input")
    assert "path" in body["message"]
    assert_error(
        await dataops_api("GET", "notebooks", "parameters", params={"path": "missing.ipynb"}),
        404,
        "not_found",
    )
    assert_error(
        await dataops_api("GET", "notebooks", "parameters", params={"path": "notes.txt"}),
        400,
        "invalid_input",
    )
    body = assert_error(
        await dataops_api(
            "GET", "notebooks", "parameters", params={"path": "plain.ipynb", "pth": "x"}
        ),
        400,
        "invalid_input",
    )
    assert body["details"]["unknown"] == ["pth"]
    response = await dataops_api("GET", "notebooks", "parameters", params={"path": "plain.ipynb"})
    assert response.code == 200
    assert response.json()["has_parameters_cell"] is False


# -- creating jobs: bad input stores nothing -----------------------------------------------------
async def test_create_job_for_a_missing_notebook_is_404(dataops_api, notebook_root):
    body = assert_error(
        await dataops_api("POST", "jobs", json={"notebook_path": "nope.ipynb"}), 404, "not_found"
    )
    assert "nope.ipynb" in body["message"]
    assert body["hint"]
    await assert_nothing_stored(dataops_api, notebook_root)


async def test_wrong_parameter_type_is_400_and_stores_nothing(
    dataops_api, make_notebook, notebook_root
):
    make_notebook("train.ipynb", ["print(epochs)"], parameters=PARAMS)
    body = assert_error(
        await dataops_api(
            "POST",
            "jobs",
            json={"notebook_path": "train.ipynb", "parameters": {"epochs": "many"}},
        ),
        400,
        "invalid_input",
    )
    assert "epochs" in body["message"] and "int" in body["message"]
    assert body["details"] == {"parameter": "epochs"}
    await assert_nothing_stored(dataops_api, notebook_root)


async def test_parameters_for_a_notebook_without_parameters_cell_are_injected_with_a_warning(
    dataops_api, make_notebook
):
    make_notebook("plain.ipynb", ["print(alpha)"])
    inspected = await dataops_api("GET", "notebooks", "parameters", params={"path": "plain.ipynb"})
    assert any("no cell tagged 'parameters'" in w for w in inspected.json()["warnings"])
    response = await dataops_api(
        "POST", "jobs", json={"notebook_path": "plain.ipynb", "parameters": {"alpha": 1}}
    )
    assert response.code == 201, response
    job = response.json()
    assert any("injected in a new cell at the top" in w for w in job["warnings"])
    done = await dataops_api.wait_for_job(job["id"])
    assert done["status"] == "completed", done


async def test_unknown_kernel_is_400(dataops_api, make_notebook, notebook_root):
    make_notebook("train.ipynb", ["1"], parameters=PARAMS)
    body = assert_error(
        await dataops_api(
            "POST", "jobs", json={"notebook_path": "train.ipynb", "kernel_name": "no-such-kernel"}
        ),
        400,
        "invalid_input",
    )
    assert body["details"] == {"kernel_name": "no-such-kernel"}
    assert "python3" in body["message"]  # names the kernels that exist
    await assert_nothing_stored(dataops_api, notebook_root)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"{not json", None),
        (b"", None),
        (b"[1, 2]", "(body)"),
        (b'{"notebook_path": "train.ipynb", "colour": "red"}', "colour"),
        (b'{"parameters": {}}', "notebook_path"),
        (b'{"notebook_path": ""}', "notebook_path"),
        (b'{"notebook_path": "train.ipynb", "max_retries": 11}', "max_retries"),
        (b'{"notebook_path": "train.ipynb", "timeout_seconds": -1}', "timeout_seconds"),
        (b'{"notebook_path": "train.ipynb", "parameters": [1]}', "parameters"),
        (b'{"notebook_path": "train.ipynb", "tags": ["' + b"x" * 101 + b'"]}', "tags.0"),
        (b'{"notebook_path": "train.ipynb", "name": "' + b"n" * 201 + b'"}', "name"),
        (b"[" * 200_000 + b"]" * 200_000, None),
        (
            b'{"notebook_path": "train.ipynb", "parameters": {"alpha": '
            + b"[" * 200_000
            + b"]" * 200_000
            + b"}}",
            None,
        ),
        (b'{"notebook_path": "' + b"a/" * 3000 + b'x.ipynb"}', "notebook_path"),
    ],
)
async def test_malformed_create_requests_are_400(
    dataops_api, make_notebook, notebook_root, body, field
):
    make_notebook("train.ipynb", ["1"], parameters=PARAMS)
    error = assert_error(await dataops_api("POST", "jobs", body=body), 400, "invalid_input")
    if field is not None:
        fields = [e["field"] for e in error["details"]["errors"]]
        assert fields == [field], error
        assert field in error["message"]
    await assert_nothing_stored(dataops_api, notebook_root)


async def test_unknown_parameter_is_accepted_with_a_warning(dataops_api, make_notebook):
    make_notebook("train.ipynb", ["print(alpha)"], parameters=PARAMS)
    response = await dataops_api(
        "POST",
        "jobs",
        json={"notebook_path": "train.ipynb", "parameters": {"alpha": "0.25", "beta": 2}},
    )
    assert response.code == 201, response
    job = response.json()
    assert job["parameters"] == {"alpha": 0.25, "beta": 2}  # alpha coerced to the cell's float
    assert len(job["warnings"]) == 1 and "'beta'" in job["warnings"][0]
    assert response.headers["Location"].endswith(f"/dataops/api/jobs/{job['id']}")


# -- listing --------------------------------------------------------------------------------------
async def test_list_filters_sorts_and_pages(dataops_api, make_notebook):
    make_notebook("a/train.ipynb", ["1"], parameters="alpha = 1")
    make_notebook("b/report.ipynb", ["2"])
    created = [
        await dataops_api.create_job(notebook_path="a/train.ipynb", name="t1"),
        await dataops_api.create_job(notebook_path="b/report.ipynb", name="r1"),
        await dataops_api.create_job(
            notebook_path="a/train.ipynb", name="t2", parameters={"alpha": 2}
        ),
    ]

    page = (await dataops_api("GET", "jobs")).json()
    assert page["total"] == 3 and page["next_cursor"] is None and page["prev_cursor"] is None
    assert [j["id"] for j in page["items"]] == [j["id"] for j in reversed(created)]  # newest first
    assert sum(page["counts"].values()) == 3 and page["seq"] >= 3
    assert set(page["counts"]) == {"queued", "running", "completed", "failed", "cancelled"}
    # A list has summaries: no parameters, warnings or tracebacks (a 5 MB parameter made every
    # page 5 MB).
    assert "parameters" not in page["items"][0] and "warnings" not in page["items"][0]

    page = (await dataops_api("GET", "jobs", params={"notebook": "a/train.ipynb"})).json()
    assert page["total"] == 2 and {j["name"] for j in page["items"]} == {"t1", "t2"}

    page = (await dataops_api("GET", "jobs", params={"id": [created[0]["id"], "nope"]})).json()
    assert [j["id"] for j in page["items"]] == [created[0]["id"]]

    page = (await dataops_api("GET", "jobs", params={"sort": "name", "order": "asc"})).json()
    assert [j["name"] for j in page["items"]] == ["r1", "t1", "t2"]

    first = (
        await dataops_api("GET", "jobs", params={"sort": "name", "order": "asc", "limit": 1})
    ).json()
    assert first["total"] == 3 and [j["name"] for j in first["items"]] == ["r1"]
    second = (
        await dataops_api(
            "GET",
            "jobs",
            params={"sort": "name", "order": "asc", "limit": 1, "cursor": first["next_cursor"]},
        )
    ).json()
    assert [j["name"] for j in second["items"]] == ["t1"]
    back = (
        await dataops_api(
            "GET",
            "jobs",
            params={"sort": "name", "order": "asc", "limit": 1, "cursor": second["prev_cursor"]},
        )
    ).json()
    assert [j["name"] for j in back["items"]] == ["r1"] and back["prev_cursor"] is None

    # Repeated status arguments are OR-ed; together they cover every job.
    everything = ["queued", "running", "completed", "failed", "cancelled"]
    page = (await dataops_api("GET", "jobs", params={"status": everything})).json()
    assert page["total"] == 3
    page = (await dataops_api("GET", "jobs", params={"status": ["failed", "cancelled"]})).json()
    assert page["total"] == 0

    # JupyterLab's cache-busting bare timestamp is not an unknown argument.
    assert (await dataops_api("GET", "jobs", params={"1732230000000": ""})).code == 200


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "finished"}, "status.0"),
        ({"limit": "0"}, "limit"),
        ({"limit": "lots"}, "limit"),
        ({"limit": str(2**64)}, "limit"),
        ({"sort": "colour"}, "sort"),
        ({"order": "up"}, "order"),
        ({"cursor": "x" * 3000}, "cursor"),
        ({"id": "x" * 40}, "id.0"),
    ],
)
async def test_bad_list_queries_are_400(dataops_api, params, field):
    error = assert_error(await dataops_api("GET", "jobs", params=params), 400, "invalid_input")
    assert [e["field"] for e in error["details"]["errors"]] == [field]


async def test_offset_paging_is_gone_with_a_pointer_to_cursors(dataops_api):
    error = assert_error(
        await dataops_api("GET", "jobs", params={"offset": str(2**70)}), 400, "invalid_input"
    )
    assert error["details"]["unknown"] == ["offset"] and "cursor" in error["hint"]


async def test_a_made_up_cursor_is_400(dataops_api):
    body = assert_error(
        await dataops_api("GET", "jobs", params={"cursor": "eyJ4IjogMX0"}), 400, "invalid_input"
    )
    assert "cursor" in body["message"]


@pytest.mark.parametrize("offset", ["-1", str(2**64), "x"])
async def test_bad_log_offsets_are_400(dataops_api, make_notebook, offset):
    make_notebook("n.ipynb", ["1"])
    job = await dataops_api.create_job(notebook_path="n.ipynb")
    assert_error(
        await dataops_api("GET", "jobs", job["id"], "logs", params={"offset": offset}),
        400,
        "invalid_input",
    )


async def test_a_body_over_the_bound_is_413(dataops_api, make_notebook, notebook_root):
    make_notebook("n.ipynb", ["1"], parameters="x = ''")
    big = json.dumps({"notebook_path": "n.ipynb", "parameters": {"x": "a" * (9 * 1024 * 1024)}})
    body = assert_error(await dataops_api("POST", "jobs", body=big), 413, "too_large")
    assert "max_request_bytes" in body["hint"]
    await assert_nothing_stored(dataops_api, notebook_root)


async def test_a_parameter_over_the_bound_is_400(dataops_api, make_notebook, notebook_root):
    make_notebook("n.ipynb", ["1"], parameters="x = ''")
    big = {"notebook_path": "n.ipynb", "parameters": {"x": "a" * (2 * 1024 * 1024)}}
    body = assert_error(await dataops_api("POST", "jobs", json=big), 400, "invalid_input")
    assert "'x'" in body["message"]
    await assert_nothing_stored(dataops_api, notebook_root)


MALFORMED_NOTEBOOKS = {
    "cells-not-objects": {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [1, "x"]},
    "metadata-a-list": {"nbformat": 4, "nbformat_minor": 5, "metadata": [], "cells": []},
    "kernelspec-a-string": {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {"kernelspec": "python3"},
        "cells": [],
    },
    "nbformat-a-string": {"nbformat": "4", "nbformat_minor": 5, "metadata": {}, "cells": []},
    "tags-not-a-list": {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {},
        "cells": [
            {
                "cell_type": "code",
                "metadata": {"tags": "parameters"},
                "source": "x = 1",
                "outputs": [],
                "execution_count": None,
            }
        ],
    },
}


@pytest.mark.parametrize("name", [*MALFORMED_NOTEBOOKS, "nested-deep", "r-notebook"])
async def test_malformed_notebooks_are_400_and_store_nothing(dataops_api, notebook_root, name):
    path = notebook_root / f"{name}.ipynb"
    if name == "nested-deep":
        path.write_text('{"cells": ' + "[" * 200_000 + "]" * 200_000 + "}")
    elif name == "r-notebook":
        path.write_text(
            json.dumps(
                {
                    "nbformat": 4,
                    "nbformat_minor": 5,
                    "metadata": {
                        "kernelspec": {"name": "ir", "language": "R", "display_name": "R"},
                        "language_info": {"name": "R"},
                    },
                    "cells": [],
                }
            )
        )
    else:
        path.write_text(json.dumps(MALFORMED_NOTEBOOKS[name]))
    for route in ("create", "inspect"):
        if route == "create":
            request = {"notebook_path": path.name}
            if name == "r-notebook":
                request["kernel_name"] = "python3"  # a kernel that does not speak R
            response = await dataops_api("POST", "jobs", json=request)
        else:
            if name == "r-notebook":
                continue  # inspecting an R notebook is fine; running it in Python is not
            response = await dataops_api(
                "GET", "notebooks", "parameters", params={"path": path.name}
            )
        body = assert_error(response, 400, "invalid_input")
        assert path.name in body["message"] or "notebook" in body["message"].lower(), body
    await assert_nothing_stored(dataops_api, notebook_root)


async def test_unreadable_paths_are_4xx(dataops_api, notebook_root):
    loop = notebook_root / "loop.ipynb"
    loop.symlink_to(notebook_root / "loop2.ipynb")
    (notebook_root / "loop2.ipynb").symlink_to(loop)
    for path in ("loop.ipynb", "n" * 300 + ".ipynb", "a\x00b.ipynb"):
        response = await dataops_api("POST", "jobs", json={"notebook_path": path})
        assert 400 <= response.code < 500, (path, response)
        assert response.json()["error"] in ("invalid_input", "not_found", "forbidden")
    await assert_nothing_stored(dataops_api, notebook_root)


# -- one job ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("method", "suffix"),
    [
        ("GET", ()),
        ("DELETE", ()),
        ("POST", ("cancel",)),
        ("POST", ("rerun",)),
        ("GET", ("logs",)),
        ("GET", ("html",)),
        ("GET", ("output",)),
    ],
)
async def test_unknown_job_id_is_404(dataops_api, method, suffix):
    body = assert_error(
        await dataops_api(method, "jobs", "feedfacecafe", *suffix), 404, "not_found"
    )
    assert "feedfacecafe" in body["message"]


async def test_job_routes_for_a_finished_job(dataops_api, make_notebook, notebook_root, job_events):
    make_notebook(
        "train.ipynb", ["result = alpha * 10", "print('result', result)"], parameters="alpha = 1"
    )
    job = await dataops_api.create_job(notebook_path="train.ipynb", parameters={"alpha": 4})
    job_id = job["id"]
    done = await dataops_api.wait_for_job(job_id)
    assert done["status"] == "completed", done

    fetched = (await dataops_api("GET", "jobs", job_id)).json()
    assert fetched == done
    # A unique prefix names the job too (as in the CLI).
    assert (await dataops_api("GET", "jobs", job_id[:6])).json()["id"] == job_id

    logs = await dataops_api("GET", "jobs", job_id, "logs")
    assert logs.code == 200 and "result 40" in logs.json()["logs"]

    output = await dataops_api("GET", "jobs", job_id, "output")
    assert output.code == 200
    assert output.headers["Content-Type"] == "application/x-ipynb+json"
    assert output.headers["Content-Disposition"].startswith('attachment; filename="train.ipynb"')
    assert "result 40" in output.body.decode()

    # Cancelling a finished job is a conflict, and changes nothing.
    error = assert_error(await dataops_api("POST", "jobs", job_id, "cancel"), 409, "conflict")
    assert "completed" in error["message"]

    # Re-run: parameters given replace the original's one by one.
    rerun = await dataops_api("POST", "jobs", job_id, "rerun", json={"parameters": {"alpha": 5}})
    assert rerun.code == 201, rerun
    second = rerun.json()
    assert second["rerun_of"] == job_id and second["id"] != job_id
    assert second["parameters"] == {"alpha": 5}
    assert_error(
        await dataops_api("POST", "jobs", job_id, "rerun", json={"parameters": {"alpha": "x"}}),
        400,
        "invalid_input",
    )
    assert_error(
        await dataops_api("POST", "jobs", job_id, "rerun", json={"use_current": True}),
        400,
        "invalid_input",
    )
    second = await dataops_api.wait_for_job(second["id"])
    assert second["status"] == "completed"
    assert "result 50" in (await dataops_api("GET", "jobs", second["id"], "logs")).json()["logs"]
    # An empty body re-runs with the same parameters.
    third = await dataops_api("POST", "jobs", second["id"], "rerun")
    assert third.code == 201 and third.json()["parameters"] == {"alpha": 5}
    await dataops_api.wait_for_job(third.json()["id"])

    # Delete: 204, then the job and its folder are gone.
    folder = notebook_root / os.path.dirname(done["output_path"])
    assert folder.is_dir()
    response = await dataops_api("DELETE", "jobs", job_id)
    assert response.code == 204 and response.body == b""
    assert not folder.exists()
    assert_error(await dataops_api("GET", "jobs", job_id), 404, "not_found")
    assert (await dataops_api("GET", "jobs")).json()["total"] == 2


async def test_an_unchanged_page_is_304_with_its_etag(dataops_api, make_notebook):
    make_notebook("n.ipynb", ["1"])
    first = await dataops_api("GET", "jobs", params={"limit": 5})
    etag = first.headers["ETag"]
    again = await dataops_api("GET", "jobs", params={"limit": 5}, headers={"If-None-Match": etag})
    assert again.code == 304 and again.body == b""
    # A change to the jobs changes the page.
    await dataops_api.create_job(notebook_path="n.ipynb")
    changed = await dataops_api("GET", "jobs", params={"limit": 5}, headers={"If-None-Match": etag})
    assert changed.code == 200 and changed.headers["ETag"] != etag
    assert changed.json()["total"] == 1
