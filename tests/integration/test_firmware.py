"""The boot-time bundle: relays held low from power-on, the UART freed for a HAT modem, stable modem names."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from appliance.ops.firmware import (
    BEGIN,
    CONFIG_FRAGMENT,
    END,
    UDEV_RULES,
    WATCHDOG_DROPIN,
    boot_config,
    install_boot,
    merge_block,
    strip_serial_console,
    udev_rules,
    write_bundle,
)

REPO = Path(__file__).resolve().parents[2]
PI_CMDLINE = ("console=serial0,115200 console=tty1 root=PARTUUID=4e639091-02 rootfstype=ext4 fsck.repair=yes"
              " rootwait\n")


def _settings(fragment: str) -> list[str]:
    return [line for line in fragment.splitlines() if line and not line.startswith("#")]


def test_every_relay_pin_is_held_low_from_power_on() -> None:
    lines = _settings(boot_config([22, 17, 5, 17], uart_modem=False))
    assert "gpio=5,17,22=op,dl" in lines
    assert "dtparam=watchdog=on" in lines and "dtparam=audio=on" in lines
    assert "enable_uart=1" not in lines  # a USB modem leaves Bluetooth and the console alone


def test_a_hat_modem_gets_the_pl011_uart() -> None:
    lines = _settings(boot_config([17], uart_modem=True))
    assert lines.index("enable_uart=1") < lines.index("[pi5]")
    assert "dtoverlay=disable-bt" in lines
    assert lines[lines.index("[pi5]") + 1] == "dtparam=uart0=on"
    assert lines[-1] == "[all]"  # whatever the admin writes after our block still applies to every model


def test_no_pins_means_no_gpio_line() -> None:
    assert not any(line.startswith("gpio=") for line in _settings(boot_config([], uart_modem=False)))


@pytest.mark.parametrize("pins", [[17, 40], [-1], [True], ["17"]])
def test_bad_pins_are_named_and_nothing_is_written(pins: list[object], tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not BCM GPIO numbers"):
        write_bundle(tmp_path / "out", pins, uart_modem=False)  # type: ignore[arg-type]
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("console", ["console=serial0,115200", "console=ttyAMA0,115200", "console=ttyS0,9600",
                                     "console=serial1"])
def test_serial_console_is_removed_and_the_rest_kept(console: str) -> None:
    cmdline = PI_CMDLINE.replace("console=serial0,115200", console)
    assert strip_serial_console(cmdline) == (
        "console=tty1 root=PARTUUID=4e639091-02 rootfstype=ext4 fsck.repair=yes rootwait\n")


def test_a_cmdline_without_serial_console_is_unchanged() -> None:
    cmdline = "console=tty1 root=PARTUUID=4e639091-02 rootwait quiet"
    assert strip_serial_console(cmdline) == cmdline


def test_merging_twice_changes_nothing_and_keeps_the_admins_lines() -> None:
    original = "# my settings\ndtparam=i2c_arm=on\n[cm4]\notg_mode=1\n"
    once = merge_block(original, boot_config([17], uart_modem=False))
    twice = merge_block(once, boot_config([17], uart_modem=False))
    assert twice == once
    assert once.startswith(original)
    changed = merge_block(once, boot_config([5], uart_modem=False))
    assert changed.count(BEGIN) == 1 and changed.count(END) == 1
    assert "gpio=5=op,dl" in changed and "gpio=17=op,dl" not in changed


def test_install_boot_edits_a_boot_partition(tmp_path: Path) -> None:
    (tmp_path / "config.txt").write_text("dtparam=audio=on\n[all]\n")
    (tmp_path / "cmdline.txt").write_text(PI_CMDLINE)
    changed = install_boot(tmp_path, boot_config([17], uart_modem=True), uart_modem=True)
    assert sorted(p.name for p in changed) == ["cmdline.txt", "config.txt"]
    assert "console=serial0" not in (tmp_path / "cmdline.txt").read_text()
    assert install_boot(tmp_path, boot_config([17], uart_modem=True), uart_modem=True) == []


def test_install_boot_refuses_a_directory_that_is_not_a_boot_partition(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="config.txt"):
        install_boot(tmp_path, boot_config([17], uart_modem=False), uart_modem=False)


def test_bundle_holds_the_fragment_the_rules_and_the_watchdog(tmp_path: Path) -> None:
    paths = write_bundle(tmp_path, [17, 22], uart_modem=False)
    assert sorted(p.name for p in paths) == sorted([CONFIG_FRAGMENT, UDEV_RULES, WATCHDOG_DROPIN])
    dropin = (tmp_path / WATCHDOG_DROPIN).read_text()
    assert re.search(r"^\[Manager\]$", dropin, re.M)
    seconds = int(re.search(r"^RuntimeWatchdogSec=(\d+)$", dropin, re.M).group(1))
    assert 0 < seconds <= 15  # the Pi's hardware watchdog cannot count further


def test_checked_in_rules_are_the_generated_ones() -> None:
    assert (REPO / "firmware" / UDEV_RULES).read_text() == udev_rules()


_RULE_TOKEN = re.compile(r'^(?P<key>[A-Z_]+)(\{(?P<attr>[^}]+)\})?(?P<op>==|!=|\+=|=)"(?P<value>[^"]*)"$')
_MATCH_KEYS = {"ACTION", "SUBSYSTEM", "SUBSYSTEMS", "ATTRS", "ENV", "KERNEL"}
_ASSIGN_KEYS = {"ENV", "SYMLINK", "GOTO", "LABEL", "IMPORT"}


def _rules() -> list[list[re.Match[str]]]:
    rules = []
    for line in udev_rules().splitlines():
        if not line or line.startswith("#"):
            continue
        tokens = [_RULE_TOKEN.match(t.strip()) for t in line.split(", ")]
        assert all(tokens), line
        rules.append(tokens)
    return rules


def test_udev_rules_are_well_formed() -> None:
    for tokens in _rules():
        for token in tokens:
            key, op = token["key"], token["op"]
            assert key in (_MATCH_KEYS if op in ("==", "!=") else _ASSIGN_KEYS), token.group(0)


@pytest.mark.parametrize(("usb_id", "interface", "name"), [
    ("1e0e:9001", "02", "sim7600-at"), ("1e0e:9001", "04", "sim7600-audio"),
    ("2c7c:0125", "02", "ec25-at"), ("2c7c:0125", "01", "ec25-audio"),
    ("12d1:1001", "02", "huawei-at"), ("12d1:1001", "01", "huawei-audio"), ("12d1:1436", "02", "huawei-at"),
    ("1a86:7523", None, "sim800-at"), ("10c4:ea60", None, "sim800-at"),
])
def test_each_supported_modem_port_gets_its_stable_name(usb_id: str, interface: str | None,
                                                        name: str) -> None:
    vendor, product = usb_id.split(":")
    found = []
    for tokens in _rules():
        values = {(t["key"], t["attr"], t["op"]): t["value"] for t in tokens}
        key = (values.get(("ATTRS", "idVendor", "==")), values.get(("ATTRS", "idProduct", "==")),
               values.get(("ENV", "ID_USB_INTERFACE_NUM", "==")))
        if key == (vendor, product, interface):
            found += [t["value"] for t in tokens if t["key"] == "SYMLINK"]
    assert f"hotline/{name}" in found


def test_module_entry_point_writes_the_bundle_from_a_config(tmp_path: Path) -> None:
    boot = tmp_path / "boot"
    boot.mkdir()
    (boot / "config.txt").write_text("dtparam=audio=on\n")
    result = subprocess.run([sys.executable, "-m", "appliance.ops.firmware", "--config",
                             str(REPO / "appliance/config/defaults/simulate.toml"), "--out", str(tmp_path / "out"),
                             "--boot", str(boot)], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert result.returncode == 0, result.stderr
    # simulate.toml: ring relays 17 and 5, audio relays 22 and 13; the hook inputs 27 and 6 are not driven
    assert "gpio=5,13,17,22=op,dl" in (boot / "config.txt").read_text()


def test_module_entry_point_names_a_broken_config(tmp_path: Path) -> None:
    bad = tmp_path / "hotline.toml"
    bad.write_text("[box\n")
    result = subprocess.run([sys.executable, "-m", "appliance.ops.firmware", "--config", str(bad), "--out",
                             str(tmp_path / "out")], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert result.returncode == 2
    assert str(bad) in result.stderr
    assert not (tmp_path / "out").exists()


def test_each_line_gets_its_own_at_and_voice_port_names() -> None:
    """A line named by model (or USB socket) gets /dev/hotline/<line>-at and <line>-audio on the same interfaces."""
    rules = udev_rules({"gsm1": "/dev/hotline/huawei-at", "gsm2": "/dev/hotline/usb-1-1.3-at",
                        "gsm3": "/dev/ttyUSB2", "sim": "sim://sim800"}).splitlines()
    mine = [r for r in rules if 'SYMLINK+="hotline/gsm' in r]
    huawei = [r for r in mine if r.endswith('"hotline/gsm1-audio"')]
    assert huawei and all('ID_USB_INTERFACE_NUM}=="01"' in r and 'idVendor}=="12d1"' in r for r in huawei)
    assert all('ID_USB_INTERFACE_NUM}=="02"' in r for r in mine if r.endswith('"hotline/gsm1-at"'))
    socket = [r for r in mine if r.endswith('"hotline/gsm2-audio"')]
    assert {('idVendor}=="1e0e"' in r, '=="04"' in r) for r in socket if "1e0e" in r} == {(True, True)}
    assert all('KERNELS=="1-1.3"' in r for r in socket) and any("2c7c" in r for r in socket)
    assert not any("gsm3" in r or "hotline/sim-" in r for r in rules), "ports these rules do not name get none"
    assert udev_rules({}) == udev_rules(), "no lines: the shipped rules file"
