"""``POST workspace/api/sql/format``: the Lab's "Format SQL" command, no kernel involved."""

from __future__ import annotations

from server_client import Fetch, call, jp_server_config  # noqa: F401 - override

pytest_plugins = ["pytest_jupyter.jupyter_server", "server_fixtures"]


async def test_formats_statements_and_refuses_sql_that_does_not_parse(jp_fetch: Fetch) -> None:
    sql = "select nation, sum(revenue) r from gold.revenue where year = $year group by all;"
    status, body = await call(jp_fetch, "POST", "sql/format", body={"sql": sql})
    assert status == 200, body
    assert body["sql"] == (
        "SELECT\n  nation,\n  sum(revenue) AS r\nFROM gold.revenue\nWHERE\n  year = $year\n"
        "GROUP BY ALL;"
    )
    status, body = await call(jp_fetch, "POST", "sql/format", body={"sql": "selec 1 frm"})
    assert status == 400 and body["error"].startswith("Cannot format the SQL: it does not parse")
    status, body = await call(jp_fetch, "POST", "sql/format", body={"query": "SELECT 1"})
    assert status == 400, body
