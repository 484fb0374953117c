"""``python -m kpi_cli`` — the same as the ``kpi`` console script."""

from kpi_cli.main import app

app()
