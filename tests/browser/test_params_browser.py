"""Widget parameters in a real Lab: the "Schedule this notebook" form shows a notebook's
declarations as the same controls (a dropdown, a date picker, a bounded number) with their
defaults and flags a value outside them; a control declared ``run_on_change=True`` re-runs
the cells below the parameters cell."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from support.browser import Lab, open_notebook, run_cell
from support.notebooks import make_notebook

DECLARED = (
    'region = params.dropdown("region", ["ASIA", "EUROPE", "AMERICA"], default="EUROPE")\n'
    'start = params.date("start", "2024-01-01", label="First day")\n'
    'min_orders = params.integer("min_orders", 5, min=0, max=100)'
)


def test_schedule_form_shows_the_declared_controls(page: Any, lab: Lab, artifacts: Path) -> None:
    make_notebook(
        lab.home / "notebooks" / "widget_form.ipynb",
        params=DECLARED,
        body="print(region, start, min_orders)",
        kernel="workspace",
    )
    panel = open_notebook(page, lab, "widget_form.ipynb")
    panel.locator('[data-testid="schedule-notebook"]').click()
    form = page.locator('[data-testid="schedule-form"]:not([data-loading])')
    form.wait_for()

    region = form.locator('[data-testid="param-region"]')
    assert region.evaluate("(el) => el.tagName") == "SELECT"
    assert region.input_value() == "EUROPE"
    options = region.locator("option").all_inner_texts()
    assert options == ["ASIA", "EUROPE", "AMERICA"], options
    start = form.locator('[data-testid="param-start"]')
    assert start.get_attribute("type") == "date" and start.input_value() == "2024-01-01"
    form.get_by_text("First day").wait_for()  # the declared label
    orders = form.locator('[data-testid="param-min_orders"]')
    assert orders.get_attribute("type") == "number" and orders.input_value() == "5"
    assert (orders.get_attribute("min"), orders.get_attribute("max")) == ("0", "100")
    page.screenshot(path=str(artifacts / "schedule-form-widgets.png"))

    # a value outside the bounds is flagged before submit, and submit waits for a fix
    orders.fill("500")
    problem = form.locator('[data-testid="param-problem-min_orders"]')
    problem.wait_for()
    assert "outside 0 .. 100" in problem.inner_text()
    assert form.locator('[data-testid="schedule-submit"]').is_disabled()
    orders.fill("50")
    problem.wait_for(state="detached")
    region.select_option("ASIA")
    assert form.locator('[data-testid="schedule-submit"]').is_enabled()
    form.locator('[data-testid="schedule-close"]').click()
    form.wait_for(state="detached")


def test_run_on_change_reruns_the_cells_below(page: Any, lab: Lab, artifacts: Path) -> None:
    make_notebook(
        lab.home / "notebooks" / "widget_rerun.ipynb",
        params='region = params.dropdown("region", ["ASIA", "EUROPE"], run_on_change=True)',
        body='print("region is", region)',
        kernel="workspace",
    )
    panel = open_notebook(page, lab, "widget_rerun.ipynb")
    cells = panel.locator(".jp-CodeCell")
    run_cell(page, cells.nth(0))
    dropdown = cells.nth(0).locator(".jp-OutputArea .widget-dropdown select")
    dropdown.wait_for(timeout=30_000)
    run_cell(page, cells.nth(1))
    below = cells.nth(1).locator(".jp-OutputArea")
    below.get_by_text("region is ASIA").wait_for(timeout=30_000)
    prompt = cells.nth(0).locator(".jp-InputPrompt").inner_text()

    dropdown.select_option("EUROPE")
    below.get_by_text("region is EUROPE").wait_for(timeout=30_000)
    page.screenshot(path=str(artifacts / "params-run-on-change.png"))
    # the parameters cell did not run again (that would reset the bar to its default)
    assert cells.nth(0).locator(".jp-InputPrompt").inner_text() == prompt
    assert dropdown.input_value() == "EUROPE"
