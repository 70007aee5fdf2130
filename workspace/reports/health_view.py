"""The platform health page: ``GET /services/reports/health`` (HTML, or JSON with
``?format=json``).

For hub admins and the ``engineers``, ``stakeholders``, ``legal`` and ``security`` groups
(:func:`may_see_health`; 403 for everyone else). What it shows: docs/reports.md.

Examples
--------
>>> may_see_health(Identity(name="eve", groups=frozenset({"engineers"})))
True
>>> may_see_health(Identity(name="sam", groups=frozenset({"stakeholders"})))
True
>>> may_see_health(Identity(name="ana", groups=frozenset({"analysts"})))
False
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import DictLoader, Environment, StrictUndefined
from jupyterhub.services.auth import HubOAuthenticated
from tornado.web import HTTPError, RequestHandler, authenticated

from workspace.api.auth import ENGINEERS, STAKEHOLDERS, Identity
from workspace.governance.access_policy import LEGAL_GROUP as LEGAL
from workspace.governance.access_policy import SECURITY_GROUP as SECURITY
from workspace.lake.settings import Settings
from workspace.reports.health import GrantsSummary, PlatformHealth, platform_health
from workspace.reports.pages import PAGE_CSP

__all__ = ["HealthHandler", "may_see_grants", "may_see_health", "render_health"]


#: The service pages' policy, except that the Lab's "Platform health" tab (same origin under
#: the hub) may frame this page.
FRAMEABLE_CSP = PAGE_CSP.replace("frame-ancestors 'none'", "frame-ancestors 'self'")


def may_see_health(viewer: Identity) -> bool:
    """Hub admins, engineers, stakeholders, legal and security."""
    return viewer.admin or bool({ENGINEERS, STAKEHOLDERS, LEGAL, SECURITY} & viewer.groups)


def may_see_grants(viewer: Identity) -> bool:
    """Who holds which grant: admins, legal and security."""
    return viewer.admin or bool({LEGAL, SECURITY} & viewer.groups)


def _size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if size < 1000 or unit == "TB":
            return f"{size:,.0f} {unit}" if unit == "B" else f"{size:,.1f} {unit}"
        size /= 1000
    return f"{n} B"


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Platform health · Analytics Workspace</title>
<style>
body{font-family:system-ui,sans-serif;margin:0;color:#1f2328;background:#f6f8fa}
header.top{background:#24292f;color:#fff;padding:.6em 1.5em;display:flex;gap:1em}
header.top a{color:#fff;text-decoration:none;font-weight:600}
header.top .who{margin-left:auto;font-size:.9em;opacity:.85}
main{padding:1em 1.5em;max-width:80em}
.card{background:#fff;border:1px solid #d0d7de;border-radius:6px;padding:1em;margin:0 0 1em}
.card h2{margin:.1em 0 .5em;font-size:1.15em}
table{border-collapse:collapse}td,th{padding:.25em .9em .25em 0;text-align:left}
td.num,th.num{text-align:right}
.s{font-weight:600}.s-ok,.s-healthy{color:#1a7f37}
.s-failing,.s-invalid{color:#cf222e}.s-late,.s-stale,.s-warning,.s-pending{color:#9a6700}
.s-paused,.s-no_history{color:#57606a}.muted{color:#57606a}
.tiles{display:flex;gap:1em;flex-wrap:wrap;margin-bottom:1em}
.tile{background:#fff;border:1px solid #d0d7de;border-radius:6px;padding:.6em 1em;min-width:9em}
.tile b{display:block;font-size:1.6em}
</style></head>
<body><header class="top"><a href="{{ base }}">Reports</a><span>Platform health</span>
<span class="who">{{ viewer }}</span></header><main>
<p class="muted">Last {{ days }} days, as of {{ h.generated_at.strftime('%Y-%m-%d %H:%M') }} UTC.
{% for p in h.problems %}<br><span class="s-failing">Could not read {{ p }}</span>{% endfor %}</p>
<div class="tiles">
<div class="tile"><b class="{{ 's-failing' if failing else 's-ok' }}">{{ failing }}</b>
pipelines failing</div>
<div class="tile"><b>{{ on_time }}</b>started on time</div>
<div class="tile"><b>{{ misses }}</b>SLA misses</div>
<div class="tile"><b class="{{ 's-warning' if unhealthy else 's-ok' }}">{{ unhealthy }}</b>
tables needing a look</div>
<div class="tile"><b>{{ cost }}</b>compute cost ({{ h.currency }})</div>
<div class="tile"><b>{{ stored }}</b>stored</div>
<div class="tile"><b>{{ workers }}</b>Dask workers</div>
</div>
<section class="card"><h2>Pipelines</h2>
{% if h.pipelines %}<table><thead><tr><th>Pipeline</th><th>Status</th><th>Last run</th>
<th class="num">Runs</th><th class="num">Failed</th><th class="num">On time</th>
<th class="num">SLA misses</th><th>Next run</th>
</tr></thead><tbody>{% for p in h.pipelines %}<tr>
<td><a href="{{ base }}pipelines/{{ p.name }}">{{ p.name }}</a></td>
<td class="s s-{{ p.status }}">{{ p.status }}</td><td>{{ p.last_state or '—' }}</td>
<td class="num">{{ p.runs }}</td><td class="num">{{ p.failed }}</td>
<td class="num">{{ '%.0f%%'|format(p.on_time_pct) if p.on_time_pct is not none else '—' }}</td>
<td class="num">{{ p.sla_misses }}</td>
<td>{{ p.next_run.strftime('%Y-%m-%d %H:%M') if p.next_run else '—' }}</td></tr>
{% if p.error %}<tr><td></td><td colspan="7" class="s-failing">{{ p.error }}</td></tr>{% endif %}
{% endfor %}</tbody></table>{% else %}<p class="muted">No pipelines.</p>{% endif %}</section>
<section class="card"><h2>Tables</h2>
{% if h.tables %}<table><thead><tr><th>Table</th><th>Health</th><th class="num">Findings</th>
<th>Why</th></tr></thead><tbody>{% for t in h.tables %}<tr><td>{{ t.table }}</td>
<td class="s s-{{ t.health }}">{{ t.health }}</td><td class="num">{{ t.findings }}</td>
<td class="muted">{{ t.message }}</td></tr>{% endfor %}</tbody></table>
{% else %}<p class="muted">No shared tables.</p>{% endif %}</section>
<section class="card"><h2>Compute</h2>
{% if h.compute %}<table><thead><tr><th>Pipeline</th><th class="num">CPU hours</th>
<th class="num">GB-hours</th><th class="num">Cost</th></tr></thead><tbody>
{% for c in h.compute %}<tr><td>{{ c.pipeline }}</td>
<td class="num">{{ '%.3f'|format(c.cpu_hours) }}</td>
<td class="num">{{ '%.3f'|format(c.gb_hours) }}</td>
<td class="num">{{ '%.2f'|format(c.cost) }}</td></tr>
{% endfor %}</tbody></table>{% else %}<p class="muted">No finished attempts in the window.</p>
{% endif %}</section>
{% if h.compute_by_user %}<section class="card"><h2>Cost by user</h2>
<table><thead><tr><th>User</th><th class="num">CPU hours</th><th class="num">Cost</th></tr>
</thead><tbody>{% for c in h.compute_by_user %}<tr><td>{{ c.pipeline }}</td>
<td class="num">{{ '%.3f'|format(c.cpu_hours) }}</td>
<td class="num">{{ '%.2f'|format(c.cost) }}</td></tr>{% endfor %}</tbody></table></section>
{% endif %}
<section class="card"><h2>Storage</h2><table><thead><tr><th>Layer</th><th class="num">Size</th>
<th class="num">Per month</th></tr></thead><tbody>{% for s in h.storage %}<tr><td>{{ s.layer }}</td>
<td class="num">{{ size(s.bytes) }}</td><td class="num">{{ '%.2f'|format(s.cost_per_month) }}</td>
</tr>{% endfor %}</tbody></table></section>
{% if grants %}<section class="card"><h2>Access grants</h2>
<p>{{ h.grants.active }} active.</p>
{% if h.grants.expiring_soon %}<h3>Expiring within a week</h3><table><tbody>
{% for g in h.grants.expiring_soon %}<tr><td>{{ g.user }}</td><td>{{ g.target }}</td>
<td>{{ g.expires_at }}</td></tr>{% endfor %}</tbody></table>{% endif %}
{% if h.grants.never_used %}<h3>Never used</h3><table><tbody>
{% for g in h.grants.never_used %}<tr><td>{{ g.user }}</td><td>{{ g.target }}</td>
<td>{{ g.granted_at }}</td></tr>{% endfor %}</tbody></table>{% endif %}</section>{% endif %}
</main></body></html>
"""

_ENV = Environment(loader=DictLoader({"health": _PAGE}), autoescape=True, undefined=StrictUndefined)


def render_health(
    h: PlatformHealth, *, base: str, viewer: str, days: int, grants: bool = False
) -> str:
    """The HTML page of a :class:`PlatformHealth` (autoescaped; no script); the grants
    section only with ``grants``."""
    span = h.dask_workers
    scheduled = [p for p in h.pipelines if p.on_time_pct is not None]
    return _ENV.get_template("health").render(
        h=h,
        base=base,
        viewer=viewer,
        days=days,
        size=_size,
        failing=sum(1 for p in h.pipelines if p.status in ("failing", "invalid")),
        grants=grants,
        on_time=(
            f"{sum(p.on_time_pct or 0 for p in scheduled) / len(scheduled):.0f}%"
            if scheduled
            else "—"
        ),
        misses=sum(p.sla_misses for p in h.pipelines),
        unhealthy=sum(1 for t in h.tables if t.health in ("failing", "stale", "warning")),
        cost=f"{sum(c.cost for c in h.compute):,.2f}",
        stored=_size(sum(s.bytes for s in h.storage)),
        workers="—"
        if span is None
        else (str(span[0]) if span[0] == span[1] else f"{span[0]} to {span[1]}"),
    )


class HealthHandler(HubOAuthenticated, RequestHandler):
    """``GET health``: the platform health page (``?format=json`` for the data)."""

    def set_default_headers(self) -> None:
        self.set_header("Cache-Control", "no-store")
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("Content-Security-Policy", FRAMEABLE_CSP)

    @authenticated
    def get(self) -> None:
        user = self.current_user
        viewer = Identity.from_hub_model(user if isinstance(user, dict) else {})
        if not may_see_health(viewer):
            raise HTTPError(403, log_message=f"{viewer.name} may not see the platform health")
        try:
            days = int(self.get_argument("days", "7"))
        except ValueError:
            raise HTTPError(400, reason="days must be a whole number of days") from None
        if not 1 <= days <= 90:
            raise HTTPError(400, reason="days must be between 1 and 90")
        settings: Settings = self.settings["workspace_settings"]
        root: Path = self.settings["workspace_scheduled_root"]
        health = platform_health(settings, scheduled_root=root, days=days)
        grants = may_see_grants(viewer)
        if not grants:
            health.grants = GrantsSummary()
        if self.get_argument("format", "html") == "json":
            self.set_header("Content-Type", "application/json; charset=utf-8")
            self.finish(health.model_dump_json())
            return
        base: str = self.settings.get("workspace_prefix", "/")
        self.set_header("Content-Type", "text/html; charset=utf-8")
        page = render_health(health, base=base, viewer=viewer.name, days=days, grants=grants)
        self.finish(page)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        self.finish(f"{status_code}: {self._reason}")
