"""The `make run` demo: real programs that produce the data the UI shows.

Nothing here is a canned log file. `flightlog demo` starts the server and then runs, as
separate processes shipping through the SDK: a scikit-learn training job on the bundled
digits data set (one healthy run, one built to overfit), a two-service inference system
(gateway → model server) receiving generated traffic with latency, errors and a
correlation ID per request, and a webhook receiver that records the alerts the starter
rules fire.
"""
