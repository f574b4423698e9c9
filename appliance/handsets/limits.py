"""What handset hardware can do, as ranges the drivers enforce and the config checks against.

Kept apart from parts.py so the config (and `python3 -m appliance.ops.firmware`, which the installer runs
with the system Python) reads them without importing gpiozero.
"""

RING_HZ = (15.0, 60.0)  # a SLIC's ringing frequency: 20 Hz by default, 25 Hz usual in Russia
BOUNCE_TIME = (0.0, 1.0)  # seconds a switch must settle; a contact still bouncing after a second is broken
