"""A small credit-risk model served with Flask and monitored with mlmon-elk.

Run it from the repository's root (``pip install flask gunicorn`` next to ``mlmon-elk``)::

    MLMON_LOGSTASH_URL=tls://localhost:5000 \
    MLMON_LOGSTASH_CA=certs/ca/ca.crt \
    MLMON_LOGSTASH_CLIENT_CERT=certs/mlmon-app/mlmon-app.crt \
    MLMON_LOGSTASH_CLIENT_KEY=certs/mlmon-app/mlmon-app.key \
        gunicorn --config examples/serving/gunicorn.conf.py --chdir examples/serving app:app

The compose stack's Logstash takes TLS senders only: its tcp input requires the
client certificate the setup service issues (copy the files out of the ``certs``
volume, see docs/stack.md). For its http input use
``MLMON_LOGSTASH_URL=https://localhost:8080`` with ``MLMON_LOGSTASH_CA`` and
``MLMON_HTTP_USERNAME`` / ``MLMON_HTTP_PASSWORD`` instead of the client certificate.

It listens on 127.0.0.1:8000; set ``MLMON_APP_BIND=0.0.0.0:8000`` to serve other hosts.

Without ``MLMON_LOGSTASH_URL`` predictions go to ``predictions.jsonl`` (the
embedded default, which ``mlmon-elk analyze`` reads directly).

The handler is attached through ``logging.config.dictConfig`` — the same dict
works from a YAML file — and every prediction is logged by the ``monitored``
decorator, which times the model call, records an exception as a failure and
re-raises it.
"""

from __future__ import annotations

import logging
import logging.config
import os
from typing import Any

from flask import Flask, jsonify, request

from mlmon_elk import monitored
from mlmon_elk.demo.traffic import MODEL, VERSION
from mlmon_elk.demo.traffic import predict as credit_model

LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {
        "predictions": {
            "class": "mlmon_elk.PredictionHandler",
            "url": os.environ.get("MLMON_LOGSTASH_URL", "file://predictions.jsonl"),
            # TLS files (unset: the system CAs, no client certificate).
            "ca_certs": os.environ.get("MLMON_LOGSTASH_CA"),
            "client_cert": os.environ.get("MLMON_LOGSTASH_CLIENT_CERT"),
            "client_key": os.environ.get("MLMON_LOGSTASH_CLIENT_KEY"),
            "model": MODEL,
            "model_version": VERSION,
            "service": "loan-api",
            "environment": os.environ.get("MLMON_ENVIRONMENT", "development"),
            "text_inputs": ["description"],
            # Identifiers never leave the process ("hash" keeps them groupable
            # under a key from MLMON_HASH_KEY; "truncate:<n>" cuts long strings).
            "privacy": {"applicant_id": "drop"},
        },
        "console": {"class": "logging.StreamHandler"},
    },
    "loggers": {
        # Predictions go only to the prediction handler, not to the console.
        "predictions": {"handlers": ["predictions"], "level": "INFO", "propagate": False},
    },
    "root": {"handlers": ["console"], "level": "INFO"},
}

logging.config.dictConfig(LOGGING)
predictions = logging.getLogger("predictions")

app = Flask(__name__)


@monitored(predictions)
def score(application: dict[str, Any]) -> dict[str, Any]:
    """The model call that is monitored: inputs in, outputs out."""
    return credit_model(application)


@app.post("/predict")
def predict() -> Any:
    application = request.get_json(force=True, silent=True)
    if not isinstance(application, dict):
        return jsonify(error="send one loan application as a JSON object"), 400
    try:
        return jsonify(score(application))
    except (TypeError, ValueError) as exc:  # the model rejected the input; already logged
        return jsonify(error=str(exc)), 422


@app.get("/health")
def health() -> Any:
    return jsonify(status="ok", model=MODEL, version=VERSION)
