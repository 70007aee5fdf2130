"""Who is calling the scheduler API, and what they may do.

An :class:`ApiAuth` turns a request into an :class:`~workspace.api.auth.Identity` (or
``None``): :class:`StaticTokenAuth` (the standalone scheduler's shared API token) or
:class:`HubServiceAuth` (a hub-managed service: hub tokens and OAuth cookies).
:func:`require_read`, :func:`require_change`, :func:`require_manage` and :func:`require_see`
decide with the identity's scopes (403 names the missing scope).

The rules of every route: docs/hub.md, "Module notes".
"""

from __future__ import annotations

import hmac
import os
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlparse

from tornado.web import HTTPError, RequestHandler

from workspace.api.auth import MANAGE_SCOPE, RUN_SCOPE, Identity


def require_read(identity: Identity) -> None:
    """403 unless ``identity`` may read pipelines, runs and reports."""
    if not identity.can_read:
        raise HTTPError(
            403,
            "%s %r may not use the scheduler: it needs the scope %s (own pipelines) or %s "
            "(every pipeline); ask an admin to add you to the analysts, scientists or "
            "engineers group.",
            identity.kind.capitalize(),
            identity.name,
            RUN_SCOPE,
            MANAGE_SCOPE,
        )


def require_change(identity: Identity, pipeline: str, owner: str | None) -> None:
    """403 unless ``identity`` may trigger/pause/resume/repair/cancel ``pipeline``.

    Examples
    --------
    >>> alice = Identity("alice", frozenset({"analysts"}), frozenset({RUN_SCOPE}))
    >>> require_read(alice)
    >>> require_change(alice, "p_alice", "alice")
    >>> require_change(alice, "p_bob", "bob")  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    tornado.web.HTTPError: HTTP 403: ...
    """
    require_read(identity)
    if identity.can_change(owner):
        return
    owned = f"owned by {owner!r}" if owner else "without an owner"
    raise HTTPError(
        403,
        "%s %r may not change pipeline %r (%s): the scope %s allows only pipelines whose "
        "owner is you; changing any pipeline needs %s.",
        identity.kind.capitalize(),
        identity.name,
        pipeline,
        owned,
        RUN_SCOPE,
        MANAGE_SCOPE,
    )


def require_manage(identity: Identity, pipeline: str, action: str) -> None:
    """403 unless ``identity`` manages every pipeline (engineers, admins)."""
    require_read(identity)
    if identity.manager:
        return
    raise HTTPError(
        403,
        "%s %r may not %s pipeline %r: that needs the scope %s (engineers and admins).",
        identity.kind.capitalize(),
        identity.name,
        action,
        pipeline,
        MANAGE_SCOPE,
    )


def require_see(identity: Identity, pipeline: str, owner: str | None) -> None:
    """403 unless ``identity`` may read the runs, reports and logs of ``pipeline``: runs are
    private to the pipeline's owner, engineers (``custom:pipelines:manage``) and admins."""
    require_read(identity)
    if identity.can_see(owner):
        return
    raise HTTPError(
        403,
        "%s %r may not read the runs of pipeline %r: they belong to %s. Shared results are "
        "published as reports (/services/reports/); engineers (%s) see every run.",
        identity.kind.capitalize(),
        identity.name,
        pipeline,
        repr(owner) if owner else "no one",
        MANAGE_SCOPE,
    )


class ApiAuth(Protocol):
    """How the API identifies a request (one instance per application)."""

    async def identify(self, handler: RequestHandler) -> Identity | None:
        """The caller, ``None`` when the request carries no credentials; raises
        ``HTTPError(403)`` for credentials that are not accepted."""

    def login_redirect(self, handler: RequestHandler) -> str | None:
        """Where to send an unauthenticated browser (``None``: answer 401)."""

    def routes(self, prefix: str) -> list[Any]:
        """Extra tornado routes the scheme needs (the OAuth callback)."""

    def app_settings(self) -> dict[str, Any]:
        """Extra tornado application settings (cookie secret)."""


@dataclass
class StaticTokenAuth:
    """The standalone scheduler's shared token; its holder manages every pipeline."""

    token: str
    identity: Identity = field(
        default_factory=lambda: Identity("token", scopes=frozenset({MANAGE_SCOPE}))
    )

    async def identify(self, handler: RequestHandler) -> Identity | None:
        header = handler.request.headers.get("Authorization", "")
        scheme, _, given = header.partition(" ")
        if scheme.lower() != "token" or not given.strip():
            given = handler.get_query_argument("token", "")
        if not given:
            return None
        if not hmac.compare_digest(given.strip().encode(), self.token.encode()):
            raise HTTPError(403, "The API token is not valid for the scheduler API.")
        return self.identity

    def login_redirect(self, handler: RequestHandler) -> str | None:
        return None

    def routes(self, prefix: str) -> list[Any]:
        return []

    def app_settings(self) -> dict[str, Any]:
        return {}


class HubServiceAuth:
    """JupyterHub OAuth for a hub-managed service (``JUPYTERHUB_*`` environment).

    Parameters
    ----------
    cache_max_age
        Seconds a token's identity is cached (scope changes take effect after this).
    hub_auth
        A configured :class:`~jupyterhub.services.auth.HubOAuth` (default: from the
        environment the hub gives its services).
    """

    def __init__(self, *, cache_max_age: int = 60, hub_auth: Any = None) -> None:
        from jupyterhub.services.auth import HubOAuth

        missing = [
            name
            for name in ("JUPYTERHUB_API_TOKEN", "JUPYTERHUB_API_URL", "JUPYTERHUB_CLIENT_ID")
            if hub_auth is None and not os.environ.get(name)
        ]
        if missing:
            from workspace.lake.errors import ConfigurationError

            raise ConfigurationError(
                f"`workspace scheduler --hub` runs as a JupyterHub service, but "
                f"{', '.join(missing)} is not set; start it from the hub's "
                "c.JupyterHub.services (see hub_config/jupyterhub_config.py)."
            )
        self.hub_auth = hub_auth or HubOAuth(cache_max_age=cache_max_age)
        self._mixins: dict[type, type] = {}

    @property
    def callback_path(self) -> str:
        """The path of the OAuth callback (``JUPYTERHUB_OAUTH_CALLBACK_URL``)."""
        return str(urlparse(self.hub_auth.oauth_redirect_uri).path)

    def handler_class(self, handler: type[RequestHandler]) -> type[RequestHandler]:
        """``handler`` with :class:`HubOAuthenticated` mixed in (login URL, xsrf, cookies)."""
        from jupyterhub.services.auth import HubOAuthenticated

        cls = self._mixins.get(handler)
        if cls is None:
            cls = type(f"Hub{handler.__name__}", (HubOAuthenticated, handler), {})
            self._mixins[handler] = cls
        return cls

    async def identify(self, handler: RequestHandler) -> Identity | None:
        handler.hub_auth = self.hub_auth  # type: ignore[attr-defined]
        model = await self.hub_auth.get_user(handler, sync=False)
        if not model:
            return None
        access = self.hub_auth.access_scopes
        if access and not self.hub_auth.check_scopes(access, model):
            raise HTTPError(
                403,
                "%s %r may not access the scheduler service: it needs the scope %s.",
                str(model.get("kind") or "user").capitalize(),
                model.get("name"),
                " or ".join(sorted(access)),
            )
        return Identity.from_hub_model(model)

    def login_redirect(self, handler: RequestHandler) -> str | None:
        return str(handler.get_login_url())

    def routes(self, prefix: str) -> list[Any]:
        from jupyterhub.services.auth import HubOAuthCallbackHandler

        auth = self.hub_auth

        class CallbackHandler(HubOAuthCallbackHandler):
            def initialize(self) -> None:
                self.hub_auth = auth

        return [(self.callback_path, CallbackHandler)]

    def app_settings(self) -> dict[str, Any]:
        return {"cookie_secret": os.urandom(32)}


__all__ = [
    "ApiAuth",
    "HubServiceAuth",
    "StaticTokenAuth",
    "require_change",
    "require_manage",
    "require_read",
    "require_see",
]
