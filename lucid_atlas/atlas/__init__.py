"""Activation atlases: collect activations, lay them out, bin them into a grid, render cells."""
