"""_simplex families."""

__all__: list[str] = []
