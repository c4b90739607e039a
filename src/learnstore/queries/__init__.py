"""The typed query layer: sqlc-annotated SQL files, loaded through aiosql."""
