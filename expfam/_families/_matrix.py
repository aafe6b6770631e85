"""_matrix families."""

__all__: list[str] = []
