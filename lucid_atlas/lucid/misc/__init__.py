"""Lucid's ``lucid.misc``: io (show, load, save), gradient_override, redirected_relu_grad."""
