"""`POST /v1/traces`: the OTLP/HTTP traces receiver on the viewer's own port.

Any OpenTelemetry SDK (or the OpenAI Agents SDK, LangChain via OpenInference, a
collector) pointed at `http://host:port` sends spans here; they land in the viewer's
storage through the trace manager's writer (see `myagent.trace.otel.receiver`). Same
token rules as `/api` (a bearer token in `OTEL_EXPORTER_OTLP_HEADERS`); exempt from the
viewer's custom write header, which SDK exporters cannot send, but only
`application/x-protobuf` and `application/json` bodies are taken, and never from a
cross-site browser page.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Request, Response

from myagent.trace.manager import TraceManager
from myagent.trace.otel.receiver import OTLPReceiver, OTLPRequestError, error_reply
from myagent.trace.otel.receiver_process import ReceiverProcess
from myagent.trace.viewer.settings import ViewerSettings
from myagent.trace.viewer.source import TraceSource

router = APIRouter(tags=["otlp"])


def receiver_for(app: FastAPI) -> OTLPReceiver | ReceiverProcess:
    """The app's receiver, made on first use: a child process writing into
    `app.state.otlp_db` when set (`myagent viewer`), else over its manager (or storage)."""
    receiver: OTLPReceiver | ReceiverProcess | None = getattr(app.state, "otlp", None)
    if receiver is None:
        source: TraceSource = app.state.source
        settings: ViewerSettings = app.state.settings
        limits = settings.max_otlp_bytes, settings.otlp_max_spans, settings.otlp_idle_timeout
        db: str | None = getattr(app.state, "otlp_db", None)
        if db is not None:
            receiver = ReceiverProcess(
                db, max_body_bytes=limits[0], max_spans=limits[1], idle_timeout=limits[2]
            )
        else:
            receiver = OTLPReceiver(
                source.manager or TraceManager(source.storage),
                max_body_bytes=limits[0],
                max_spans=limits[1],
                idle_timeout=limits[2],
                gate=getattr(app.state, "foreground", None),
            )
        app.state.otlp = receiver
    return receiver


async def close(app: FastAPI) -> None:
    """Stop the receiver's sweeper (or its process) and flush its writes (app shutdown)."""
    receiver: OTLPReceiver | ReceiverProcess | None = getattr(app.state, "otlp", None)
    if receiver is None:
        return
    await receiver.close()
    if isinstance(receiver, OTLPReceiver) and receiver.manager is not app.state.source.manager:
        receiver.manager.close(receiver.manager.config.shutdown_timeout)


@router.post(
    "/v1/traces",
    summary="Receive OTLP/HTTP trace exports (protobuf or JSON, gzip or not)",
    responses={
        200: {"description": "ExportTraceServiceResponse (partial_success names refused spans)"},
        400: {"description": "malformed body (google.rpc.Status says why)"},
        403: {"description": "sent by a cross-site browser page"},
        413: {"description": "body or span count over the limit"},
        415: {"description": "content type or encoding not OTLP"},
        503: {"description": "the writer's buffer is full: retry after Retry-After"},
    },
)
async def export_traces(request: Request) -> Response:
    """Spans from any OpenTelemetry exporter become traces in this viewer's storage."""
    content_type = request.headers.get("content-type")
    if request.headers.get("sec-fetch-site", "").lower() in ("cross-site", "same-site"):
        reply = error_reply(OTLPRequestError(403, "cross-site requests are refused"), content_type)
    else:
        body = await request.body()
        reply = await receiver_for(request.app).export(
            body, content_type, request.headers.get("content-encoding")
        )
    return Response(
        reply.body, status_code=reply.status, media_type=reply.content_type, headers=reply.headers
    )
