"""The running daemon and what serves it: the event loop, line wiring, control socket, maintenance, systemd notify."""
