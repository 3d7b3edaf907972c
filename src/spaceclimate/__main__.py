"""``python -m spaceclimate`` runs the ``sco`` command."""

from spaceclimate.cli.main import app

app(prog_name="sco")
