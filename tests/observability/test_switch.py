"""When tracing is on, and where it sends: the standard OTEL_* variables, nothing else."""

from __future__ import annotations

from triad.observability.tracing import configure_tracing, traces_url, tracing_enabled


def test_on_only_with_an_endpoint_and_not_disabled() -> None:
    assert not tracing_enabled({})
    assert not tracing_enabled({"OTEL_SERVICE_NAME": "triad"})
    assert tracing_enabled({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"})
    assert tracing_enabled({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:4318/x"})
    on = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}
    assert not tracing_enabled({**on, "OTEL_SDK_DISABLED": "true"})
    assert not tracing_enabled({**on, "OTEL_TRACES_EXPORTER": "none"})
    assert configure_tracing({}) is None


def test_traces_go_to_the_signal_path_of_the_endpoint() -> None:
    base = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318/"}
    assert traces_url(base) == "http://127.0.0.1:4318/v1/traces"
    specific = {**base, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:9/otlp/traces"}
    assert traces_url(specific) == "http://127.0.0.1:9/otlp/traces"
