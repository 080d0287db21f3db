#!/usr/bin/env bash
# Builds the MinIO server that storage/s3's tests run against (see
# storage/s3/miniotest). Idempotent: does nothing when the binary is already
# in $(go env GOBIN) or $(go env GOPATH)/bin. The build takes a few minutes.
set -euo pipefail

version="v0.0.0-20260212201848-7aac2a2c5b7c"

if [[ -n "${PYINDEX_TEST_MINIO:-}" && -x "${PYINDEX_TEST_MINIO}" ]]; then
	echo "install-minio: using PYINDEX_TEST_MINIO=${PYINDEX_TEST_MINIO}"
	exit 0
fi

bindir="$(go env GOBIN)"
if [[ -z "$bindir" ]]; then
	gopath="$(go env GOPATH)"
	bindir="${gopath%%:*}/bin"
fi
if [[ -x "$bindir/minio" ]]; then
	echo "install-minio: $bindir/minio already installed"
	exit 0
fi

echo "install-minio: building github.com/minio/minio@$version into $bindir (takes minutes)"
start=$SECONDS
# Outside any module, so the project's go.mod plays no part.
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && GOFLAGS=-mod=mod go install "github.com/minio/minio@$version")
echo "install-minio: done in $((SECONDS - start))s: $bindir/minio"
