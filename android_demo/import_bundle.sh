#!/usr/bin/env bash
# android_demo/import_bundle.sh BUNDLE_DIR
# Copies a `pocketsr convert ... --bundle BUNDLE_DIR` folder's bundle.json, .tflite artifacts, their
# manifests and goldens/ into app/src/main/assets/bundle/ (the previous bundle is removed first).
# Same job as `./gradlew :app:importBundle -PbundleDir=BUNDLE_DIR`, for when Gradle is not at hand.
set -euo pipefail
if [ $# -ne 1 ]; then
    echo "usage: $0 BUNDLE_DIR" >&2
    exit 2
fi
src=$1
here=$(cd "$(dirname "$0")" && pwd)
dst="$here/app/src/main/assets/bundle"
if [ ! -f "$src/bundle.json" ]; then
    echo "$src has no bundle.json: make one with \`pocketsr convert ... --bundle $src\`" >&2
    exit 2
fi
shopt -s nullglob
tflites=("$src"/*.tflite)
if [ ${#tflites[@]} -eq 0 ]; then
    echo "$src has no .tflite artifact: the Android app runs TFLite artifacts only" >&2
    exit 2
fi
rm -rf "$dst"
mkdir -p "$dst"
cp "$src/bundle.json" "$dst/"
cp "${tflites[@]}" "$dst/"
for m in "$src"/*.tflite.json; do cp "$m" "$dst/"; done
if [ -d "$src/goldens" ]; then cp -R "$src/goldens" "$dst/goldens"; fi
echo "imported $(ls "$dst" | grep -c '\.tflite$') TFLite artifact(s) into $dst"
