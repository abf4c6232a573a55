"""happysad: from an image-search query to a reviewed dataset and a happy-vs-sad classifier.

The stages are the top-level packages `collector`, `curation` and `trainer`; what they share
lives here, under the project's name, so nothing generic (`common`, `faces`) lands at the top
of site-packages: `happysad.common` (errors, files, tables, images, the workspace) and
`happysad.faces` (detectors, crops, the face export).
"""
