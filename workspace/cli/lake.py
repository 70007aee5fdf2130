"""Catalog commands: ``workspace tables``, ``workspace describe``."""

from __future__ import annotations

import click

commands: list[click.Command] = []
