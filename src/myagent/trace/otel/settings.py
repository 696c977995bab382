"""OTLP exporter settings from the standard OTEL_* environment variables or arguments.

Arguments win over the signal-specific variables (OTEL_EXPORTER_OTLP_TRACES_*), which
win over the general ones (OTEL_EXPORTER_OTLP_*), as the OpenTelemetry spec says.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

from myagent import __version__
from myagent.trace.otel.mapping import DEFAULT_MAX_ATTRIBUTE_LENGTH

logger = logging.getLogger("myagent.trace")

DEFAULT_ENDPOINT = "http://localhost:4318/v1/traces"
DEFAULT_TIMEOUT = 10.0
MAX_TIMEOUT = 25.0
"""Cap on one export's deadline: below the background writer's 30 s write timeout."""

_TRUE = {"1", "true", "yes", "on"}


def _env(env: Mapping[str, str], name: str) -> str | None:
    """`OTEL_EXPORTER_OTLP_TRACES_<name>`, else `OTEL_EXPORTER_OTLP_<name>`, else None."""
    for key in (f"OTEL_EXPORTER_OTLP_TRACES_{name}", f"OTEL_EXPORTER_OTLP_{name}"):
        value = env.get(key, "").strip()
        if value:
            return value
    return None


def parse_key_values(text: str, variable: str) -> dict[str, str]:
    """`k1=v1,k2=v2` (values URL-encoded), the format of OTEL_*_HEADERS and resource lists."""
    result: dict[str, str] = {}
    for item in text.split(","):
        if not item.strip():
            continue
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            logger.warning("myagent tracing: ignoring malformed entry %r in %s", item, variable)
            continue
        result[unquote(key.strip())] = unquote(value.strip())
    return result


def traces_url(base: str) -> str:
    """The traces URL for a base endpoint: `/v1/traces` appended to its path."""
    return base.rstrip("/") + "/v1/traces"


def _endpoint(argument: str | None, env: Mapping[str, str]) -> str:
    if argument:
        # A bare host (no path) gets the standard path; a URL with a path is used as is.
        return traces_url(argument) if urlsplit(argument).path in ("", "/") else argument
    specific = env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "").strip()
    if specific:
        return specific
    general = env.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").strip()
    return traces_url(general) if general else DEFAULT_ENDPOINT


def _timeout(argument: float | None, env: Mapping[str, str]) -> float:
    if argument is None:
        raw = _env(env, "TIMEOUT")
        argument = DEFAULT_TIMEOUT
        if raw is not None:
            try:
                argument = float(raw) / 1000.0  # the variables are in milliseconds
            except ValueError:
                logger.warning("myagent tracing: OTEL_EXPORTER_OTLP_TIMEOUT=%r is not ms", raw)
    if argument <= 0:
        argument = DEFAULT_TIMEOUT
    return min(float(argument), MAX_TIMEOUT)


def _attribute_limit(argument: int | None, env: Mapping[str, str]) -> int:
    if argument is not None:
        return argument
    for key in ("OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT", "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT"):
        raw = env.get(key, "").strip()
        if raw.isdigit() and int(raw) >= 64:
            return int(raw)
    return DEFAULT_MAX_ATTRIBUTE_LENGTH


def _resource(
    service_name: str | None, extra: Mapping[str, Any] | None, env: Mapping[str, str]
) -> dict[str, Any]:
    attributes: dict[str, Any] = {
        "telemetry.sdk.name": "myagent",
        "telemetry.sdk.language": "python",
        "telemetry.sdk.version": __version__,
    }
    raw = env.get("OTEL_RESOURCE_ATTRIBUTES", "").strip()
    if raw:
        attributes.update(parse_key_values(raw, "OTEL_RESOURCE_ATTRIBUTES"))
    if extra:
        attributes.update(extra)
    name = service_name or env.get("OTEL_SERVICE_NAME", "").strip()
    if name:
        attributes["service.name"] = name
    elif "service.name" not in attributes:
        executable = os.path.basename(sys.executable) or "python"
        attributes["service.name"] = f"unknown_service:{executable}"
    return attributes


def env_flag(env: Mapping[str, str], name: str) -> bool:
    """True when variable `name` is set to a true-ish value."""
    return env.get(name, "").strip().lower() in _TRUE


@dataclass(slots=True)
class OTLPSettings:
    """Everything the exporter needs, resolved from arguments and the environment."""

    endpoint: str = DEFAULT_ENDPOINT
    headers: dict[str, str] = field(default_factory=dict)
    timeout: float = DEFAULT_TIMEOUT
    compression: str | None = None
    certificate_file: str | None = None
    resource: dict[str, Any] = field(default_factory=dict)
    capture_content: bool = False
    max_attribute_length: int = DEFAULT_MAX_ATTRIBUTE_LENGTH

    @classmethod
    def resolve(
        cls,
        endpoint: str | None = None,
        *,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
        compression: str | None = None,
        certificate_file: str | None = None,
        service_name: str | None = None,
        resource_attributes: Mapping[str, Any] | None = None,
        capture_content: bool | None = None,
        max_attribute_length: int | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> OTLPSettings:
        """Settings from arguments, falling back to the OTEL_* variables of `environ`."""
        env = os.environ if environ is None else environ
        protocol = _env(env, "PROTOCOL")
        if protocol and protocol != "http/protobuf":
            logger.warning(
                "myagent tracing: OTEL_EXPORTER_OTLP_PROTOCOL=%s is not supported; "
                "exporting with http/protobuf",
                protocol,
            )
        merged_headers: dict[str, str] = {}
        for key in ("OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_TRACES_HEADERS"):
            if env.get(key, "").strip():
                merged_headers.update(parse_key_values(env[key], key))
        merged_headers.update(headers or {})
        chosen = (compression or _env(env, "COMPRESSION") or "none").strip().lower()
        if chosen not in ("gzip", "none"):
            raise ValueError(f"OTLP compression must be 'gzip' or 'none', not {chosen!r}")
        if capture_content is None:
            capture_content = env_flag(env, "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT")
        url = _endpoint(endpoint, env)
        if urlsplit(url).scheme not in ("http", "https"):
            raise ValueError(f"OTLP endpoint must be an http:// or https:// URL, not {url!r}")
        return cls(
            endpoint=url,
            headers=merged_headers,
            timeout=_timeout(timeout, env),
            compression=None if chosen == "none" else chosen,
            certificate_file=certificate_file or _env(env, "CERTIFICATE"),
            resource=_resource(service_name, resource_attributes, env),
            capture_content=capture_content,
            max_attribute_length=_attribute_limit(max_attribute_length, env),
        )
