"""The membership context over HTTP: controllers, and their schemas in schemas/."""
