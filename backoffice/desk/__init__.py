"""The agents' desk (/desk): server-rendered pages for staff, live over a websocket."""
