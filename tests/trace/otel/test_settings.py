"""OTLP settings: the standard OTEL_* variables, their precedence, and argument overrides."""

from __future__ import annotations

import logging

import pytest

from myagent.trace.otel.settings import DEFAULT_ENDPOINT, MAX_TIMEOUT, OTLPSettings


def test_defaults_without_environment() -> None:
    settings = OTLPSettings.resolve(environ={})
    assert settings.endpoint == DEFAULT_ENDPOINT == "http://localhost:4318/v1/traces"
    assert settings.timeout == 10.0
    assert settings.compression is None
    assert settings.capture_content is False
    assert settings.resource["service.name"].startswith("unknown_service:")
    assert settings.resource["telemetry.sdk.name"] == "myagent"


@pytest.mark.parametrize(
    ("environ", "argument", "expected"),
    [
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}, None, "http://c:4318/v1/traces"),
        (
            {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318/base/"},
            None,
            "http://c:4318/base/v1/traces",
        ),
        (
            {
                "OTEL_EXPORTER_OTLP_ENDPOINT": "http://general:4318",
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://specific:9/custom",
            },
            None,
            "http://specific:9/custom",
        ),
        (
            {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://env:4318"},
            "http://arg:4318",
            "http://arg:4318/v1/traces",
        ),
        ({}, "https://arg:443/otlp/traces", "https://arg:443/otlp/traces"),
    ],
)
def test_endpoint_precedence(environ: dict[str, str], argument: str | None, expected: str) -> None:
    assert OTLPSettings.resolve(argument, environ=environ).endpoint == expected


def test_timeout_variable_is_milliseconds_and_capped_below_the_writer_timeout() -> None:
    assert OTLPSettings.resolve(environ={"OTEL_EXPORTER_OTLP_TIMEOUT": "2500"}).timeout == 2.5
    env = {"OTEL_EXPORTER_OTLP_TIMEOUT": "2500", "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT": "700"}
    assert OTLPSettings.resolve(environ=env).timeout == 0.7
    assert OTLPSettings.resolve(timeout=3, environ=env).timeout == 3.0
    assert OTLPSettings.resolve(timeout=600, environ={}).timeout == MAX_TIMEOUT < 30


def test_headers_merge_general_specific_then_arguments() -> None:
    env = {
        "OTEL_EXPORTER_OTLP_HEADERS": "a=1,b=2, c = x%3Dy ",
        "OTEL_EXPORTER_OTLP_TRACES_HEADERS": "b=3",
    }
    settings = OTLPSettings.resolve(headers={"c": "arg"}, environ=env)
    assert settings.headers == {"a": "1", "b": "3", "c": "arg"}
    assert OTLPSettings.resolve(environ=env).headers["c"] == "x=y"


def test_malformed_header_entries_are_skipped_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="myagent.trace"):
        settings = OTLPSettings.resolve(environ={"OTEL_EXPORTER_OTLP_HEADERS": "good=1,broken"})
    assert settings.headers == {"good": "1"}
    assert "broken" in caplog.text


def test_service_name_and_resource_attributes() -> None:
    env = {
        "OTEL_RESOURCE_ATTRIBUTES": "service.name=from-res,team=ai",
        "OTEL_SERVICE_NAME": "from-env",
    }
    assert OTLPSettings.resolve(environ=env).resource["service.name"] == "from-env"
    assert OTLPSettings.resolve(environ=env).resource["team"] == "ai"
    only_res = {"OTEL_RESOURCE_ATTRIBUTES": "service.name=from-res"}
    assert OTLPSettings.resolve(environ=only_res).resource["service.name"] == "from-res"
    argued = OTLPSettings.resolve(service_name="arg", resource_attributes={"x": 1}, environ=env)
    assert argued.resource["service.name"] == "arg" and argued.resource["x"] == 1


def test_content_capture_is_opt_in_by_variable_or_argument() -> None:
    flag = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
    assert OTLPSettings.resolve(environ={flag: "true"}).capture_content is True
    assert OTLPSettings.resolve(environ={flag: "false"}).capture_content is False
    assert (
        OTLPSettings.resolve(capture_content=False, environ={flag: "true"}).capture_content is False
    )


def test_compression_and_attribute_limit_from_environment() -> None:
    env = {"OTEL_EXPORTER_OTLP_COMPRESSION": "gzip", "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT": "4096"}
    settings = OTLPSettings.resolve(environ=env)
    assert settings.compression == "gzip" and settings.max_attribute_length == 4096
    with pytest.raises(ValueError, match="compression"):
        OTLPSettings.resolve(compression="zstd", environ={})


def test_non_http_endpoint_is_rejected() -> None:
    with pytest.raises(ValueError, match="http"):
        OTLPSettings.resolve("grpc://collector:4317/v1/traces", environ={})


def test_unsupported_protocol_warns_and_uses_http_protobuf(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="myagent.trace"):
        OTLPSettings.resolve(environ={"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"})
    assert "http/protobuf" in caplog.text
