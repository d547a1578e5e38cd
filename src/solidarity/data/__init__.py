"""Package data: files read with importlib.resources; SOURCES.md says where each comes from."""
