"""_circular families."""

__all__: list[str] = []
