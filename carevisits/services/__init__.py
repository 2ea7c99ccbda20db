"""Domain rules as plain functions over model objects: they flush, the caller commits."""
