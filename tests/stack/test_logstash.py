"""The Logstash pipeline and settings follow the documented structure and the contract.

No Logstash distribution is reachable here, so nothing runs the pipeline; these
tests parse it (balanced blocks, valid syntax) and check it against the plugin
documentation (known plugins and options), the contract (stream names, the
namespace rule) and the settings the issue requires (decode size limit,
persistent and dead-letter queues, ECS compatibility, env-only secrets).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlmon_elk.contract import STREAM_OF_DATASET, Dataset, validate_namespace
from mlmon_elk.producer.transports import TransportOptions
from mlmon_elk.stack.assets import asset_dir
from mlmon_elk.stack.templates import INVALID_DATASET
from tests.stack.logstash_config import (
    Bareword,
    Conditional,
    ConfigSyntaxError,
    Plugin,
    conditions,
    parse,
    walk,
)

LOGSTASH = asset_dir("logstash")
PIPELINE = LOGSTASH / "pipeline" / "mlmon.conf"
CONTAINER_ROOT = "/usr/share/logstash/"

# Options from each plugin's docs/index.asciidoc (logstash-plugins/*, 2025–2026)
# plus the common options of its kind. The inputs' options were checked against
# the `config :name` lines of their source (logstash-plugins/logstash-input-tcp
# lib/logstash/inputs/tcp.rb 7.0.12, logstash-input-http lib/logstash/inputs/http.rb
# 4.1.13, logstash-input-beats lib/logstash/inputs/beats.rb 7.0.9). The `ssl_*`
# names used here exist since tcp 6.4.0, http 3.7.0 and beats 6.6.0 (2023, each
# CHANGELOG.md), so in every Logstash 8.14+ and 9.x.
COMMON = {
    "input": {"add_field", "codec", "enable_metric", "id", "tags", "type"},
    "filter": {
        "add_field",
        "add_tag",
        "enable_metric",
        "id",
        "periodic_flush",
        "remove_field",
        "remove_tag",
    },
    "output": {"codec", "enable_metric", "id"},
}
OPTIONS = {
    ("input", "tcp"): {
        "dns_reverse_lookup_enabled",
        "ecs_compatibility",
        "host",
        "mode",
        "port",
        "proxy_protocol",
        "ssl_certificate",
        "ssl_certificate_authorities",
        "ssl_cipher_suites",
        "ssl_client_authentication",
        "ssl_enabled",
        "ssl_extra_chain_certs",
        "ssl_key",
        "ssl_key_passphrase",
        "ssl_supported_protocols",
        "ssl_verification_mode",
        "tcp_keep_alive",
    },
    ("input", "http"): {
        "additional_codecs",
        "ecs_compatibility",
        "host",
        "password",
        "port",
        "max_content_length",
        "max_pending_requests",
        "response_code",
        "response_headers",
        "remote_host_target_field",
        "request_headers_target_field",
        "ssl_certificate",
        "ssl_certificate_authorities",
        "ssl_cipher_suites",
        "ssl_client_authentication",
        "ssl_enabled",
        "ssl_handshake_timeout",
        "ssl_key",
        "ssl_key_passphrase",
        "ssl_keystore_path",
        "ssl_keystore_type",
        "ssl_keystore_password",
        "ssl_supported_protocols",
        "ssl_truststore_password",
        "ssl_truststore_path",
        "ssl_truststore_type",
        "threads",
        "user",
    },
    ("input", "beats"): {
        "add_hostname",
        "client_inactivity_timeout",
        "ecs_compatibility",
        "enrich",
        "event_loop_threads",
        "executor_threads",
        "host",
        "include_codec_tag",
        "port",
        "ssl_certificate",
        "ssl_certificate_authorities",
        "ssl_cipher_suites",
        "ssl_client_authentication",
        "ssl_enabled",
        "ssl_handshake_timeout",
        "ssl_key",
        "ssl_key_passphrase",
        "ssl_supported_protocols",
    },
    ("filter", "mutate"): {
        "convert",
        "copy",
        "gsub",
        "join",
        "lowercase",
        "merge",
        "coerce",
        "rename",
        "replace",
        "split",
        "strip",
        "update",
        "uppercase",
        "capitalize",
        "tag_on_failure",
    },
    ("output", "elasticsearch"): {
        "action",
        "api_key",
        "bulk_path",
        "ca_trusted_fingerprint",
        "cloud_auth",
        "cloud_id",
        "compression_level",
        "data_stream",
        "data_stream_auto_routing",
        "data_stream_dataset",
        "data_stream_namespace",
        "data_stream_sync_fields",
        "data_stream_type",
        "dlq_custom_codes",
        "dlq_on_failed_indexname_interpolation",
        "document_id",
        "ecs_compatibility",
        "custom_headers",
        "healthcheck_path",
        "hosts",
        "http_compression",
        "manage_template",
        "parameters",
        "password",
        "path",
        "pipeline",
        "pool_max",
        "pool_max_per_route",
        "proxy",
        "resurrect_delay",
        "retry_initial_interval",
        "retry_max_interval",
        "routing",
        "silence_errors_in_log",
        "sniffing",
        "sniffing_delay",
        "sniffing_path",
        "ssl_certificate",
        "ssl_certificate_authorities",
        "ssl_cipher_suites",
        "ssl_enabled",
        "ssl_key",
        "ssl_keystore_password",
        "ssl_keystore_path",
        "ssl_keystore_type",
        "ssl_supported_protocols",
        "ssl_truststore_password",
        "ssl_truststore_path",
        "ssl_truststore_type",
        "ssl_verification_mode",
        "template_api",
        "timeout",
        "user",
        "validate_after_inactivity",
    },
}
# Options those sources declare `:obsolete` (the plugin refuses to start with them)
# or deprecated in 8.x's plugin versions: the names before the 2023 renames.
OBSOLETE = {
    ("input", "tcp"): {"ssl_enable", "ssl_verify", "ssl_cert"},
    ("input", "http"): {
        "ssl",
        "keystore",
        "keystore_password",
        "verify_mode",
        "cipher_suites",
        "tls_min_version",
        "tls_max_version",
        "ssl_verify_mode",
    },
    ("input", "beats"): {
        "ssl",
        "ssl_peer_metadata",
        "ssl_verify_mode",
        "cipher_suites",
        "tls_min_version",
        "tls_max_version",
    },
}
CODEC_OPTIONS = {
    "json_lines": {"charset", "decode_size_limit_bytes", "delimiter", "ecs_compatibility", "target"}
}

# The elasticsearch output refuses these with data streams (data_stream_support.rb
# accepts the shared API options, `document_id` among them, and `action` only as
# "create").
DATA_STREAM_INCOMPATIBLE = {
    "index",
    "ilm_enabled",
    "ilm_policy",
    "ilm_pattern",
    "ilm_rollover_alias",
    "template",
    "template_name",
    "template_overwrite",
}

# Settings known to logstash-core (lib/logstash/environment.rb).
KNOWN_SETTINGS = {
    "api.http.host",
    "api.http.port",
    "pipeline.ecs_compatibility",
    "config.reload.automatic",
    "queue.type",
    "queue.max_bytes",
    "queue.checkpoint.writes",
    "queue.checkpoint.acks",
    "queue.page_capacity",
    "dead_letter_queue.enable",
    "dead_letter_queue.max_bytes",
    "dead_letter_queue.storage_policy",
    "dead_letter_queue.retain.age",
    "pipeline.workers",
    "pipeline.batch.size",
    "pipeline.id",
    "path.config",
}

ENV = re.compile(r"\$\{([A-Z0-9_]+)(?::([^}]*))?\}")


@pytest.fixture(scope="module")
def pipeline() -> dict[str, list[Any]]:
    """The parsed pipeline."""
    return parse(PIPELINE.read_text(encoding="utf-8"))


def _plugins(pipeline: dict[str, list[Any]], section: str) -> dict[str, Plugin]:
    return {p.name: p for p in walk(pipeline[section])}


def _text(value: Any) -> str:
    return value.text if isinstance(value, Bareword) else str(value)


def test_pipeline_parses_with_balanced_blocks(pipeline: dict[str, list[Any]]) -> None:
    """Three sections, every brace, bracket and quote closed."""
    assert set(pipeline) == {"input", "filter", "output"}


def test_the_parser_rejects_what_logstash_would() -> None:
    """Unbalanced blocks, a dangling else and repeated settings are errors."""
    for broken in (
        "input { tcp { port => 5000 }",
        "filter { else { } }",
        "output { stdout { codec => json codec => json } }",
        "input { tcp { port => 5000 } } inputs { }",
    ):
        with pytest.raises(ConfigSyntaxError):
            parse(broken)


def test_inputs_are_tcp_json_lines_http_and_beats(pipeline: dict[str, list[Any]]) -> None:
    """tcp with json_lines and a decode size limit, http for JSON arrays, beats for Filebeat."""
    inputs = _plugins(pipeline, "input")
    assert set(inputs) == {"tcp", "http", "beats"}
    codec = inputs["tcp"].settings["codec"]
    assert isinstance(codec, Plugin)
    assert codec.name == "json_lines"
    limit = ENV.fullmatch(codec.settings["decode_size_limit_bytes"])
    assert limit is not None
    assert 0 < int(limit.group(2)) <= 20 * 1024 * 1024
    assert inputs["http"].settings["additional_codecs"]["application/json"] == "json"
    for plugin in inputs.values():
        assert plugin.settings["ecs_compatibility"] == "v8"
        assert plugin.settings["id"].startswith("mlmon_")
    ports = {ENV.fullmatch(p.settings["port"]).group(2) for p in inputs.values()}  # type: ignore[union-attr]
    assert ports == {"5000", "8080", "5044"}


def test_every_plugin_and_option_is_documented(pipeline: dict[str, list[Any]]) -> None:
    """Only plugins and options that exist in the plugins' documentation."""
    for section, items in pipeline.items():
        for plugin in walk(items):
            allowed = OPTIONS[(section, plugin.name)] | COMMON[section]
            assert set(plugin.settings) <= allowed, (plugin.name, set(plugin.settings) - allowed)
            codec = plugin.settings.get("codec")
            if isinstance(codec, Plugin):
                assert set(codec.settings) <= CODEC_OPTIONS[codec.name]


def test_no_input_uses_an_obsolete_option(pipeline: dict[str, list[Any]]) -> None:
    """The pre-2023 names (``ssl_enable``, ``ssl_verify``, ``ssl``…) stop today's plugins."""
    for plugin in walk(pipeline["input"]):
        obsolete = OBSOLETE[("input", plugin.name)]
        assert not obsolete & OPTIONS[("input", plugin.name)]
        assert not set(plugin.settings) & obsolete, plugin.name


def test_every_input_is_tls_and_authenticates_its_sender(pipeline: dict[str, list[Any]]) -> None:
    """No anonymous input: TLS everywhere; tcp and beats require a client certificate
    signed by the stack's CA, http asks for basic auth from the environment."""
    inputs = _plugins(pipeline, "input")
    certs = CONTAINER_ROOT + "config/certs/"
    for name, plugin in inputs.items():
        settings = plugin.settings
        assert _text(settings["ssl_enabled"]) == "true", name
        cert = ENV.fullmatch(settings["ssl_certificate"])
        key = ENV.fullmatch(settings["ssl_key"])
        assert cert is not None, name
        assert key is not None, name
        assert cert.group(2) == certs + "logstash/logstash.crt", name
        # beats and http read PKCS#8 keys only (their ssl_key docs); the setup
        # service writes this file next to certutil's PKCS#1 key.
        assert key.group(2) == certs + "logstash/logstash.pkcs8.key", name
    for name in ("tcp", "beats"):
        settings = inputs[name].settings
        assert settings["ssl_client_authentication"] == "required", name
        (ca,) = settings["ssl_certificate_authorities"]
        assert ENV.fullmatch(ca).group(2) == certs + "ca/ca.crt"  # type: ignore[union-attr]
    tcp = inputs["tcp"].settings
    # tcp.rb refuses ssl_verification_mode in server mode (validate_server_ssl_config!).
    assert "ssl_verification_mode" not in tcp
    assert _text(tcp.get("mode", "server")) == "server"
    http = inputs["http"].settings
    options = TransportOptions()
    assert ENV.fullmatch(http["user"]).group(1) == options.http_username_env  # type: ignore[union-attr]
    assert ENV.fullmatch(http["password"]).group(1) == options.http_password_env  # type: ignore[union-attr]
    # http.rb refuses a CA list while ssl_client_authentication is "none".
    assert "ssl_certificate_authorities" not in http


def test_output_writes_data_streams_with_an_api_key_and_a_ca(
    pipeline: dict[str, list[Any]],
) -> None:
    """Data streams routed by the event, API key from the environment, verified TLS."""
    outputs = walk(pipeline["output"])
    assert len(outputs) == 2
    for output in outputs:
        _assert_data_stream_output(output)


def _assert_data_stream_output(output: Plugin) -> None:
    settings = output.settings
    assert output.name == "elasticsearch"
    assert settings["data_stream"] == "true"
    assert _text(settings["data_stream_auto_routing"]) == "true"
    assert _text(settings["data_stream_sync_fields"]) == "true"
    assert settings["data_stream_dataset"] == INVALID_DATASET
    assert _text(settings["manage_template"]) == "false"
    assert ENV.fullmatch(settings["api_key"]) is not None
    assert ENV.fullmatch(settings["api_key"]).group(2) is None  # type: ignore[union-attr]
    assert settings["ssl_verification_mode"] == "full"
    assert settings["ssl_certificate_authorities"]
    assert not set(settings) & DATA_STREAM_INCOMPATIBLE
    assert "user" not in settings
    assert "password" not in settings


def test_predictions_are_created_under_their_prediction_id(
    pipeline: dict[str, list[Any]],
) -> None:
    """A resent prediction or outcome is a 409, not a second document: their output creates
    each one with its prediction id as ``_id``; everything else (counters documents, invalid
    events) goes through an output without an id, which sprintf would leave literal."""
    (routing,) = pipeline["output"]
    assert isinstance(routing, Conditional)
    ((condition, (predictions,)),) = routing.branches
    assert f'[data_stream][dataset] in ["{Dataset.PREDICTION}", "{Dataset.OUTCOME}"]' in condition
    assert "[mlmon][prediction_id]" in condition
    assert predictions.settings["document_id"] == "%{[mlmon][prediction_id]}"
    assert predictions.settings["action"] == "create"
    assert predictions.settings["silence_errors_in_log"] == ["version_conflict_engine_exception"]
    (others,) = routing.otherwise
    assert "document_id" not in others.settings
    assert set(others.settings) == set(predictions.settings) - {
        "document_id",
        "action",
        "silence_errors_in_log",
    }
    same = {k: v for k, v in predictions.settings.items() if k in others.settings and k != "id"}
    assert same == {k: v for k, v in others.settings.items() if k != "id"}


def test_secrets_are_only_environment_references() -> None:
    """No credential is written in the pipeline; secrets have no default value."""
    text = PIPELINE.read_text(encoding="utf-8")
    for key in ("api_key", "password", "user", "cloud_auth"):
        for value in re.findall(rf"^\s*{key}\s*=>\s*(.+)$", text, flags=re.MULTILINE):
            match = ENV.fullmatch(value.strip().strip('"'))
            assert match is not None, (key, value)
            assert match.group(2) is None, f"{key} must not have a default"


def test_routing_accepts_exactly_the_contract_streams(pipeline: dict[str, list[Any]]) -> None:
    """The datasets let through are the contract's streams; everything else is invalid."""
    found = [c for c in conditions(pipeline["filter"]) if "not in" in c]
    (routing,) = found
    listed = set(re.findall(r'"([^"]+)"', routing.split("not in", 1)[1]))
    assert listed == set(STREAM_OF_DATASET.values())
    texts = PIPELINE.read_text(encoding="utf-8")
    assert f'"[data_stream][dataset]" => "{INVALID_DATASET}"' in texts
    for reason in ("_jsonparsefailure", "_timestampparsefailure"):
        assert any(reason in c for c in conditions(pipeline["filter"]))


@pytest.mark.parametrize(
    "namespace",
    [
        "default",
        "prod",
        "team_a",
        "eu.west",
        "ü",
        "a" * 100,
        "a" * 101,
        "Prod",
        "a-b",
        "a b",
        "a/b",
        "a*b",
        'a"b',
        "a,b",
        "a#b",
        "a:b",
        "a|b",
        "a<b",
        "",
    ],
)
def test_namespace_rule_matches_the_contract(
    pipeline: dict[str, list[Any]], namespace: str
) -> None:
    """Logstash routes a namespace exactly when contract.validate_namespace accepts it."""
    (condition,) = [c for c in conditions(pipeline["filter"]) if "[data_stream][namespace] !~" in c]
    pattern = condition.split("!~", 1)[1].strip()
    assert pattern.startswith("/")
    assert pattern.endswith("/")
    ruby = pattern[1:-1].replace("\\/", "/").replace("\\z", "\\Z")
    accepted_by_logstash = re.match(ruby, namespace) is not None
    try:
        validate_namespace(namespace)
        accepted_by_contract = len(namespace) <= 100
    except ValueError:
        accepted_by_contract = False
    assert accepted_by_logstash == accepted_by_contract


def test_settings_enable_the_persistent_and_dead_letter_queues() -> None:
    """PQ and DLQ on, ECS compatibility explicit, only settings logstash-core knows."""
    settings = yaml.safe_load((LOGSTASH / "config" / "logstash.yml").read_text())
    assert set(settings) <= KNOWN_SETTINGS
    assert settings["pipeline.ecs_compatibility"] == "v8"
    assert settings["queue.type"] == "persisted"
    assert settings["dead_letter_queue.enable"] is True
    assert re.fullmatch(r"\d+[dhms]", settings["dead_letter_queue.retain.age"])


def test_pipelines_yml_points_at_files_that_exist() -> None:
    """Every ``path.config`` is a pipeline file shipped in logstash/ (as mounted in Docker)."""
    pipelines = yaml.safe_load((LOGSTASH / "config" / "pipelines.yml").read_text())
    ids = [p["pipeline.id"] for p in pipelines]
    assert len(set(ids)) == len(ids)
    for entry in pipelines:
        assert set(entry) <= KNOWN_SETTINGS
        container_path = entry["path.config"]
        assert container_path.startswith(CONTAINER_ROOT)
        relative = Path(container_path.removeprefix(CONTAINER_ROOT))
        assert (LOGSTASH / relative).is_file(), relative


def test_filebeat_ships_json_lines_to_the_beats_input() -> None:
    """The Filebeat example decodes each line at the top level and targets port 5044."""
    config = yaml.safe_load((LOGSTASH / "filebeat.yml").read_text())
    (source,) = config["filebeat.inputs"]
    (parser,) = source["parsers"]
    assert parser["ndjson"]["target"] == ""
    assert parser["ndjson"]["add_error_key"] is True
    assert config["output.logstash"]["hosts"][0].endswith(":5044}")
