"""flightlog.sdk: the library inside user code.

Structured logging for the stdlib ``logging`` module (``configure``, ``JSONFormatter``),
log context (``bind``, ``bound``), processors (``Redactor``, ``Sampler``, ``LevelFilter``),
training runs (``Run``, ``AdvancedLogger``, ``TrainingProgressTracker``), rotating files
(``RotatingFileHandler``), shipping to a server (``Shipper``, ``LokiExporter``) and
correlation IDs for HTTP services (``CorrelationIdMiddleware``, ``WSGICorrelationIdMiddleware``,
``correlation_headers``), framework integrations (``flightlog.sdk.integrations``, optional
extras). Users import these names from ``flightlog``; the modules here are the
implementation. ``FORMAT.md`` beside this file is the contract of what a run writes and
what the shipper sends.
"""
