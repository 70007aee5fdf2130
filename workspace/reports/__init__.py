"""The reports service: pipeline reports for stakeholders, behind hub OAuth.

:mod:`workspace.reports.access` decides who sees which pipeline (its ``audience``),
:mod:`workspace.reports.pages` renders the service's own pages (Jinja2, autoescaped) and
:mod:`workspace.reports.service` is the tornado app the hub runs as the ``reports`` service
(``workspace reports-service``).
"""
