"""Several boxes, one hotline: status and events over an MQTT broker (docs/fleet.md).

Imported only when the config has a [fleet] table, so a box on its own never loads paho-mqtt.
"""
