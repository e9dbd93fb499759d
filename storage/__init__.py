"""Database models, engine and queries. No Telegram types here."""
