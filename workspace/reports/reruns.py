"""The re-run form of a report page: the declared controls, what the viewer may do, the values.

When a pipeline declares ``audience_reruns: true`` (:mod:`workspace.api.reruns`), its report
page shows the widget parameters its notebooks declare as plain HTML controls (a select for
choices, a date input, a number input with its bounds, a checkbox, a text input), filled
with the values of the run on the page. The form posts to ``pipelines/NAME/reruns`` of the
reports service (:mod:`workspace.reports.rerun_page`), which calls the jobs route
``reruns`` in-process with the viewer as the caller (:class:`ViewerAuthorizer`): the same
audience rule as the page (:func:`require_audience`), the same checks, cache and audit.
The pages run no script; the form carries the hub's XSRF token.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from jinja2 import Environment

from workspace.api.auth import Identity
from workspace.api.authz import IdentityAuthorizer
from workspace.api.reruns import rerunnable
from workspace.jobs.execution.report import REPORT_CSP
from workspace.jobs.models import Run, Trigger
from workspace.jobs.spec.pipeline import Pipeline as PipelineSpec
from workspace.lake.errors import WorkspaceError
from workspace.params import ParamError, ParamSpec
from workspace.reports.access import PipelineAccess, can_view

if TYPE_CHECKING:
    from workspace.api.service import JobsService

# fmt: off
__all__ = ["RERUN_PAGE_CSP", "Control", "ViewerAuthorizer", "controls", "form_html",
           "require_audience", "section", "someone_elses", "values"]
# fmt: on


def someone_elses(run: Run) -> bool:
    """A manual run the owner did not ask for (a viewer's re-run with their own values): the
    reports service never shows it as the pipeline's latest report."""
    return run.trigger == Trigger.MANUAL and run.requested_by not in (None, run.owner)


def require_audience(identity: Identity, service: JobsService, pipeline: str) -> None:
    """Raise :class:`PermissionError` (403) unless ``identity`` may read ``pipeline``'s
    reports, by its recorded owner and audience (:func:`~workspace.reports.access.can_view`)."""
    gov = service.governance(pipeline)
    if not can_view(identity, PipelineAccess(pipeline, owner=gov.owner, audience=gov.audience)):
        raise PermissionError(
            f"{identity.name} is not in the audience of pipeline {pipeline!r}; ask its owner "
            "to share its reports with you or your group."
        )


class ViewerAuthorizer(IdentityAuthorizer):
    """The reports service's caller of the jobs routes: a report viewer, who may only use
    the routes of their pipelines' audience (``Permission.VIEW``: re-runs)."""

    def can_change(self, owner: str | None) -> bool:
        return False

    def _refuse(self, *_: Any, **__: Any) -> None:
        raise PermissionError("The reports service only re-runs reports; use the scheduler.")

    visible = may_see = may_change = _refuse

    def may_approve(self, pipeline: str) -> None:
        self._refuse()

    def may_view(self, service: JobsService, pipeline: str) -> None:
        require_audience(self.identity, service, pipeline)


@dataclass(frozen=True)
class Control:
    """One control of the form: an HTML input for a declared parameter."""

    name: str
    kind: str
    label: str
    value: Any
    choices: list[Any] | None = None
    min: float | None = None
    max: float | None = None


def controls(spec: PipelineSpec, run: Run) -> list[Control]:
    """The form's controls for ``spec``, filled with the values ``run`` had (its parameters
    over the pipeline's, else the declared default). Empty when the pipeline does not allow
    re-runs or its declarations cannot be read.

    Examples
    --------
    >>> [c.name for c in controls(spec, run)]  # doctest: +SKIP
    ['region', 'min_orders']
    """
    if not spec.audience_reruns:
        return []
    try:
        declared = rerunnable(spec)
    except (OSError, ValueError):
        return []
    had = {**spec.parameters, **run.parameters}
    return [
        Control(
            name=p.name,
            kind=p.kind,
            label=p.label or p.name,
            value=had.get(p.name, p.default),
            choices=p.choices,
            min=p.min,
            max=p.max,
        )
        for p in declared.values()
    ]


def _value(spec: ParamSpec, raw: str | None) -> Any:
    """A form field's text as the value its declaration takes (checked by the route)."""
    if spec.kind == "checkbox":
        return raw is not None
    text = (raw or "").strip()
    if spec.kind == "dropdown":
        return next((c for c in spec.choices or [] if str(c) == text), text)
    try:
        if spec.kind == "integer":
            return int(text)
        if spec.kind == "number":
            number = float(text)
            return int(number) if number.is_integer() else number
    except ValueError:
        wanted = "an integer" if spec.kind == "integer" else "a number"
        raise ParamError(f"parameter {spec.name}: {text!r} is not {wanted}") from None
    return text  # date, text: the declaration checks them


def values(spec: PipelineSpec, form: dict[str, list[bytes]]) -> dict[str, Any]:
    """The submitted form as parameter values, one per control (an unchecked checkbox is
    false; other fields that are not controls are ignored).

    Examples
    --------
    >>> values(spec, {"region": [b"EUROPE"], "min_orders": [b"7"]})  # doctest: +SKIP
    {'region': 'EUROPE', 'min_orders': 7}
    """
    try:
        declared = rerunnable(spec)
    except (OSError, ValueError) as exc:
        raise WorkspaceError(
            f"Pipeline {spec.name!r}: its parameters cannot be read: {exc}"
        ) from None
    out = {}
    for name, declaration in declared.items():
        raw = form.get(name)
        text = raw[-1].decode("utf-8", "replace") if raw else None
        if raw or declaration.kind == "checkbox":
            out[name] = _value(declaration, text)
    return out


_FORM = """<form class="ws-rerun" method="post" action="{{ action }}">
<strong>Re-run with other values</strong>
{% for c in controls %}<label>{{ c.label }}
{% if c.kind == "dropdown" %}<select name="{{ c.name }}" data-testid="rerun-{{ c.name }}">
{% for o in c.choices %}<option value="{{ o }}"{% if o == c.value %} selected{% endif %}>{{ o }}
</option>{% endfor %}</select>
{% elif c.kind == "checkbox" %}<input type="checkbox" name="{{ c.name }}" value="true"
 data-testid="rerun-{{ c.name }}"{% if c.value %} checked{% endif %}>
{% else %}<input name="{{ c.name }}" data-testid="rerun-{{ c.name }}" value="{{ c.value }}"
 type="{{ {'date': 'date', 'integer': 'number', 'number': 'number'}.get(c.kind, 'text') }}"
{% if c.min is not none %} min="{{ c.min }}"{% endif %}{% if c.max is not none %}
 max="{{ c.max }}"{% endif %}{% if c.kind == 'number' %} step="any"{% endif %} required>
{% endif %}</label>{% endfor %}
{{ xsrf }}<button type="submit" data-testid="rerun-submit">Run</button></form>"""

#: The form's style, added to the report page's bar style.
FORM_CSS = """
.ws-rerun{font-family:system-ui,sans-serif;font-size:.9em;display:flex;flex-wrap:wrap;
gap:.4em 1em;align-items:center;padding:.5em 0;border-bottom:1px solid #d0d7de}
.ws-rerun label{display:flex;gap:.3em;align-items:center}
"""

_ENV = Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True)


def form_html(action: str, items: list[Control], xsrf: str) -> str:
    """The form (autoescaped; ``xsrf`` is the hidden token field, trusted markup).

    Examples
    --------
    >>> html = form_html("/r", [Control("region", "dropdown", "Region", "B", ["A", "B"])], "")
    >>> '<option value="B" selected>' in html
    True
    """
    from markupsafe import Markup

    return _ENV.from_string(_FORM).render(action=action, controls=items, xsrf=Markup(xsrf))


#: A report page with the re-run form: the report's policy, with forms posting to this
#: origin (``sandbox allow-forms allow-same-origin``: no ``allow-scripts``, and no script
#: source either), never framed.
RERUN_PAGE_CSP = (
    REPORT_CSP.replace("frame-ancestors 'self'", "frame-ancestors 'none'")
    .replace("form-action 'none'", "form-action 'self'")
    .replace("; sandbox", "; sandbox allow-forms allow-same-origin")
)


def section(
    service: JobsService, access: PipelineAccess, run: Run, action: str, xsrf: Callable[[], str]
) -> str:
    """The form for a report page of ``run`` (empty unless its pipeline allows re-runs).

    The viewer may see the page, so they are in the audience: the form is theirs to use.
    """
    try:
        spec = service.spec(access.name)
    except WorkspaceError:
        return ""
    if not spec.audience_reruns:
        return ""
    return f"<style>{FORM_CSS}</style>" + form_html(action, controls(spec, run), xsrf())
