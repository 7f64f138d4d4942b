# mlmon-elk with the analyzer extra: the image of the compose stack's setup,
# baseline, analyzer and example-app services.
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY . /app
# The package (a wheel with kibana_dashboards/ and logstash/ inside), plus the
# two libraries the example serving app needs.
RUN pip install ".[analyzer]" "flask>=3,<4" "gunicorn>=22,<24" \
    && useradd --uid 10001 --create-home mlmon \
    && mkdir -p /data/baselines \
    && chown -R mlmon /data

USER mlmon
ENTRYPOINT []
CMD ["mlmon-elk", "--help"]
