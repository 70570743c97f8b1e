"""flightlog.sdk: the library inside user code.

Structured logging for the stdlib ``logging`` module (``configure``, ``JSONFormatter``),
log context (``bind``, ``bound``), processors (``Redactor``, ``Sampler``, ``LevelFilter``),
training runs (``Run``, ``AdvancedLogger``, ``TrainingProgressTracker``), rotating files
(``RotatingFileHandler``), shipping to a server (``Shipper``, ``LokiExporter``) and
correlation IDs for HTTP services (``CorrelationIdMiddleware``, ``WSGICorrelationIdMiddleware``,
``correlation_headers``). Users import these names from ``flightlog``; the modules here
are the implementation.
"""
