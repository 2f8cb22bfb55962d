#!/usr/bin/env bash
# Copies a pocketsr app bundle into the iOS app's sources:
#   ios_demo/import_bundle.sh BUNDLE_DIR
# BUNDLE_DIR is written by `pocketsr convert -t coreml ... --bundle BUNDLE_DIR` or `pocketsr bundle ... -o BUNDLE_DIR`.
# Writes (replacing an earlier import):
#   ImportedBundle/Models/*.mlpackage     build sources: Xcode compiles each into NAME.mlmodelc
#   ImportedBundle/PocketSRBundle/        bundle.json, the Core ML manifests, the golden sets they use
# Then run `xcodegen generate` (the project lists both folders; tools/app_check checks the paths agree).
# TFLite artifacts are left out (the Android app runs them). A bundle without Core ML artifacts is refused.
# POCKETSR_IMPORT_ROOT overrides the destination (used by tools/app_check to test this script).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
IMPORT_ROOT="${POCKETSR_IMPORT_ROOT:-$here/ImportedBundle}"
MODELS_DIR="$IMPORT_ROOT/Models"
RESOURCES_DIR="$IMPORT_ROOT/PocketSRBundle"

die() { echo "import_bundle: $*" >&2; exit 2; }

[ $# -eq 1 ] || die "usage: import_bundle.sh BUNDLE_DIR"
bundle="$(cd "$1" 2>/dev/null && pwd)" || die "$1: no such folder"
[ -f "$bundle/bundle.json" ] || die "$bundle: no bundle.json (write one with pocketsr convert ... --bundle)"
command -v python3 >/dev/null || die "python3 is needed to read bundle.json"

# One line per file to copy: "model REL" for a package folder, "file REL" for anything else.
plan="$(python3 - "$bundle" <<'PY'
import json, os, sys
root = sys.argv[1]
def fail(msg):
    print("ERROR " + msg)
    sys.exit(0)
try:
    b = json.load(open(os.path.join(root, "bundle.json")))
except Exception as e:
    fail("bundle.json: %s" % e)
if b.get("bundle") != "pocketsr app bundle":
    fail("bundle.json: not a pocketsr app bundle")
if b.get("schema_version") != 1:
    fail("bundle.json: schema_version %r, this app reads 1" % b.get("schema_version"))
coreml = [a for a in b.get("artifacts", []) if a.get("target") == "coreml"]
if not coreml:
    fail("bundle has no Core ML artifact (convert with -t coreml ... --bundle)")
names = set()
sets = set()
for a in coreml:
    f = a.get("file", "")
    if not f.endswith(".mlpackage") or "/" in f:
        fail("artifact file %r: expected NAME.mlpackage at the bundle's top level" % f)
    if f in names:
        fail("artifact file %r listed twice" % f)
    names.add(f)
    if not os.path.isdir(os.path.join(root, f)):
        fail("%s: listed in bundle.json but missing" % f)
    print("model " + f)
    if a.get("manifest"):
        print("file " + a["manifest"])
    sets.add(a.get("golden_set"))
for key in sorted(s for s in sets if s):
    gs = b.get("golden_sets", {}).get(key)
    if gs is None:
        fail("golden set %r missing from bundle.json" % key)
    for image in gs.get("images", []):
        for part in ("input", "golden"):
            rel = image[part]["file"]
            if not os.path.isfile(os.path.join(root, rel)):
                fail("%s: listed in bundle.json but missing" % rel)
            print("file " + rel)
PY
)"
case "$plan" in ERROR*) die "${plan#ERROR }" ;; esac

rm -rf "$MODELS_DIR" "$RESOURCES_DIR"  # only what this script writes
mkdir -p "$MODELS_DIR" "$RESOURCES_DIR"
cp "$bundle/bundle.json" "$RESOURCES_DIR/"
models=0
files=0
while read -r kind rel; do
    if [ "$kind" = model ]; then
        cp -R "$bundle/$rel" "$MODELS_DIR/"
        models=$((models + 1))
    else
        mkdir -p "$RESOURCES_DIR/$(dirname "$rel")"
        cp "$bundle/$rel" "$RESOURCES_DIR/$rel"
        files=$((files + 1))
    fi
done <<< "$plan"
echo "imported $models Core ML package(s) and $files file(s) from $bundle into $IMPORT_ROOT"
echo "next: cd $(basename "$here") && xcodegen generate && open PocketSR.xcodeproj"
