"""Alerts: when a run fails, succeeds or misses its SLA, tell people through sinks.

Used by the scheduler after each state change that matters (:mod:`workspace.jobs.alerts.event`):
:func:`load_sinks` reads the deployment's ``alerts.yaml`` (``${NAME}`` values come from the
environment) into named sinks, and :func:`notify` sends an event to the sinks a pipeline
names if its ``alerts:`` flags ask for it. :func:`notify` never raises.
The ``alerts.yaml`` format: docs/alerts.md.

Examples
--------
>>> from workspace.jobs.spec.pipeline import Alerts
>>> event = AlertEvent(kind="success", pipeline="demo", run_id="r1", state="succeeded")
>>> notify(event, pipeline_alerts=Alerts(sinks=["team_slack"]), sinks={})  # on_success off
[]
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from pydantic import ValidationError

from workspace.jobs.alerts.event import (
    AlertConfigError,
    AlertDeliveryError,
    AlertEvent,
)
from workspace.jobs.paths import ALERTS_FILE, JobPaths

if TYPE_CHECKING:
    from workspace.jobs.alerts.sinks import AlertSink
    from workspace.jobs.spec.pipeline import Alerts

logger = logging.getLogger(__name__)


#: The top-level key of ``alerts.yaml`` listing the sinks of security alerts.
SECURITY_KEY = "security"
#: The top-level key listing the sinks told of access requests (workspace.jobs.access_upkeep).
ACCESS_KEY = "access"
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_SINK_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")


class _Unset(Exception):
    def __init__(self, variable: str) -> None:
        self.variable = variable


def _substitute(value: Any, env: Mapping[str, str]) -> Any:
    """Replace ``${NAME}`` in every string of ``value`` with ``env[NAME]``."""
    if isinstance(value, str):

        def lookup(match: re.Match[str]) -> str:
            if match.group(1) not in env:
                raise _Unset(match.group(1))
            return env[match.group(1)]

        return _ENV_REF.sub(lookup, value)
    if isinstance(value, list):
        return [_substitute(v, env) for v in value]
    if isinstance(value, dict):
        return {k: _substitute(v, env) for k, v in value.items()}
    return value


def _raw_at(raw: Any, loc: tuple[Any, ...]) -> Any:
    for part in loc:
        try:
            raw = raw[part]
        except (KeyError, IndexError, TypeError):
            return None
    return raw


def _validation_message(where: str, raw: Any, exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        loc = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err["loc"])
        msg = err["msg"].removeprefix("Value error, ")
        # show the value as written in the file, never a substituted secret
        got = _raw_at(raw, tuple(err["loc"]))
        shown = "" if got is None or isinstance(got, (dict, list)) else f" (got {got!r})"
        lines.append(f"{where}{loc}: {msg}{shown}")
    return "\n".join(lines)


def default_alerts_path() -> Path:
    """``$WORKSPACE_HOME/alerts.yaml``."""
    return JobPaths.of().alerts_file


def load_sinks(
    path: str | os.PathLike[str] | None = None, *, env: Mapping[str, str] | None = None
) -> dict[str, AlertSink]:
    """Read ``alerts.yaml`` into sinks by name.

    Parameters
    ----------
    path
        The file; default ``$WORKSPACE_HOME/alerts.yaml``. A missing default file means no
        sinks; a missing file given explicitly is an error.
    env
        Variables for ``${NAME}`` references; default ``os.environ``.

    Raises
    ------
    AlertConfigError
        The file is not valid YAML, a sink's type is unknown, an option is invalid or a
        referenced environment variable is not set; the message names the file and field.

    Examples
    --------
    >>> sinks = load_sinks("alerts.yaml")  # doctest: +SKIP
    >>> sinks["team_slack"]  # doctest: +SKIP
    WebhookSink(name='team_slack', target='webhook https://hooks.example.org/…')
    """
    from workspace.jobs.alerts.sinks import resolve_sink_class

    explicit = path is not None
    file = Path(path) if path is not None else default_alerts_path()
    if not file.is_file():
        if explicit:
            raise AlertConfigError(f"{file}: not found; create it to configure alert sinks")
        logger.debug("%s not found: no alert sinks configured", file)
        return {}
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}:" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise AlertConfigError(f"{file}:{where} not valid YAML: {problem}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise AlertConfigError(
            f"{file}: expected a mapping of sink names to settings "
            "(team_slack: {type: webhook, url: ...})"
        )
    env = os.environ if env is None else env
    sinks: dict[str, AlertSink] = {}
    for name, raw in data.items():
        if name in (SECURITY_KEY, ACCESS_KEY):  # not sinks: lists of sinks (security.py)
            continue
        where = f"{file}: {name}"
        if not isinstance(name, str) or not _SINK_NAME.match(name):
            raise AlertConfigError(
                f"{where}: a sink name starts with a letter and has letters, digits, _ or -"
            )
        if not isinstance(raw, dict):
            raise AlertConfigError(f"{where}: expected a mapping with 'type' and its options")
        try:
            options = _substitute(raw, env)
        except _Unset as unset:
            raise AlertConfigError(
                f"{where}: environment variable {unset.variable} is not set (referenced as "
                f"${{{unset.variable}}}); set it for the scheduler process"
            ) from None
        type_name = options.pop("type", None)
        if not isinstance(type_name, str) or not type_name:
            raise AlertConfigError(
                f"{where}.type: missing; use webhook, email or a dotted path (package.module:Class)"
            )
        try:
            cls = resolve_sink_class(type_name)
        except AlertConfigError as exc:
            raise AlertConfigError(f"{where}.type: {exc}") from None
        if cls.options_model is not None:
            try:
                options = cls.options_model.model_validate(options).model_dump()
            except ValidationError as exc:
                raise AlertConfigError(_validation_message(where, raw, exc)) from None
        try:
            sinks[name] = cls(**options, name=name)
        except (TypeError, ValueError) as exc:
            raise AlertConfigError(f"{where}: {exc}") from None
    return sinks


_WANTED = {
    "failure": "on_failure",
    "success": "on_success",
    "sla_start": "on_sla_miss",
    "sla_duration": "on_sla_miss",
    "quality": "on_quality",
}


def notify(
    event: AlertEvent, *, pipeline_alerts: Alerts, sinks: Mapping[str, AlertSink]
) -> list[str]:
    """Send ``event`` to the pipeline's sinks if its ``alerts:`` flags ask for it.

    Never raises: delivery errors and sink names missing from ``sinks`` are logged.

    Returns
    -------
    list of str
        Names of the sinks that did not get the event (delivery failed or unknown name);
        empty when every send succeeded or nothing was to be sent.

    Examples
    --------
    >>> notify(event, pipeline_alerts=spec.alerts, sinks=load_sinks())  # doctest: +SKIP
    ['team_slack']
    """
    try:
        flag = _WANTED[event.kind]
        if not getattr(pipeline_alerts, flag):
            logger.debug("%s: %s alerts are off (alerts.%s)", event.pipeline, event.kind, flag)
            return []
        names = list(dict.fromkeys(pipeline_alerts.sinks))
    except Exception:
        logger.exception("alert for run %s not sent: invalid event or settings", event.run_id)
        return []
    failed: list[str] = []
    for name in names:
        sink = sinks.get(name)
        if sink is None:
            known = ", ".join(sorted(sinks)) or "none"
            logger.error(
                "Pipeline %r names alert sink %r in alerts.sinks, but no sink of that name is "
                "configured (configured: %s). Add it to %s or fix the pipeline's alerts.sinks.",
                event.pipeline,
                name,
                known,
                ALERTS_FILE,
            )
            failed.append(name)
            continue
        try:
            sink.send(event)
        except AlertDeliveryError as exc:
            logger.error("%s alert for run %s not delivered: %s", event.kind, event.run_id, exc)
            failed.append(name)
        except Exception:
            logger.exception("alert sink %r failed unexpectedly for run %s", name, event.run_id)
            failed.append(name)
        else:
            logger.info("%s alert for run %s sent to %s", event.kind, event.run_id, name)
    return failed
