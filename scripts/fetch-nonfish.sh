#!/usr/bin/env bash
# Builds a non-fish image set for open-set (unknown) tests and benchmarks from Debian packages:
#   darknet                 -> /usr/share/darknet/data/*.jpg (7 photos: dog, eagle, giraffe, horses, kite, person, scream)
#   tuxpaint-stamps-default -> photo stamps (PNG cut-outs), minus fish, cartoons and symbols/alphabets
# plus deterministic small crops of the darknet photos (scripts/make-nonfish-crops.ts), sized like
# the ~100 px fish crops, and deterministic synthetic views without fish (flat and murky water,
# gradients, texture, netting, blurred frames: scripts/make-nonfish-synthetic.ts).
# Output: ${NONFISH_DIR:-data/nonfish}/{photos,stamps,crops,synthetic/<kind>}; data/ is git-ignored.
# Exit 0 when the set exists or was built; exit 3 when apt cannot fetch the packages.
set -euo pipefail
cd "$(dirname "$0")/.."
DEST="${NONFISH_DIR:-data/nonfish}"
# One line naming the set's sources, read by `trainModel` (model cards) when --ood points here.
describe() {
  echo "scripts/fetch-nonfish.sh: Debian darknet photos ($(find "$DEST/photos" -type f | wc -l)), tuxpaint-stamps-default photo stamps without fish/cartoons/symbols ($(find "$DEST/stamps" -type f | wc -l)), $(find "$DEST/crops" -type f | wc -l) small crops of the darknet photos, and $(find "$DEST/synthetic" -type f | wc -l) synthetic views without fish" >"$DEST/DESCRIPTION"
}
synthetic() {
  rm -rf "$DEST/synthetic"
  node bin/run-ts.js scripts/make-nonfish-synthetic.ts "$DEST/photos" "$DEST/synthetic"
}
if [[ -f "$DEST/.complete" ]]; then
  # A set built before the synthetic views existed gains them.
  if [[ ! -d "$DEST/synthetic" ]]; then
    synthetic
    describe
  fi
  [[ -f "$DEST/DESCRIPTION" ]] || describe
  echo "non-fish set already in $DEST"
  exit 0
fi
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
if ! apt-get download darknet tuxpaint-stamps-default >/dev/null 2>&1; then
  apt-get update -qq >/dev/null 2>&1 || true
  if ! apt-get download darknet tuxpaint-stamps-default >/dev/null 2>&1; then
    echo "apt-get download failed: non-fish set unavailable" >&2
    exit 3
  fi
fi
for deb in ./*.deb; do dpkg -x "$deb" x; done
cd - >/dev/null
rm -rf "$DEST"
mkdir -p "$DEST/photos" "$DEST/stamps" "$DEST/crops"
cp "$WORK"/x/usr/share/darknet/data/*.jpg "$DEST/photos/"
STAMPS="$WORK/x/usr/share/tuxpaint/stamps"
find "$STAMPS" -type f \( -iname '*.png' -o -iname '*.jpg' \) |
  grep -vE '/(cartoon|symbols|toys)/|/animals/fish/' |
  sort | while read -r f; do
    rel="${f#"$STAMPS"/}"
    cp "$f" "$DEST/stamps/${rel//\//__}"
  done
node bin/run-ts.js scripts/make-nonfish-crops.ts "$DEST/photos" "$DEST/crops"
synthetic
describe
touch "$DEST/.complete"
echo "non-fish set: $(find "$DEST/photos" -type f | wc -l) photos, $(find "$DEST/stamps" -type f | wc -l) stamps, $(find "$DEST/crops" -type f | wc -l) crops, $(find "$DEST/synthetic" -type f | wc -l) synthetic in $DEST"
