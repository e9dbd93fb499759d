"""Wiring for the Community Champions Bot: settings, application, channels, command line."""

import os

# Opt in now to python-telegram-bot's coming durations-as-timedelta behaviour (RetryAfter.retry_after
# and friends); without it PTB warns about the change on every rate-limit answer.
os.environ.setdefault("PTB_TIMEDELTA", "1")
