"""What more than one stage needs: the workspace and its names, the files stages hand each other
(tables), the image check, errors and the command-line conventions, atomic writes, SQLite,
TensorFlow's start."""
