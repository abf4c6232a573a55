"""Face detection shared by curation (`curate faces`, `export --faces`) and the trainer (`--faces`)."""
