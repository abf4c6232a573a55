#!/usr/bin/env bash
# The main job, offline: start the built-in demo image search, collect a happy and a sad set.
set -euo pipefail
BIN=${BIN:-.venv/bin}
DATA=${DEMO_DATA:-demo-data}
LIMIT=${DEMO_LIMIT:-80}
url_file=$(mktemp)
"$BIN/python" -m collector.demo --port 0 --url-file "$url_file" >/dev/null &
site=$!
trap 'kill $site 2>/dev/null; rm -f "$url_file"' EXIT
for _ in $(seq 100); do [ -s "$url_file" ] && break; sleep 0.1; done
endpoint=$(cat "$url_file")
echo "demo search engine: $endpoint   workspace: $DATA"
"$BIN/collect" "happy people" --label happy --limit "$LIMIT" --endpoint "$endpoint" --data "$DATA"
"$BIN/collect" "sad people" --label sad --limit "$LIMIT" --endpoint "$endpoint" --data "$DATA"
echo "raw images: $(find "$DATA/raw" -type f | wc -l) in $DATA/raw; provenance: $DATA/collection.sqlite"
echo "curating: scan, dedupe, FiftyOne dataset, export"
"$BIN/curate" dedupe --data "$DATA"
"$BIN/curate" review --no-app --data "$DATA"
"$BIN/curate" export --data "$DATA"
"$BIN/curate" status --data "$DATA"
echo "review it by eye: $BIN/curate review --data $DATA   (the FiftyOne App; tag 'reject', edit labels)"
echo "curated class folders for training: $DATA/curated (manifest: $DATA/curated/manifest.csv)"
