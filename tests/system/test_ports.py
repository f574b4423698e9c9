"""The daemon on simulated hardware holds its adapters behind the ports (appliance/ports.py) at run time too."""

from __future__ import annotations

from appliance import config as configuration
from appliance.ports import HandsetPort, LinePort, PlayerPort, RecorderPort
from appliance.sim.simulation import Simulation


def test_the_simulated_box_drives_every_adapter_through_its_port(tmp_path):
    simulation = Simulation(configuration.default_document())
    daemon = simulation.daemon(configuration.parse(simulation.document, simulated=True), tmp_path)
    daemon.start()
    try:
        assert daemon.lines and daemon.players and daemon.recorders and daemon.handsets
        assert all(isinstance(line, LinePort) for line in daemon.lines.values())
        assert all(isinstance(player, PlayerPort) for player in daemon.players.values())
        assert all(isinstance(recorder, RecorderPort) for recorder in daemon.recorders.values())
        assert all(isinstance(handset, HandsetPort) for handset in daemon.handsets.values())
    finally:
        daemon.shutdown()
        simulation.close()
