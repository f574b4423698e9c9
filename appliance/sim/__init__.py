"""The box on virtual hardware: the simulation and every emulator (modems, handsets), beside the real drivers."""
