"""The account screen (``:account``): API keys and connected sessions."""
