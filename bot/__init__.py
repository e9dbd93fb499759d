"""Wiring for the Community Champions Bot: settings, application, channels, command line."""
