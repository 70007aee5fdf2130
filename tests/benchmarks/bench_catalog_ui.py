"""Benchmark: time from clicking a table in the catalog browser to its detail being shown.

Runs a real ``workspace lab`` on a demo lake and drives Debian's Chromium. For every demo
table it clicks the table in the catalog tree and waits until the detail tab has loaded
(``data-loaded="true"``). The baseline, measured in the same page, is a plain ``fetch`` of the
same table's detail route, so the ratio is what the UI adds on top of the server.

Run: ``.venv/bin/python tests/benchmarks/bench_catalog_ui.py``
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from support.browser import CHROMIUM, CHROMIUM_ARGS, open_sidebar, start_lab

GOAL_NOTE = "issue 4 asks to report it (no target)"


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def main() -> None:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp, start_lab(Path(tmp), scheduler=False) as lab:
        tables = [t["name"] for t in lab.api("GET", "catalog/tables?limit=1000")["tables"]]
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            page.goto(lab.url("lab?reset"))
            page.wait_for_selector("#jp-main-dock-panel", timeout=60_000)
            open_sidebar(page, "workspace-catalog")
            for layer in ("bronze", "silver", "gold"):
                page.locator(f'[data-testid="catalog-layer"][data-layer="{layer}"]').click()
            ui: list[float] = []
            api: list[float] = []
            for name in tables:
                item = page.locator(f'[data-testid="catalog-table"][data-name="{name}"]').first
                item.scroll_into_view_if_needed()
                started = time.perf_counter()
                item.click()
                page.locator(
                    f'[data-testid="table-detail"][data-name="{name}"][data-loaded="true"]'
                ).wait_for()
                ui.append(1000 * (time.perf_counter() - started))
                api.append(
                    page.evaluate(
                        """async (url) => {
                            const t0 = performance.now();
                            const r = await fetch(url, {cache: 'no-store'});
                            await r.json();
                            return performance.now() - t0;
                        }""",
                        lab.url(f"workspace/api/catalog/tables/{name}"),
                    )
                )
            browser.close()
    ui_p50, api_p50 = statistics.median(ui), statistics.median(api)
    print(f"tables clicked: {len(ui)} (demo lake, sf 0.01)")
    print(f"click -> table detail shown   p50 {ui_p50:7.1f} ms  p95 {p95(ui):7.1f} ms")
    print(f"  ({GOAL_NOTE})")
    print(f"baseline: fetch of the route  p50 {api_p50:7.1f} ms  p95 {p95(api):7.1f} ms")
    print(f"ratio UI / route p50: {ui_p50 / api_p50:.2f}x")


if __name__ == "__main__":
    main()
