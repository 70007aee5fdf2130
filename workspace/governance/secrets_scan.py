"""Find hard-coded credentials in a notebook with detect-secrets, before it is promoted.

``workspace promote`` refuses a notebook in which :func:`hard_coded_secrets` finds
anything: the message names the cell and the kind of secret (an AWS key, a password
assigned in code, credentials in a URL, a private key, ...). The high-entropy detectors
are left out: hashes and ids in analytics code would refuse too many notebooks. A line
that is a known false positive carries ``# pragma: allowlist secret``.

Examples
--------
>>> import nbformat
>>> nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell('key = "AKIAIOSFODNN7EXAMPLE"')])
>>> [(f.cell, f.kind) for f in hard_coded_secrets(nb)]
[(1, 'AWS Access Key')]
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["Finding", "describe", "hard_coded_secrets"]

#: detect-secrets plugins used (all of its defaults but the entropy and IP detectors).
PLUGINS = (
    "ArtifactoryDetector", "AWSKeyDetector", "AzureStorageKeyDetector", "BasicAuthDetector",
    "CloudantDetector", "DiscordBotTokenDetector", "GitHubTokenDetector", "GitLabTokenDetector",
    "IbmCloudIamDetector", "IbmCosHmacDetector", "JwtTokenDetector", "KeywordDetector",
    "MailchimpDetector", "NpmDetector", "OpenAIDetector", "PrivateKeyDetector",
    "PypiTokenDetector", "SendGridDetector", "SlackDetector", "SoftlayerDetector",
    "SquareOAuthDetector", "StripeDetector", "TelegramBotTokenDetector", "TwilioKeyDetector",
)  # fmt: skip


@dataclass(frozen=True)
class Finding:
    """A likely credential: the cell (1-based, as people count them), its line, the kind."""

    cell: int
    line: int
    kind: str


def hard_coded_secrets(nb: Any) -> list[Finding]:
    """Every likely credential in the sources of ``nb``'s cells, in cell order."""
    from detect_secrets import SecretsCollection
    from detect_secrets.settings import transient_settings

    lines: list[tuple[int, int]] = []  # file line -> (cell, line in cell)
    text: list[str] = []
    for index, cell in enumerate(nb.get("cells", []), 1):
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else str(source)
        for number, source_line in enumerate(source.splitlines(), 1):
            lines.append((index, number))
            text.append(source_line)
        lines.append((index, 0))  # a blank line between cells
        text.append("")
    found: set[Finding] = set()
    with tempfile.TemporaryDirectory(prefix="ws-scan-") as tmp:
        path = Path(tmp) / "notebook.py"
        path.write_text("\n".join(text) + "\n", encoding="utf-8")
        with transient_settings({"plugins_used": [{"name": p} for p in PLUGINS]}):
            collection = SecretsCollection()
            collection.scan_file(str(path))
        for secrets in collection.data.values():
            for s in secrets:
                cell, number = lines[s.line_number - 1]
                found.add(Finding(cell, number, s.type))
    return sorted(found, key=lambda f: (f.cell, f.line, f.kind))


def describe(findings: list[Finding], notebook: str) -> str:
    """One line for a refusal: where, what, and what to do instead.

    Examples
    --------
    >>> describe([Finding(3, 2, "Secret Keyword")], "daily.ipynb")  # doctest: +ELLIPSIS
    'daily.ipynb has a hard-coded credential in cell 3, line 2 (Secret Keyword); ...'
    """
    where = "; ".join(f"cell {f.cell}, line {f.line} ({f.kind})" for f in findings[:5])
    more = f" and {len(findings) - 5} more" if len(findings) > 5 else ""
    what = "hard-coded credentials" if len(findings) > 1 else "a hard-coded credential"
    return (
        f"{notebook} has {what} in {where}{more}; keep credentials in the "
        'secrets file and read it with workspace.secret("name") (docs/governance.md, '
        "Secrets), or mark a false positive with `# pragma: allowlist secret`"
    )
