from srcost.cli import app

app()
