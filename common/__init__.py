"""Helpers that more than one stage needs: the workspace location and the image check."""
