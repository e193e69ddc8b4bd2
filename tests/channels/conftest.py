"""Fixtures of the channel tests (defined in channel_kit.py, shared with their helpers)."""

from channel_kit import channel_db, platform, rasa_url, wechat_api

__all__ = ["channel_db", "platform", "rasa_url", "wechat_api"]
