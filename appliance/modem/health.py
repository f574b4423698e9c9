"""A line's health in words: SIM, registration, operator, signal, identities. Pure parsing plus one poll."""

from __future__ import annotations

import re
from collections.abc import Callable

from appliance.modem.at import Reply
from appliance.modem.dialects.base import REGISTRATION_WORDS, fields, registration_stat

SIM_WORDS = {
    "READY": None,
    "SIM PIN": "the SIM needs its PIN",
    "SIM PUK": "the SIM is blocked (PUK needed)",
    "NOT READY": "the SIM is not ready",
    "NOT INSERTED": "no SIM inserted",
    "NO SIM": "no SIM inserted",
}


def csq_to_dbm(rssi: int) -> int | None:
    """27.007 +CSQ <rssi>: 0 is -113 dBm or less, 31 is -51 dBm or more, 99 unknown."""
    if not 0 <= rssi <= 31:
        return None
    return -113 + 2 * rssi


def signal_bars(dbm: int | None) -> int:
    """0..5 bars, the way handsets draw them."""
    if dbm is None:
        return 0
    for bars, floor in ((5, -73), (4, -83), (3, -93), (2, -103), (1, -111)):
        if dbm >= floor:
            return bars
    return 0


def sim_problem(state: str) -> str | None:
    """None when the SIM is usable, else the reason in words."""
    state = state.strip().upper()
    if state in SIM_WORDS:
        return SIM_WORDS[state]
    return f"the SIM reports {state}"


def judge_registration(domains: dict[str, int]) -> int | None:
    """One registration state from the domains the modem reports: registered when a domain that carries voice
    is (CREG circuit-switched, CEREG LTE with VoLTE; an LTE-only module says +CREG: 0 while +CEREG: 1 carries
    its calls). CGREG (packet data) counts only for a modem that reports nothing else."""
    voice = {d: stat for d, stat in domains.items() if d in ("CREG", "CEREG")} or domains
    for stat in voice.values():
        if stat in (1, 5):
            return stat
    return voice.get("CREG", next(iter(voice.values()), None))


def registration_problem(stat: int | None) -> str | None:
    if stat in (1, 5):
        return None
    words = REGISTRATION_WORDS.get(stat, "registration unknown") if stat is not None else "registration unknown"
    return f"not on the network: {words}"


def poll(command: Callable[..., Reply], health: dict, *, identities: bool) -> None:
    """Ask the modem how it is, updating `health` in place. Commands a modem refuses leave fields unset."""
    def ask(cmd: str, expect: str | None = None) -> Reply | None:
        reply = command(cmd, expect=expect)
        return reply if reply.ok else None

    reply = ask("AT+CPIN?", "+CPIN:")
    health["sim"] = reply.value("+CPIN:") if reply else "unknown"
    domains = {}
    for domain in ("CREG", "CEREG"):  # a 2G/3G modem refuses AT+CEREG?; an LTE-only one may say +CREG: 0
        reply = ask(f"AT+{domain}?", f"+{domain}:")
        stat = registration_stat(reply.value(f"+{domain}:") or "") if reply else None
        if stat is not None:
            domains[domain] = stat
    health["registration_domains"] = domains
    set_registration(health, judge_registration(domains))
    reply = ask("AT+COPS?", "+COPS:")
    parts = fields(reply.value("+COPS:") or "") if reply else []
    health["operator"] = parts[2] if len(parts) > 2 else None
    reply = ask("AT+CSQ", "+CSQ:")
    parts = fields(reply.value("+CSQ:") or "") if reply else []
    dbm = csq_to_dbm(int(parts[0])) if parts and parts[0].isdigit() else None
    health["signal_dbm"] = dbm
    health["signal_bars"] = signal_bars(dbm)
    if identities:
        for key, cmd in (("imei", "AT+CGSN"), ("imsi", "AT+CIMI")):
            reply = ask(cmd)
            health[key] = next((ln for ln in reply.lines if ln.isdigit()), None) if reply else None


# The SIM's ICCID, per family (27.007 has none: each vendor names its own). Read at each line start, so a SIM
# swapped while the box was off is noticed: what a network refused is remembered per SIM (service/refusals.py).
ICCID_COMMANDS = {"sim7600": "AT+CICCID", "quectel": "AT+QCCID", "huawei": "AT^ICCID?"}
_ICCID = re.compile(r"\b([0-9A-Fa-f]{18,22})\b")


def read_own_number(command: Callable[..., Reply]) -> str | None:
    """The line's own number as the SIM stores it (27.007 AT+CNUM), or None: many SIMs store none."""
    reply = command("AT+CNUM")
    for line in reply.lines if reply.ok else ():
        parts = fields(line.split(":", 1)[1]) if line.startswith("+CNUM:") else []
        if len(parts) > 1 and any(c.isdigit() for c in parts[1]):
            return parts[1]
    return None


def read_iccid(command: Callable[..., Reply], dialect: str) -> str | None:
    """The SIM card's ICCID, or None when the modem will not say."""
    reply = command(ICCID_COMMANDS.get(dialect, "AT+CCID"))
    if not reply.ok:
        return None
    for line in reply.lines:
        found = _ICCID.search(line.split(":", 1)[-1])
        if found:
            return found.group(1).upper()
    return None


def set_registration(health: dict, stat: int | None) -> None:
    health["registration"] = REGISTRATION_WORDS.get(stat, "unknown") if stat is not None else "unknown"
    health["registration_stat"] = stat


def unlock_sim(command: Callable[..., Reply], sim_pin: str | None) -> str | None:
    """Enter the PIN when the SIM asks for it; None when the SIM is usable, else the reason in words."""
    reply = command("AT+CPIN?", expect="+CPIN:")
    state = (reply.value("+CPIN:") or "") if reply.ok else reply.final
    if state == "SIM PIN":
        if not sim_pin:
            return "the SIM needs its PIN and none is configured (sim_pin)"
        if not command(f'AT+CPIN="{sim_pin}"', 5.0).ok:
            return "the SIM refused the configured PIN"
        return None
    return sim_problem(state) if reply.ok else f"the SIM is not usable ({reply.final})"
