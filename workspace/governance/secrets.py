"""Pipeline secrets: named references resolved outside the notebook, redacted from outputs.

``workspace.secret("warehouse_password")`` looks the name up, in this order:

1. the environment variable ``WORKSPACE_SECRET_WAREHOUSE_PASSWORD`` (a pipeline kernel gets
   the scheduler's ``WORKSPACE_*`` variables; a person sets their own for interactive work);
2. the secrets file: ``$WORKSPACE_SECRETS_FILE``, else ``$WORKSPACE_HOME/secrets/secrets.yaml``,
   else ``/etc/workspace/secrets.yaml`` (root's, group ``ws-runner``, 0640, so pipeline
   kernels read it and users do not). A value is a string, or ``{backend: NAME, ref: ...}``
   to fetch it from a registered :class:`SecretBackend` (the seam for HashiCorp Vault).

The pipeline runner (root, outside the kernel) builds a :class:`Redactor` from the same
sources and replaces every value in the executed notebook, the report, the log and the
run's error with ``[secret NAME]`` (docs/governance.md, "Secrets").
"""

from __future__ import annotations

import logging
import os
import re
import stat
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Protocol

import yaml

from workspace.lake.errors import ConfigurationError, WorkspaceError

__all__ = [
    "Redactor",
    "SecretBackend",
    "SecretNotFoundError",
    "redactor",
    "register_backend",
    "secret",
    "secrets_file",
]

log = logging.getLogger(__name__)

ENV_PREFIX = "WORKSPACE_SECRET_"
FILE_ENV = "WORKSPACE_SECRETS_FILE"
SYSTEM_FILE = Path("/etc/workspace/secrets.yaml")
ENTRY_POINT_GROUP = "workspace.secret_backends"
NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
#: Values shorter than this are not redacted (they would blank out ordinary words).
MIN_REDACTED = 4


class SecretNotFoundError(WorkspaceError, KeyError):
    """No secret of that name in the environment or the secrets file."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class SecretBackend(Protocol):
    """Where ``{backend: NAME, ref: REF}`` entries of the secrets file are fetched from.

    Register an implementation under the entry point group ``workspace.secret_backends``
    (``vault = mypkg.secrets:VaultBackend``, constructed without arguments) or with
    :func:`register_backend`. A HashiCorp Vault backend reads ``ref`` as ``path#key`` with
    ``hvac`` (see docs/governance.md).
    """

    def fetch(self, ref: str) -> str:
        """The secret value at ``ref``; raise ``KeyError`` when there is none."""
        ...


_BACKENDS: dict[str, SecretBackend] = {}


def register_backend(name: str, backend: SecretBackend) -> None:
    """Use ``backend`` for ``{backend: name, ...}`` entries (tests, embedding).

    Examples
    --------
    >>> class Fixed:
    ...     def fetch(self, ref: str) -> str:
    ...         return "v-" + ref
    >>> register_backend("fixed", Fixed())
    """
    _BACKENDS[name] = backend


def _backend(name: str) -> SecretBackend:
    if name not in _BACKENDS:
        found = [ep for ep in entry_points(group=ENTRY_POINT_GROUP) if ep.name == name]
        if not found:
            raise ConfigurationError(
                f"secret backend {name!r} is not installed (entry point group "
                f"{ENTRY_POINT_GROUP}); install its package or fix the secrets file"
            )
        _BACKENDS[name] = found[0].load()()
    return _BACKENDS[name]


def secrets_file(env: Mapping[str, str] | None = None) -> Path:
    """The secrets file this process reads (it may not exist)."""
    env = os.environ if env is None else env
    if env.get(FILE_ENV):
        return Path(env[FILE_ENV])
    home = env.get("WORKSPACE_HOME")
    local = Path(home).expanduser() / "secrets" / "secrets.yaml" if home else None
    if local is not None and (local.exists() or not SYSTEM_FILE.exists()):
        return local
    return SYSTEM_FILE


def _check_mode(path: Path) -> None:
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXO | stat.S_IWGRP | stat.S_IXGRP):
        raise ConfigurationError(
            f"the secrets file {path} has mode {stat.S_IMODE(mode):o}: other accounts may "
            f"read or change it; `chmod 0640 {path}` (group: the pipeline runner) or 0600"
        )


def _read_file(path: Path) -> dict[str, Any]:
    """The entries of the secrets file ({} when it does not exist)."""
    try:
        _check_mode(path)
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except PermissionError:
        raise SecretNotFoundError(
            f"the secrets file {path} is not readable by this account: its secrets are for "
            "pipeline runs. For interactive work set WORKSPACE_SECRET_<NAME> in your own "
            "environment."
        ) from None
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise ConfigurationError(f"the secrets file {path} is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigurationError(f"the secrets file {path} must map names to values")
    return data


def _value(name: str, entry: Any, path: Path) -> str:
    if isinstance(entry, str | int | float) and not isinstance(entry, bool):
        return str(entry)
    if isinstance(entry, dict) and isinstance(entry.get("backend"), str) and "ref" in entry:
        try:
            return str(_backend(entry["backend"]).fetch(str(entry["ref"])))
        except KeyError:
            raise SecretNotFoundError(
                f"secret {name!r}: backend {entry['backend']!r} has nothing at "
                f"{entry['ref']!r} (set in {path})"
            ) from None
    raise ConfigurationError(
        f"secret {name!r} in {path}: expected a string or {{backend: NAME, ref: REF}}"
    )


def _env_name(name: str) -> str:
    return ENV_PREFIX + name.upper()


def secret(name: str, *, env: Mapping[str, str] | None = None) -> str:
    """The value of the secret ``name`` (environment first, then the secrets file).

    Raises
    ------
    SecretNotFoundError
        No such secret, or the secrets file is not readable by this account.

    Examples
    --------
    >>> secret("doc_example", env={"WORKSPACE_SECRET_DOC_EXAMPLE": "s3cret"})
    's3cret'
    >>> secret("missing_one", env={"WORKSPACE_SECRETS_FILE": "/nonexistent.yaml"})
    Traceback (most recent call last):
    workspace.governance.secrets.SecretNotFoundError: No secret 'missing_one': ...
    """
    if not isinstance(name, str) or not NAME.match(name):
        raise SecretNotFoundError(
            f"Secret name {name!r} is not valid: lowercase letters, digits and '_' "
            "(e.g. warehouse_password)."
        )
    env = os.environ if env is None else env
    if _env_name(name) in env:
        return env[_env_name(name)]
    path = secrets_file(env)
    entries = _read_file(path)
    if name not in entries:
        raise SecretNotFoundError(
            f"No secret {name!r}: set {_env_name(name)} or add {name!r} to {path} "
            "(docs/governance.md, Secrets)."
        )
    return _value(name, entries[name], path)


@dataclass
class Redactor:
    """Replaces known secret values in text, mappings and notebooks.

    Examples
    --------
    >>> r = Redactor({"db_password": "hunter22"})
    >>> r.text("connecting with hunter22")
    'connecting with [secret db_password]'
    >>> r.mapping({"error": "bad password 'hunter22'", "n": 1})
    {'error': "bad password '[secret db_password]'", 'n': 1}
    """

    values: dict[str, str] = field(default_factory=dict)  # name -> value

    def __post_init__(self) -> None:
        pairs = sorted(
            ((v, n) for n, v in self.values.items() if len(v) >= MIN_REDACTED),
            key=lambda p: -len(p[0]),  # longest first: a value inside another stays whole
        )
        self._pairs = pairs
        self._pattern = re.compile("|".join(re.escape(v) for v, _ in pairs)) if pairs else None
        self._names = {v: n for v, n in pairs}

    def __bool__(self) -> bool:
        return self._pattern is not None

    def text(self, text: str) -> str:
        if self._pattern is None or not text:
            return text
        return self._pattern.sub(lambda m: f"[secret {self._names[m.group(0)]}]", text)

    def mapping(self, data: dict[str, Any]) -> dict[str, Any]:
        """A copy of ``data`` with every string value (and strings in lists) redacted."""
        return {k: self._any(v) for k, v in data.items()}

    def _any(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self._any(v) for v in value]
        if isinstance(value, dict):
            return self.mapping(value)
        return value

    def notebook(self, nb: Any) -> int:
        """Redact every output of ``nb`` (an nbformat notebook) in place; consecutive stream
        outputs are joined first, so a value printed in two pieces is found. Returns how
        many outputs changed."""
        if self._pattern is None:
            return 0
        changed = 0
        for cell in nb.get("cells", []):
            outputs = cell.get("outputs")
            if not outputs:
                continue
            joined: list[Any] = []
            for out in outputs:
                prev = joined[-1] if joined else None
                if (
                    prev is not None
                    and out.get("output_type") == "stream" == prev.get("output_type")
                    and out.get("name") == prev.get("name")
                ):
                    prev["text"] = _str(prev.get("text")) + _str(out.get("text"))
                    continue
                joined.append(out)
            outputs[:] = joined
            for out in outputs:
                before = repr(out)
                for key in ("text", "evalue", "ename"):
                    if key in out:
                        out[key] = self.text(_str(out[key]))
                if "traceback" in out:
                    out["traceback"] = [self.text(_str(line)) for line in out["traceback"]]
                data = out.get("data") or {}
                for mime, value in list(data.items()):
                    if isinstance(value, str | list) and not mime.startswith("image/"):
                        data[mime] = self.text(_str(value))
                    elif isinstance(value, dict):  # JSON outputs (Vega specs, widgets)
                        data[mime] = self._any(value)
                changed += repr(out) != before
        return changed


def _str(value: Any) -> str:
    return "".join(value) if isinstance(value, list) else str(value or "")


def known_secrets(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """Every secret this process can resolve: the environment's and the secrets file's.

    Never raises: an unreadable file or a failing backend is logged and skipped.
    """
    env = os.environ if env is None else env
    found = {k[len(ENV_PREFIX) :].lower(): v for k, v in env.items() if k.startswith(ENV_PREFIX)}
    path = secrets_file(env)
    try:
        entries = _read_file(path)
    except WorkspaceError as exc:
        log.debug("secrets file not read for redaction: %s", exc)
        return found
    for name, entry in entries.items():
        if str(name) in found:
            continue
        try:
            found[str(name)] = _value(str(name), entry, path)
        except Exception as exc:
            log.warning("secret %r not resolved for redaction: %s", name, exc)
    return found


def redactor(env: Mapping[str, str] | None = None, extra: Iterable[str] = ()) -> Redactor:
    """A :class:`Redactor` of every secret this process can resolve with ``env`` (default
    ``os.environ``; the runner passes the kernel's environment), plus ``extra`` values.

    Examples
    --------
    >>> redactor({"WORKSPACE_SECRET_API_TOKEN": "tok-123456"}).text("token tok-123456")
    'token [secret api_token]'
    """
    values = known_secrets(env)
    for i, value in enumerate(extra):
        values[f"value_{i}"] = value
    return Redactor(values)
