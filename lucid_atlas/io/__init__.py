"""Ground-level input/output: images in, pictures out, files anywhere tf.io.gfile reaches."""
