"""Voice over LTE per family: how to read whether IMS/VoLTE is on, and how to switch it on.

Where 2G and 3G are switched off, a call reaches an LTE module only over IMS (VoLTE); registration shows as
+CEREG, which the line already counts. Pure functions: `hotline check --hardware` asks the query on each AT
port it finds and shows the answer (appliance/ops/hwcheck.py); `--fix` sends the family's enabling commands.

* Quectel EC2x/EG25: `AT+QCFG="ims"` -> `+QCFG: "ims",<ims>,<volte>` (<ims> 0 as the operator's MBN profile
  says, 1 on, 2 off; <volte> 1 = VoLTE ready). On: `AT+QCFG="ims",1`, `AT+QMBNCFG="AutoSel",1` (pick the
  operator profile from the SIM), then `AT+CFUN=1,1` (restart) to apply.
* SIMCom SIM7600/A76xx: 3GPP TS 27.007 `AT+CIREG?` -> `+CIREG: <n>,<reg>` (1 = registered to IMS). On:
  `AT+CVOLTE=1` on firmwares that have it (SIM7600 LE20B04 and later, A76xx), then `AT+CFUN=1,1`; older
  SIM7600 firmwares need an update (SIMCom's VoLTE firmware) before any command helps.
* SIM800 (2G only) and Huawei E1550/E173 (3G only): no LTE at all; they stop working when 2G/3G goes.
"""

from __future__ import annotations

import re

from appliance.core.lean import lean

QUERIES = {"quectel": 'AT+QCFG="ims"', "sim7600": "AT+CIREG?"}
ENABLE = {
    "quectel": ('AT+QCFG="ims",1', 'AT+QMBNCFG="AutoSel",1', "AT+CFUN=1,1"),
    "sim7600": ("AT+CVOLTE=1", "AT+CFUN=1,1"),
}
NO_LTE = {"sim800": "a 2G-only module", "huawei": "a 3G-only stick", "v253": "an analogue line"}


@lean(frozen=True)
class Volte:
    state: str  # "on", "off", "unknown" (the modem did not say), "none" (no LTE in this family)
    detail: str

    def __str__(self) -> str:
        return f"VoLTE {self.state} ({self.detail})"


def read(dialect: str | None, reply: str) -> Volte:
    """The VoLTE state from the reply text to the family's query (all its lines, final result included)."""
    if dialect in NO_LTE:
        return Volte("none", f"{NO_LTE[dialect]}: no LTE, so no calls once 2G/3G is switched off")
    if dialect not in QUERIES:
        return Volte("unknown", "no known VoLTE query for this modem")
    query = QUERIES[dialect]
    if dialect == "quectel":
        found = re.search(r'\+QCFG:\s*"ims",\s*(\d)(?:,\s*(\d))?', reply)
        if not found:
            return Volte("unknown", f"{query} answered {_last(reply)}")
        ims, ready = found[1], found[2]
        if ims == "2":
            return Volte("off", f"{query}: IMS switched off")
        words = {"0": "IMS as the operator profile says", "1": "IMS on"}[ims] if ims in "01" else f"IMS {ims}"
        if ready == "1":
            return Volte("on", f"{query}: {words}, VoLTE ready")
        return Volte("off" if ims == "0" else "unknown", f"{query}: {words}, VoLTE not ready")
    found = re.search(r"\+CIREG:\s*\d,\s*(\d)", reply)
    if not found:
        return Volte("unknown", f"{query} answered {_last(reply)}")
    if found[1] == "1":
        return Volte("on", f"{query}: registered to IMS")
    return Volte("off", f"{query}: not registered to IMS")


def _last(reply: str) -> str:
    lines = [line for line in reply.splitlines() if line.strip()]
    return lines[-1] if lines else "nothing"
