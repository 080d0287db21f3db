#!/usr/bin/env bash
# build.sh rebuilds the test distributions in this directory from src/.
# See README.md for what each file is for. Needs Debian bookworm's
# python3-build, python3-setuptools, python3-wheel, flit (flit_core) and python3-hatchling:
#   apt-get install -y python3-build python3-setuptools python3-wheel flit python3-hatchling
set -euo pipefail
cd "$(dirname "$0")"
PYTHON=${PYTHON:-/usr/bin/python3}
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1700000000}
export PYTHONHASHSEED=0
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
out="$work/out"
mkdir -p "$out"

# stage <src> <version>: copy src/<src> to a scratch dir (builds write
# *.egg-info next to the sources), fill in @VERSION@, pin mtimes.
stage() {
	local dir="$work/$1-$2"
	cp -r "src/$1" "$dir"
	sed -i "s/@VERSION@/$2/" "$dir/pyproject.toml" 2>/dev/null || true
	find "$dir" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
	echo "$dir"
}

# setuptools 66: wheel acme_core-1.0-py3-none-any.whl and the legacy,
# non-normalized sdist acme-core-1.0.tar.gz (top dir acme-core-1.0/).
"$PYTHON" -m build --no-isolation --skip-dependency-check --outdir "$out" "$(stage acme-core 1.0)"

# hatchling 1.12: PEP 625 sdists (acme_util-0.1.tar.gz, top dir acme_util-0.1/)
# and wheels.
for v in 0.1 0.2 1.0rc1; do
	"$PYTHON" -m build --no-isolation --skip-dependency-check --outdir "$out" "$(stage acme-util "$v")"
done
# flit_core 3.8: a project needing Python >= 3.99; its sdist name is legacy too.
"$PYTHON" -m build --no-isolation --skip-dependency-check --outdir "$out" "$(stage acme-future 1.0)"

# setuptools setup.py: a legacy .zip sdist, Acme.Legacy-0.3.zip.
(cd "$(stage acme-legacy 0.3)" && "$PYTHON" setup.py -q sdist --formats=zip --dist-dir "$out" >/dev/null)

# setuptools stamps sdists with the current time (gzip header, files it
# generates); rewrite its archives with fixed times, keeping members, order,
# modes and compression, so that rebuilding gives the same bytes.
"$PYTHON" - "$out/acme-core-1.0.tar.gz" "$out/Acme.Legacy-0.3.zip" <<'PY'
import gzip, io, os, sys, tarfile, time, zipfile
epoch = int(os.environ["SOURCE_DATE_EPOCH"])
for path in sys.argv[1:]:
    buf = io.BytesIO()
    if path.endswith(".tar.gz"):
        with tarfile.open(path) as src, gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0) as gz:
            with tarfile.open(fileobj=gz, mode="w", format=src.format) as dst:
                for m in src.getmembers():
                    m.mtime, m.uid, m.gid, m.uname, m.gname = epoch, 0, 0, "", ""
                    m.pax_headers = {}
                    dst.addfile(m, src.extractfile(m) if m.isfile() else None)
    else:
        stamp = time.gmtime(epoch)[:6]
        with zipfile.ZipFile(path) as src, zipfile.ZipFile(buf, "w") as dst:
            for i in src.infolist():
                j = zipfile.ZipInfo(i.filename, stamp)
                j.compress_type, j.external_attr, j.create_system = i.compress_type, i.external_attr, 3
                dst.writestr(j, src.read(i))
    with open(path, "wb") as f:
        f.write(buf.getvalue())
PY

rm -f ./*.whl ./*.tar.gz ./*.zip
cp "$out"/* .
chmod 644 ./*.whl ./*.tar.gz ./*.zip
ls -l ./*.whl ./*.tar.gz ./*.zip
