#!/usr/bin/env bash
# Regenerate src/flightlog/ingest/proto/push_pb2.py from push.proto.
# Needs grpcio-tools (bundles protoc and google/protobuf/*.proto); it is a build-time
# tool only, so install it wherever you like, e.g.:
#   python -m venv /tmp/protovenv && /tmp/protovenv/bin/pip install grpcio-tools
#   PYTHON=/tmp/protovenv/bin/python scripts/gen_proto.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-.venv/bin/python}"
PROTO_DIR=src/flightlog/ingest/proto
# -I src makes the descriptor name flightlog/ingest/proto/push.proto, unique in the pool.
"$PYTHON" -m grpc_tools.protoc -I src --python_out=src --pyi_out=src "$PROTO_DIR/push.proto"
echo "generated $PROTO_DIR/push_pb2.py"
