"""learnstore: the data layer of a learning platform, typed Python over PostgreSQL."""

__all__: list[str] = []
