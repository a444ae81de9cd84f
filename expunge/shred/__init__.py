"""Overwriting: methods, seekable pattern streams, file and device targets."""
