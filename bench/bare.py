"""The baseline: a bare Flask "hello" app, served by the same gunicorn as the wizard."""

from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello() -> str:
    return "hello"
