"""Under JupyterHub (or any identity provider other than jupyter_server's own token/password
one), the actor is the user the provider authenticated, and kernels act as the hub's user."""

from __future__ import annotations

from typing import Any

import pytest
from jupyter_server.auth import IdentityProvider, User


class HubLikeIdentityProvider(IdentityProvider):
    """Stands in for JupyterHub's: every authenticated request is the hub user 'alice'."""

    async def get_user(self, handler: Any) -> User | None:  # type: ignore[override]
        user = await super().get_user(handler)
        return User(username="alice", name="Alice") if user is not None else None


@pytest.fixture
def jp_server_config(jp_server_config: dict[str, Any]) -> dict[str, Any]:
    jp_server_config["ServerApp"]["identity_provider_class"] = f"{__name__}.HubLikeIdentityProvider"
    return jp_server_config


async def test_the_actor_is_the_user_the_identity_provider_names(
    dataops_api, dataops_server, make_notebook, monkeypatch
):
    make_notebook("nb.ipynb", ["1"])
    job = await dataops_api.create_job(notebook_path="nb.ipynb")
    assert job["owner"] == "alice"
    info = (await dataops_api("GET", "info")).json()
    assert info["user"] == "alice"
    with dataops_server.services.ctx.store.unit_of_work() as uow:
        assert [e.actor for e in uow.audit.events(job["id"])] == ["alice"]


def test_kernels_act_as_the_hubs_user(monkeypatch):
    from jupyter_dataops.server.app import server_owner

    monkeypatch.setenv("JUPYTERHUB_USER", "alice")
    assert server_owner() == "alice"
    monkeypatch.delenv("JUPYTERHUB_USER")
    import getpass

    assert server_owner() == getpass.getuser()
