"""OpenTelemetry traces of customer turns (GenAI semantic conventions), off unless configured.

`tracing` switches the SDK on from the standard `OTEL_*` variables and instruments FastAPI and
SQLAlchemy; `genai` holds the span helpers the turn pipeline calls, which cost next to nothing
while tracing is off (the tracer is then OpenTelemetry's no-op tracer).
"""
