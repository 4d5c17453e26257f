"""``python -m pipelines.cli``: the ``seqpipe`` command."""

from pipelines.cli import app

app(prog_name="seqpipe")
