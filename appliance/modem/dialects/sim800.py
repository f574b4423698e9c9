"""SIMCom SIM800/SIM900 (SIM800 Series AT Command Manual V1.09).

* Caller ID: `AT+CLIP=1` -> `+CLIP: "<number>",<type>,"",0,"",<validity>` after each RING.
* DTMF detection: `AT+DDET=1` -> `+DTMF: <key>` (needs a firmware with DTMF detection built in).
* Call state: `AT+CLCC=1` makes the module report every change as `+CLCC:`; the far end hanging up
  gives stat 6 and `NO CARRIER`.
* Hang-up: `ATH`. DTMF sending: `AT+VTS=<digit>`.
* Audio: analogue MIC/SPK pins to the sound card; `AT+CHFA` picks the channel.
* Power: `NORMAL POWER DOWN`, `UNDER-VOLTAGE POWER DOWN`, `UNDER-VOLTAGE WARNNING` (sic); temperature
  `+CMTE: <-2..2>`. DTMF `+DTMF: 5` and `+DTMF:5` (both spellings occur) are read in base.py.
"""

from __future__ import annotations

from appliance.modem.dialects.base import Dialect


class Sim800(Dialect):
    name = "sim800"
    init_commands = Dialect.init_commands + ("AT+CLCC=1", "AT+DDET=1")
