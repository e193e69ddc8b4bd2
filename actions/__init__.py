"""小保's custom actions (Rasa SDK): a client of the back office's HTTP API, nothing more."""
