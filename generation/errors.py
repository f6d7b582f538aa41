"""The one exception the generation code raises for bad input: its message is meant for the person who typed it."""


class GenerationError(Exception):
    """Bad input or an unsatisfiable request; nothing was written."""
