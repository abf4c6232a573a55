"""The collector: an image search (or any page) → downloaded, checked, content-addressed files."""
