"""The extension's routes, each group's handler module imported on its first request.

One tornado rule (``{base_url}workspace/api/.*``) points at a :class:`LazyRoutes` router; the
first request to ``catalog/...``, ``jobs/...`` or ``schedule/...`` imports that group's
handlers. Design notes: docs/extension-api.md, "Module notes".

Examples
--------
>>> import tornado.web
>>> routes = LazyRoutes(tornado.web.Application(), "/workspace/api")
>>> routes.prefix, sorted(routes.loaded)
('/workspace/api/', [])
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import tornado.web
from tornado.httputil import HTTPMessageDelegate, HTTPServerRequest
from tornado.routing import PathMatches, Rule, RuleRouter

from workspace.server import GROUPS, Routes, group_routes

__all__ = ["LazyRoutes"]


class LazyRoutes(RuleRouter):
    """The extension's routes under ``prefix``, a group's handlers loaded on first request.

    A request names its group by its first path segment under ``prefix``
    (:data:`~workspace.server.GROUPS`); ``on_load[group]`` runs once, just before that
    group's handlers are imported.
    """

    def __init__(
        self,
        application: tornado.web.Application,
        prefix: str,
        *,
        on_load: dict[str, Callable[[], None]] | None = None,
    ) -> None:
        super().__init__()
        self.application = application
        self.prefix = prefix.rstrip("/") + "/"
        self.on_load = on_load or {}
        self.loaded: dict[str, RuleRouter] = {}

    def _group(self, name: str) -> RuleRouter:
        router = self.loaded.get(name)
        if router is None:
            module = GROUPS.get(name)
            if module is None:
                from workspace.server.base import NotFoundHandler

                routes: Routes = (("(?P<rest>.*)", NotFoundHandler),)
            else:
                if name in self.on_load:
                    self.on_load[name]()
                routes = group_routes(module)
                _check_authenticated(self.application, routes)
            router = _HandlerRouter(self.application)
            router.add_rules(
                [(PathMatches(self.prefix + path), handler) for path, handler in routes]
            )
            self.loaded[name] = router
            # ``rules`` lists the loaded groups (for tools that walk the application's routers)
            self.rules.append(Rule(PathMatches(self.prefix + (name and name + "/") + ".*"), router))
        return router

    def load_all(self) -> None:
        """Import every group now (tools and tests that list the routes)."""
        for name in [*GROUPS, ""]:
            self._group(name)

    def find_handler(self, request: HTTPServerRequest, **kwargs: Any) -> HTTPMessageDelegate | None:
        rest = request.path[len(self.prefix) :] if request.path.startswith(self.prefix) else ""
        name = rest.split("/", 1)[0]
        if name in GROUPS:
            delegate = self._group(name).find_handler(request)
            if delegate is not None:
                return delegate
        return self._group("").find_handler(request)


class _HandlerRouter(RuleRouter):
    """A router whose targets are handler classes of ``application``."""

    def __init__(self, application: tornado.web.Application) -> None:
        super().__init__()
        self.application = application

    def get_target_delegate(
        self, target: Any, request: HTTPServerRequest, **target_params: Any
    ) -> HTTPMessageDelegate | None:
        if isinstance(target, type) and issubclass(target, tornado.web.RequestHandler):
            return self.application.get_handler_delegate(request, target, **target_params)
        return super().get_target_delegate(target, request, **target_params)


def _check_authenticated(application: tornado.web.Application, routes: Routes) -> None:
    """jupyter_server's warning for handlers without authentication, as ``add_handlers``."""
    check = getattr(application, "_check_handler_auth", None)
    if check is None:
        return
    missing = [m for path, handler in routes for m in check(path, handler)]
    if missing:
        import warnings

        from jupyter_server.serverapp import JupyterServerAuthWarning

        warnings.warn(
            "Extension endpoints without @allow_unauthenticated, @ws_authenticated, nor "
            "@web.authenticated:\n" + "\n".join(missing),
            JupyterServerAuthWarning,
            stacklevel=2,
        )
