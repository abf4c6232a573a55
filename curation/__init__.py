"""Curation: scan, perceptual-hash dedupe, FiftyOne review, export of clean class folders."""
