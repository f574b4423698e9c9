#!/usr/bin/env bash
# Install (or remove) the hotline appliance on Raspberry Pi OS. Safe to run again: every step checks first.
#
#   sudo scripts/install.sh                      install or upgrade, enable and (re)start the services
#   sudo scripts/install.sh --uninstall          remove units, venv and firmware lines; keep config and data
#   sudo scripts/install.sh --uninstall --purge  also remove /etc/hotline, /var/lib/hotline and the user
#   scripts/install.sh --root DIR                stage into DIR: files are written under DIR, and commands
#                                                that would act on the system are listed in
#                                                DIR/var/log/hotline-install.commands instead of run
# Other flags: --no-apt (packages already there, e.g. the image build), --no-start (enable only),
#              --source DIR (the repository to install; default: the one holding this script).
set -euo pipefail

ROOT=""
MODE=install
PURGE=no
APT=yes
START=yes
SOURCE="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

usage() {
    sed -n '2,12s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
    exit "${1:-0}"
}

while [ $# -gt 0 ]; do
    case "$1" in
        --root) ROOT="$(realpath -m "${2:?--root needs a directory}")"; shift 2 ;;
        --uninstall) MODE=uninstall; shift ;;
        --purge) PURGE=yes; shift ;;
        --no-apt) APT=no; shift ;;
        --no-start) START=no; shift ;;
        --source) SOURCE="$(realpath "${2:?--source needs a directory}")"; shift 2 ;;
        -h|--help) usage 0 ;;
        *) echo "install.sh: unknown option '$1'" >&2; usage 2 >&2 ;;
    esac
done
if [ "$PURGE" = yes ] && [ "$MODE" != uninstall ]; then
    echo "install.sh: --purge only goes with --uninstall" >&2
    exit 2
fi
if [ ! -f "$SOURCE/pyproject.toml" ] || [ ! -d "$SOURCE/appliance" ]; then
    echo "install.sh: $SOURCE is not the hotline repository (no pyproject.toml / appliance/)" >&2
    exit 2
fi
if [ -z "$ROOT" ] && [ "$(id -u)" -ne 0 ]; then
    echo "install.sh: run as root (sudo), or stage with --root DIR" >&2
    exit 1
fi

USER_NAME=hotline
DEVICE_GROUPS=(dialout gpio audio)
UNITS=(hotline.service hotline-web.service hotline-tls.service)
OPT="$ROOT/opt/hotline"
VENV=/opt/hotline/venv
ETC="$ROOT/etc/hotline"
STATE="$ROOT/var/lib/hotline"
UNIT_DIR="$ROOT/etc/systemd/system"
UDEV_DIR="$ROOT/etc/udev/rules.d"
MANAGER_DIR="$ROOT/etc/systemd/system.conf.d"
BOOT="$ROOT/boot/firmware"
PLAN="$ROOT/var/log/hotline-install.commands"
PACKAGES=(python3-venv python3-dev gcc pkg-config libasound2-dev libsystemd-dev alsa-utils espeak-ng sox
          usb-modeswitch avahi-daemon nginx openssl sqlite3)
NGINX="$ROOT/etc/nginx"
APT_HOOK_DIR="$ROOT/etc/apt/apt.conf.d"

say() { printf 'hotline: %s\n' "$*"; }

# A command acting on the live system: run it, or in a staging root only write it down.
run() {
    if [ -n "$ROOT" ]; then
        mkdir -p "$(dirname "$PLAN")"
        printf '%s\n' "$*" >> "$PLAN"
    else
        say "+ $*"
        "$@"
    fi
}

# systemctl acting on unit files only; with --root it edits the staging root's symlinks for real.
unit_files() {
    if [ -n "$ROOT" ]; then
        if command -v systemctl > /dev/null; then
            systemctl --root "$ROOT" --quiet "$@" 2> /dev/null || true
        fi
        printf 'systemctl %s\n' "$*" >> "$PLAN"
    else
        run systemctl "$@"
    fi
}

systemd_running() { [ -z "$ROOT" ] && [ -d /run/systemd/system ]; }
has_group() { grep -q "^$1:" "$ROOT/etc/group" 2> /dev/null; }
has_user() { grep -q "^$1:" "$ROOT/etc/passwd" 2> /dev/null; }

install_packages() {
    [ "$APT" = yes ] || return 0
    local missing=() pkg
    for pkg in "${PACKAGES[@]}"; do
        if [ -n "$ROOT" ] || ! dpkg-query -W -f='${Status}' "$pkg" 2> /dev/null | grep -q "ok installed"; then
            missing+=("$pkg")
        fi
    done
    if [ ${#missing[@]} -gt 0 ]; then
        run apt-get update
        run env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
    fi
}

create_user() {
    local group
    for group in "${DEVICE_GROUPS[@]}" "$USER_NAME"; do
        has_group "$group" || run groupadd --system "$group"
    done
    if has_user "$USER_NAME"; then
        run usermod --append --groups "$(IFS=,; echo "${DEVICE_GROUPS[*]}")" "$USER_NAME"
    else
        run useradd --system --gid "$USER_NAME" --groups "$(IFS=,; echo "${DEVICE_GROUPS[*]}")" \
            --home-dir /var/lib/hotline --no-create-home --shell /usr/sbin/nologin "$USER_NAME"
    fi
}

copy_source() {
    # A clean copy, so the box keeps the docs and firmware sources that match the installed code.
    rm -rf "$OPT/src.new"
    mkdir -p "$OPT/src.new"
    # Not what the test suite writes as it runs (screenshots, a simulated box's data): a box has no use for it,
    # and a file written while tar reads it fails the copy.
    tar -C "$SOURCE" --exclude='./.*' --exclude='__pycache__' --exclude='*.egg-info' --exclude=./build \
        --exclude=./tests/screenshots --exclude=./data \
        -cf - . | tar -C "$OPT/src.new" -xf -
    rm -rf "$OPT/src"
    mv "$OPT/src.new" "$OPT/src"
}

install_venv() {
    if [ -n "$ROOT" ] || [ ! -x "$VENV/bin/python" ]; then
        run python3 -m venv "$VENV"
    fi
    run "$VENV/bin/pip" install --quiet --upgrade /opt/hotline/src
    # Python 3.11's venv brings setuptools, whose .pth file makes every interpreter of the venv import its
    # distutils shim at start (~0.1 MB of the daemon's and the web's memory, docs/proof.md); nothing the box runs
    # uses it, and pip builds the tree in an isolated environment of its own. colorzero 2.0 names setuptools in its
    # metadata without importing it (so `pip check` lists it, and each install run brings it back before this).
    run "$VENV/bin/pip" uninstall --yes --quiet setuptools
    # The daemon's and the web's units run at PYTHONOPTIMIZE=2 from this prefix: its bytecode, made once here (ops/bytecode.py).
    run rm -rf /opt/hotline/pycache
    run "$VENV/bin/python" -m appliance.ops.bytecode /opt/hotline/pycache
    # An upgrade of Debian's python3 leaves that bytecode stale: the daemon, which may write none, would then
    # compile from source at every start. dpkg renews it after each run (only what changed is compiled).
    mkdir -p "$APT_HOOK_DIR"
    cat > "$APT_HOOK_DIR/90hotline-bytecode" << EOF
// Written by hotline's scripts/install.sh: renew the daemon's bytecode after packages change.
DPkg::Post-Invoke { "if [ -x $VENV/bin/python ]; then $VENV/bin/python -m appliance.ops.bytecode /opt/hotline/pycache > /dev/null 2>&1 || true; fi"; };
EOF
}

install_config() {
    mkdir -p "$ETC" "$STATE"
    if [ ! -e "$ETC/hotline.toml" ]; then
        install -m 0640 "$SOURCE/appliance/config/defaults/simulate.toml" "$ETC/hotline.toml"
        say "wrote /etc/hotline/hotline.toml from the built-in config: edit ports, audio and pins for this box"
    fi
    chmod 0750 "$STATE"
    run chown root:"$USER_NAME" /etc/hotline/hotline.toml
    run chown "$USER_NAME:$USER_NAME" /var/lib/hotline
}

install_units() {
    mkdir -p "$UNIT_DIR"
    local unit
    for unit in "${UNITS[@]}"; do
        install -m 0644 "$SOURCE/systemd/$unit" "$UNIT_DIR/$unit"
    done
}

install_firmware() {
    local bundle="$OPT/firmware" boot_args=()
    if [ -f "$BOOT/config.txt" ]; then
        boot_args=(--boot "$BOOT")
    else
        say "no $BOOT/config.txt: not a Raspberry Pi OS boot partition, boot files left alone"
    fi
    if ! PYTHONPATH="$OPT/src" python3 -m appliance.ops.firmware --config "$ETC/hotline.toml" --out "$bundle" \
            "${boot_args[@]}" > /dev/null; then
        say "WARNING: firmware files not regenerated (config problems above); fix it and run this again"
    fi
    if [ -f "$bundle/99-hotline-modems.rules" ]; then
        mkdir -p "$UDEV_DIR" "$MANAGER_DIR"
        install -m 0644 "$bundle/99-hotline-modems.rules" "$UDEV_DIR/99-hotline-modems.rules"
        install -m 0644 "$bundle/hotline-watchdog.conf" "$MANAGER_DIR/hotline-watchdog.conf"
    fi
    if grep -q '^dtoverlay=disable-bt' "$bundle/hotline-config.txt" 2> /dev/null; then
        # Bluetooth has lost its UART; hciuart would keep failing at every boot.
        unit_files disable hciuart.service
    fi
}

install_frontend() {
    # nginx serves the LAN over HTTPS in front of hotline-web (127.0.0.1:8080); docs/security.md.
    mkdir -p "$NGINX/sites-available" "$NGINX/sites-enabled"
    PYTHONPATH="$OPT/src" python3 -m appliance.ops.frontend nginx --out "$NGINX/sites-available/hotline"
    ln -sfn ../sites-available/hotline "$NGINX/sites-enabled/hotline"
    # Debian's own default site claims port 80 as default_server too.
    rm -f "$NGINX/sites-enabled/default"
    if [ "$START" = yes ]; then
        # A live box makes its certificate now. An image (--no-start) makes it at first boot through
        # hotline-tls.service, so no two boxes share a key. An existing certificate is kept.
        run "$VENV/bin/hotline" tls-cert /etc/hotline/tls
    fi
}

do_install() {
    install_packages
    create_user
    copy_source
    install_venv
    install_config
    install_units
    install_frontend
    install_firmware
    if systemd_running; then
        run systemctl daemon-reload
        run udevadm control --reload
        run udevadm trigger --subsystem-match=tty --action=add
    elif [ -n "$ROOT" ]; then
        run systemctl daemon-reload
    fi
    unit_files enable "${UNITS[@]}"
    unit_files enable nginx.service
    if [ "$START" = yes ] && systemd_running; then
        run systemctl restart "${UNITS[@]}"
        run systemctl restart nginx.service
    fi
    say "installed. Check the hardware with: sudo -u hotline $VENV/bin/hotline check --config /etc/hotline/hotline.toml"
    say "the setup page is https://$(cat "$ROOT/etc/hostname" 2> /dev/null || echo raspberrypi).local/" \
        "(a self-signed certificate: accept it once); it asks for the code that sudo $VENV/bin/hotline setup-code" \
        "shows. The firmware lines apply after a reboot."
}

do_uninstall() {
    if systemd_running; then
        run systemctl disable --now "${UNITS[@]}"
    else
        unit_files disable "${UNITS[@]}"
    fi
    local unit
    for unit in "${UNITS[@]}"; do
        rm -f "$UNIT_DIR/$unit"
    done
    rm -f "$UDEV_DIR/99-hotline-modems.rules" "$MANAGER_DIR/hotline-watchdog.conf"
    rm -f "$NGINX/sites-enabled/hotline" "$NGINX/sites-available/hotline"
    if systemd_running; then
        run systemctl reload-or-restart nginx.service || true
    fi
    if [ -f "$BOOT/config.txt" ]; then
        sed -i '/^# >>> hotline/,/^# <<< hotline/d' "$BOOT/config.txt"
        say "removed the hotline block from config.txt (a serial console taken out of cmdline.txt stays out)"
    fi
    rm -f "$APT_HOOK_DIR/90hotline-bytecode"
    rm -rf "$OPT/venv" "$OPT/pycache" "$OPT/src" "$OPT/firmware"
    rmdir "$OPT" 2> /dev/null || true
    if [ "$PURGE" = yes ]; then
        rm -rf "$ETC" "$STATE"
        if has_user "$USER_NAME"; then
            run userdel "$USER_NAME"
        fi
        say "purged: config, call records and the $USER_NAME user are gone"
    else
        say "kept /etc/hotline and /var/lib/hotline (call records); --purge removes them"
    fi
    if systemd_running; then
        run systemctl daemon-reload
    fi
}

if [ "$MODE" = install ]; then
    do_install
else
    do_uninstall
fi
