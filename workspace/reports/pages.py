"""HTML of the reports service's own pages: gallery, pipeline history, run page, errors.

Rendered with Jinja2 with autoescaping on for every template (names, owners, descriptions
and task keys come from files users write). The pages need no script. A run page with a
report *is* the report, so the page scrolls once: the service puts its bar (``runbar``) and
the run-to-run comparison (``keynumbers``) into the sanitized report document and serves
it under ``REPORT_PAGE_CSP`` (the report's policy, ``sandbox`` included, never framed).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from jinja2 import DictLoader, Environment, StrictUndefined

__all__ = ["BAR_CSS", "PAGE_CSP", "GalleryEntry", "RunRow", "render"]

#: The policy of the service's own pages: no script at all, styles inline, reports framed
#: from this origin only, and the pages themselves never framed.
PAGE_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; frame-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)

_BASE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{% block title %}Reports{% endblock %} · Analytics Workspace</title>
{% block head %}{% endblock %}
<style>
body{font-family:system-ui,sans-serif;margin:0;color:#1f2328;background:#f6f8fa}
header.top{background:#24292f;color:#fff;padding:.6em 1.5em;display:flex;gap:1em;
align-items:baseline}
header.top a{color:#fff;text-decoration:none;font-weight:600}
header.top .who{margin-left:auto;font-size:.9em;opacity:.85}
header.top a.logout{font-weight:400;font-size:.9em}
main{padding:1em 1.5em;max-width:80em}
.card{background:#fff;border:1px solid #d0d7de;border-radius:6px;padding:1em;margin:0 0 1em}
.card h2{margin:.1em 0 .3em;font-size:1.2em}
table{border-collapse:collapse}td,th{padding:.2em .8em .2em 0;text-align:left}
.state{font-weight:600}.state-succeeded{color:#1a7f37}
.state-failed,.state-timed_out,.state-cancelled{color:#cf222e}
.state-running,.state-queued{color:#9a6700}
.muted{color:#57606a}.error{color:#cf222e}
</style></head>
<body><header class="top"><a href="{{ base }}">Reports</a>
{% if viewer %}<span class="who">{{ viewer }}</span>
<a class="logout" href="{{ logout_url }}">Log out</a>{% endif %}</header>
<main>{% block main %}{% endblock %}</main></body></html>
"""

_HISTORY = """{% macro history(runs) -%}
{% if runs %}<table><thead><tr><th>Run</th><th>When</th><th>State</th><th>Trigger</th>
<th>Report</th></tr></thead><tbody>
{% for r in runs %}<tr><td><a href="{{ r.url }}">{{ r.run_id[-10:] }}</a></td>
<td>{{ r.when }}</td><td class="state state-{{ r.state }}">{{ r.state }}</td>
<td>{{ r.trigger }}</td>
<td>{% if r.has_report %}<a href="{{ r.url }}">view</a>{% else %}<span class="muted">none
</span>{% endif %}</td></tr>{% endfor %}
</tbody></table>{% else %}<p class="muted">No runs yet.</p>{% endif %}
{%- endmacro %}"""

_GALLERY = """{% extends "base.html" %}{% from "history.html" import history %}
{% block main %}<h1>Pipeline reports</h1>
{% for p in pipelines %}<section class="card" id="p-{{ p.name }}">
<h2><a href="{{ p.url }}">{{ p.name }}</a></h2>
{% if p.description %}<p>{{ p.description }}</p>{% endif %}
{% if p.owner %}<p class="muted">Owner: {{ p.owner }}</p>{% endif %}
{% if p.latest %}<p>Latest report:
<a class="latest" href="{{ p.latest_url }}">{{ p.latest.when }}</a>
<span class="state state-{{ p.latest.state }}">{{ p.latest.state }}</span>
· <a href="{{ p.latest_url }}">stable link</a></p>
{% endif %}
<details><summary>History</summary>{{ history(p.runs) }}</details>
</section>{% else %}<p>No pipeline reports are shared with you yet.</p>{% endfor %}
{% endblock %}"""

_PIPELINE = """{% extends "base.html" %}{% from "history.html" import history %}
{% block title %}{{ p.name }}{% endblock %}
{% block main %}<h1>{{ p.name }}</h1>
{% if p.description %}<p>{{ p.description }}</p>{% endif %}
{% if p.latest %}<p><a href="{{ p.latest_url }}">Latest report</a> ({{ p.latest.when }},
<span class="state state-{{ p.latest.state }}">{{ p.latest.state }}</span>)</p>{% endif %}
{{ history(p.runs) }}{% endblock %}"""

_RUN = """{% extends "base.html" %}
{% block title %}{{ pipeline }} · {{ run.run_id[-10:] }}{% endblock %}
{% block head %}{% if run.state in ("queued", "running") %}
<meta http-equiv="refresh" content="3">{% endif %}{% endblock %}
{% block main %}<h1><a href="{{ pipeline_url }}">{{ pipeline }}</a> ·
run <span class="muted">{{ run.run_id }}</span></h1>
<p><span class="state state-{{ run.state }}">{{ run.state }}</span> · {{ run.when }}
· {{ run.trigger }}{% if latest %} · <a href="{{ permalink }}">permalink to this run</a>
{% endif %}{% if code_toggle %} · <a href="{{ code_toggle.url }}">{{ code_toggle.label }}</a>
{% endif %}</p>
{% if attempts %}<details><summary>Task reports</summary><ul>
{% for a in attempts %}<li><a href="{{ a.url }}">{{ a.task }} (attempt {{ a.number }})</a>
<span class="state state-{{ a.state }}">{{ a.state }}</span></li>{% endfor %}
</ul></details>{% endif %}
<p class="muted" data-testid="no-report">This run has no report (yet); it is written when the
run ends{% if run.state in ("queued", "running") %}, and this page reloads until then{% endif %}.
</p>
{% endblock %}"""

#: The service's bar and key numbers inside a report page (the report brings its own CSS).
BAR_CSS = """
.ws-bar{font-family:system-ui,sans-serif;font-size:.9em;background:#f6f8fa;color:#1f2328;
border-bottom:1px solid #d0d7de;padding:.4em 0;display:flex;flex-wrap:wrap;gap:.2em .8em;
align-items:baseline}
.ws-bar a{color:#0969da}.ws-bar .who{margin-left:auto;color:#57606a}
.ws-bar details{flex-basis:100%}.ws-bar .state{font-weight:600}
.ws-bar .state-succeeded{color:#1a7f37}.ws-bar .state-failed,.ws-bar .state-timed_out,
.ws-bar .state-cancelled{color:#cf222e}
.ws-key-numbers{margin:0 0 1.5em}.ws-key-numbers h2{font-size:1.1em;margin:.3em 0}
.ws-key-numbers table{border-collapse:collapse;font-variant-numeric:tabular-nums}
.ws-key-numbers th,.ws-key-numbers td{padding:.25em .9em .25em 0;text-align:left;
border-bottom:1px solid #eaeef2}
.ws-key-numbers td.num{text-align:right}.ws-key-numbers .muted{color:#57606a}
.change-up{color:#1a7f37}.change-down{color:#cf222e}.change-same,.change-new{color:#57606a}
"""

_RUN_BAR = """<nav class="ws-bar"><a href="{{ base }}">Reports</a>
<a href="{{ pipeline_url }}">{{ pipeline }}</a>
<span class="state state-{{ run.state }}">{{ run.state }}</span><span>{{ run.when }}</span>
<span>{{ run.trigger }}</span>
{% if latest %}<a href="{{ permalink }}">permalink to this run</a>{% endif %}
{% if code_toggle %}<a href="{{ code_toggle.url }}">{{ code_toggle.label }}</a>{% endif %}
{% if viewer %}<span class="who">{{ viewer }}</span>
<a class="logout" href="{{ logout_url }}">Log out</a>{% endif %}
{% if attempts|length > 1 %}<details><summary>Task reports</summary><ul>
{% for a in attempts %}<li><a href="{{ a.url }}">{{ a.task }} (attempt {{ a.number }})</a>
<span class="state state-{{ a.state }}">{{ a.state }}</span></li>{% endfor %}
</ul></details>{% endif %}</nav>"""

_KEY_NUMBERS = """{% if numbers %}<section class="ws-key-numbers"><h2>Key numbers</h2>
<table><thead><tr><th></th><th>This run</th><th>{% if previous %}Previous run
(<a href="{{ previous.url }}">{{ previous.when }}</a>){% else %}Previous run{% endif %}</th>
<th>Change</th></tr></thead><tbody>
{% for k in numbers %}<tr><th>{{ k.name }}</th><td class="num">{{ k.value }}</td>
<td class="num">{% if k.previous is not none %}{{ k.previous }}{% else %}<span class="muted">—
</span>{% endif %}</td><td class="change change-{{ k.direction }}">{{ k.change }}</td></tr>
{% endfor %}</tbody></table>
{% if not previous %}<p class="muted">No earlier successful run to compare with yet.</p>
{% endif %}</section>{% endif %}"""

_ERROR = """{% extends "base.html" %}{% block title %}{{ heading }}{% endblock %}
{% block main %}<h1>{{ heading }}</h1><p>{{ message }}</p>
{% if hint %}<p class="muted">{{ hint }}</p>{% endif %}
<p><a href="{{ base }}">Back to the reports you can see</a></p>{% endblock %}"""

_ENV = Environment(
    loader=DictLoader(
        {
            "base.html": _BASE,
            "history.html": _HISTORY,
            "gallery.html": _GALLERY,
            "pipeline.html": _PIPELINE,
            "run.html": _RUN,
            "runbar.html": _RUN_BAR,
            "keynumbers.html": _KEY_NUMBERS,
            "error.html": _ERROR,
        }
    ),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def when(at: datetime | None) -> str:
    """``2024-05-01 06:00 UTC`` (empty for ``None``)."""
    return at.strftime("%Y-%m-%d %H:%M UTC") if at else ""


@dataclass
class RunRow:
    """One run in a history table or on a run page."""

    run_id: str
    state: str
    when: str
    trigger: str
    url: str
    has_report: bool


@dataclass
class GalleryEntry:
    """One pipeline card: its latest report and recent runs."""

    name: str
    url: str
    latest_url: str
    description: str | None = None
    owner: str | None = None
    latest: RunRow | None = None
    runs: list[RunRow] = field(default_factory=list)


def render(template: str, *, logout_url: str = "/hub/logout", **context: Any) -> str:
    """Render one of ``gallery``, ``pipeline``, ``run``, ``error``, or the fragments
    ``runbar`` and ``keynumbers`` of a report page (autoescaped).

    Every page has a "Log out" link to ``logout_url`` (the hub's logout) when it shows a
    viewer.

    Examples
    --------
    >>> "&lt;b&gt;" in render("error", base="/", viewer="<b>", heading="x", message="m",
    ...                       hint=None)
    True
    """
    return _ENV.get_template(f"{template}.html").render(logout_url=logout_url, **context)
