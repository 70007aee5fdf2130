"""HTML of the reports service's own pages: gallery, pipeline history, run page, errors.

Rendered with Jinja2 with autoescaping on for every template (names, owners, descriptions
and task keys come from files users write). The pages need no script; the report itself
is never inlined: the run page frames it with ``<iframe sandbox src=...>`` (no
``allow-scripts``, no ``allow-same-origin``) and the report URL is served with
``REPORT_CSP``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from jinja2 import DictLoader, Environment, StrictUndefined

__all__ = ["PAGE_CSP", "GalleryEntry", "RunRow", "render"]

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
iframe.report{width:100%;height:80vh;border:1px solid #d0d7de;background:#fff}
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
{% if report_url %}<iframe class="report" sandbox src="{{ report_url }}"
title="Report of {{ pipeline }}" referrerpolicy="no-referrer"></iframe>
{% else %}<p class="muted">This run has no report (yet); it is written when the run ends.</p>
{% endif %}{% endblock %}"""

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
    """Render one of ``gallery``, ``pipeline``, ``run``, ``error`` (autoescaped).

    Every page has a "Log out" link to ``logout_url`` (the hub's logout) when it shows a
    viewer.

    Examples
    --------
    >>> "&lt;b&gt;" in render("error", base="/", viewer="<b>", heading="x", message="m",
    ...                       hint=None)
    True
    """
    return _ENV.get_template(f"{template}.html").render(logout_url=logout_url, **context)
