"""Each emulated modem family's own words, from the vendors' AT manuals (see docs/modems.md): its identity, how
it reports a DTMF key, a call answered, ended or dropped, and what it says at boot. The script (emulator_script.py)
speaks them; the line-state tests (tests/unit/test_line_states.py) feed them to the real line.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

DLE = b"\x10"


@dataclass(frozen=True)
class Family:
    identity: tuple[str, ...]  # ATI
    cgmi: str | None  # None: the command is unknown (ERROR)
    cgmm: str | None
    dtmf: Callable[[str], str | bytes]
    answered: tuple[str, ...]  # reports after ATA succeeded / the far end picked up
    ended: tuple[str | bytes, ...]  # far end hung up
    dropped: tuple[str | bytes, ...]  # the network dropped the call: the family's own report only
    boot: tuple[str, ...]
    gsm: bool = True


FAMILIES: dict[str, Family] = {
    "sim800": Family(
        ("SIM800 R14.18",), "SIMCOM_Ltd", "SIMCOM_SIM800L", lambda d: f"+DTMF: {d}",
        ('+CLCC: 1,1,0,0,0,"{num}",145,""',), ('+CLCC: 1,1,6,0,0,"{num}",145,""', "NO CARRIER"),
        ('+CLCC: 1,1,6,0,0,"{num}",145,""',), ("RDY", "+CFUN: 1", "+CPIN: READY", "Call Ready", "SMS Ready")),
    "sim7600": Family(
        ("Manufacturer: SIMCOM INCORPORATED", "Model: SIMCOM_SIM7600E-H", "Revision: SIM7600M22_V2.0"),
        "SIMCOM INCORPORATED", "SIMCOM_SIM7600E-H", lambda d: f"+RXDTMF: {d}",
        ("VOICE CALL: BEGIN",), ("VOICE CALL: END: 000042", "NO CARRIER"), ("VOICE CALL: END: 000042",),
        ("RDY", "+CPIN: READY", "SMS DONE", "PB DONE")),
    "quectel": Family(
        ("Quectel", "EC25", "Revision: EC25EFAR06A03M4G"), "Quectel", "EC25",
        lambda d: f"+QTONEDET: {ord(d)}", (), ("NO CARRIER",), (),
        ("RDY", "+CFUN: 1", "+CPIN: READY", "+QIND: SMS DONE")),
    "huawei": Family(
        ("Manufacturer: huawei", "Model: E1550", "Revision: 11.608.13.02.00", "IMEI: 351111111111111"),
        "huawei", "E1550", lambda d: f"^DDTMF: {d}", ("^CONN:1,0",), ("^CEND:1,42,104,16", "NO CARRIER"),
        ("^CEND:1,42,104,31",), ("^SYSSTART",)),
    "v253": Family(
        ("CX93001-EIS_V0.2002-V92",), None, None, lambda d: DLE + d.encode(), ("VCON",),
        (DLE + b"b",), (DLE + b"d",), (), gsm=False),
}
