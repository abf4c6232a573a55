"""An offline stand-in for an image search engine, so the pipeline runs with no internet."""
