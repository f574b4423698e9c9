#!/usr/bin/env bash
# Build a flashable Raspberry Pi OS Lite image with the hotline preinstalled, using pi-gen.
# Needs a Debian/Ubuntu host (arm64 host, or x86 with qemu-user-static + binfmt-support), root and network.
# See docs/image.md for the step-by-step guide.
#
#   sudo image/build.sh                 clone pi-gen next to this script (once) and build
#   PI_GEN_DIR=/src/pi-gen sudo image/build.sh    use an existing pi-gen checkout
#   image/build.sh --prepare-only       set up pi-gen's config and our stage, do not build
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
PI_GEN_DIR="${PI_GEN_DIR:-$HERE/pi-gen}"
PI_GEN_URL="${PI_GEN_URL:-https://github.com/RPi-Distro/pi-gen.git}"
# The arm64 branch builds 64-bit Raspberry Pi OS (Pi Zero 2 W, 3, 4, 5); master builds 32-bit armhf.
PI_GEN_BRANCH="${PI_GEN_BRANCH:-arm64}"
STAGE=stage-hotline
PREPARE_ONLY=no

case "${1:-}" in
    --prepare-only) PREPARE_ONLY=yes ;;
    "") ;;
    *) echo "build.sh: unknown option '$1' (only --prepare-only)" >&2; exit 2 ;;
esac

if [ ! -d "$PI_GEN_DIR" ]; then
    git clone --depth 1 --branch "$PI_GEN_BRANCH" "$PI_GEN_URL" "$PI_GEN_DIR"
fi
if [ ! -x "$PI_GEN_DIR/build.sh" ]; then
    echo "build.sh: $PI_GEN_DIR is not a pi-gen checkout (no build.sh)" >&2
    exit 2
fi

# Our stage goes inside the pi-gen tree, with a snapshot of this repository, so the native and the
# docker builds (build-docker.sh copies only the pi-gen tree) see the same files.
rm -rf "${PI_GEN_DIR:?}/$STAGE"
cp -a "$HERE/$STAGE" "$PI_GEN_DIR/$STAGE"
mkdir -p "$PI_GEN_DIR/$STAGE/00-hotline/files"
tar -C "$REPO" --exclude='./.*' --exclude='__pycache__' --exclude='*.egg-info' --exclude=./build \
    --exclude=./image/pi-gen -cf "$PI_GEN_DIR/$STAGE/00-hotline/files/hotline-src.tar" .

# Only our image is wanted, not the plain Lite image stage2 would also export.
touch "$PI_GEN_DIR/stage2/SKIP_IMAGES"

cat > "$PI_GEN_DIR/config" <<CONFIG
IMG_NAME=hotline
RELEASE=bookworm
TARGET_HOSTNAME=hotline
ENABLE_SSH=1
LOCALE_DEFAULT=${LOCALE_DEFAULT:-en_GB.UTF-8}
KEYBOARD_KEYMAP=${KEYBOARD_KEYMAP:-gb}
TIMEZONE_DEFAULT=${TIMEZONE_DEFAULT:-Europe/London}
FIRST_USER_NAME=${FIRST_USER_NAME:-admin}
DEPLOY_COMPRESSION=xz
STAGE_LIST="stage0 stage1 stage2 $STAGE"
CONFIG
if [ -n "${FIRST_USER_PASS:-}" ]; then
    printf 'FIRST_USER_PASS=%q\nDISABLE_FIRST_BOOT_USER_RENAME=1\n' "$FIRST_USER_PASS" >> "$PI_GEN_DIR/config"
fi

if [ "$PREPARE_ONLY" = yes ]; then
    echo "prepared $PI_GEN_DIR; build with: cd $PI_GEN_DIR && sudo ./build.sh"
    exit 0
fi
cd "$PI_GEN_DIR"
./build.sh
echo "done: the image is $PI_GEN_DIR/deploy/<date>-hotline-lite.img.xz"
