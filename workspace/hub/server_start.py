"""The command that starts a hub user's Lab server: ``python -P -m workspace.hub.server_start``.

``jupyterhub-singleuser`` (same options, same behaviour) without two start-up costs that
every spawn paid (about 1.2 s of the 2.3 s CPU from spawn to the first ``/lab`` page):

* ``rfc3987_syntax`` (jsonschema's IRI format check) builds about 40 Lark parsers at import;
  :func:`defer_import` imports it when an IRI is first validated instead;
* ``jupyterlab.labapp`` runs ``node yarn.js config`` at import for options it throws away;
  :func:`import_without_node` imports it with no ``node`` on the PATH.

The hub config sets it as ``Spawner.cmd``; ``-P`` keeps the working folder (the user's
home) off ``sys.path``, as the script does. Details: ``docs/hub.md``.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import types
from typing import Any

__all__ = ["DEFERRED", "defer_import", "import_without_node", "main"]

#: The module whose import is deferred until first use.
DEFERRED = "rfc3987_syntax"


def defer_import(name: str = DEFERRED) -> bool:
    """Put a stand-in for module ``name`` in ``sys.modules`` that imports it on first use.

    Any attribute read (``from name import f`` gives a function that loads the module when
    called) imports the real module then. Returns whether a stand-in was installed (not when
    the module is already imported or not installed).

    Examples
    --------
    >>> import sys
    >>> defer_import("json.tool") if "json.tool" not in sys.modules else True
    True
    >>> stand_in = sys.modules["json.tool"]
    >>> callable(stand_in.main)  # the real json.tool is imported here
    True
    >>> sys.modules["json.tool"] is not stand_in
    True
    >>> defer_import("no_such_module_here")
    False
    """
    if name in sys.modules:
        return False
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        return False
    stand_in = types.ModuleType(name, f"{name}, imported on first use")
    stand_in.__path__ = list(spec.submodule_search_locations or [])  # submodules still import

    def load() -> types.ModuleType:
        current = sys.modules.get(name)
        if current is not None and current is not stand_in:
            return current
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)  # type: ignore[union-attr]
        except BaseException:
            sys.modules[name] = stand_in
            raise
        return module

    def is_valid_syntax(term: str, value: str) -> bool:
        return bool(load().is_valid_syntax(term, value))

    def attribute(attr: str) -> Any:
        if attr.startswith("__"):
            raise AttributeError(attr)
        return getattr(load(), attr)

    if name == DEFERRED:
        # jsonschema takes this function at import: hand it a loader, not the real one
        stand_in.is_valid_syntax = is_valid_syntax  # type: ignore[attr-defined]
    stand_in.__getattr__ = attribute  # type: ignore[method-assign]
    sys.modules[name] = stand_in
    return True


def import_without_node(module: str = "jupyterlab.labapp") -> None:
    """Import ``module`` with an empty PATH (no ``node``), then restore PATH.

    ``jupyterlab.labapp`` runs ``get_app_version()`` at import; with no ``node`` found, the
    throwaway options it makes skip running ``yarn config``. Nothing else reads PATH there.

    Examples
    --------
    >>> import os
    >>> before = os.environ.get("PATH")
    >>> import_without_node("json")
    >>> os.environ.get("PATH") == before
    True
    """
    saved = os.environ.get("PATH")
    os.environ["PATH"] = os.devnull  # not a folder: no command is found on it
    try:
        importlib.import_module(module)
    finally:
        if saved is None:
            os.environ.pop("PATH", None)
        else:
            os.environ["PATH"] = saved


def main() -> None:
    """Start ``jupyterhub-singleuser`` without the two start-up costs above."""
    defer_import()
    import_without_node()
    from jupyterhub.singleuser import main as singleuser

    sys.exit(singleuser())


if __name__ == "__main__":
    main()
