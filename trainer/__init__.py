"""The trainer: honest splits, a tf.data pipeline, the seed CNN and a stronger default."""
