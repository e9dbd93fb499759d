"""Thin Telegram handlers, one module per journey."""
