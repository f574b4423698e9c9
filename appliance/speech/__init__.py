"""Offline speech: callers' spoken answers recognised, voicemail transcribed (docs/speech.md).

The engines run in their own process (worker.py), never in the daemon: the daemon only starts that
process when its flow asks a caller to speak or voicemail is transcribed, and talks to it through
recogniser.py. Nothing here sends audio or text off the box.
"""
