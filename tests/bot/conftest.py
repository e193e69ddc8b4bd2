"""The conversation tests drive the project's own bot on the session's shared stack:
`bot_stack` (tests/bot_stack.py, registered in tests/conftest.py)."""
