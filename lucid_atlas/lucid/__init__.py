"""Lucid's API on TensorFlow 2: Lucid code runs here after changing its imports.

Replace ``lucid`` by ``lucid_atlas.lucid`` in the imports; the modules, names, signatures,
signs, defaults and conventions are Lucid's (``neuron(x=, y=)`` with x along the height,
``channel - 1e2 * diversity`` diversifies, ``render_vis(thresholds=(0, 64))`` snapshots after
steps 1 and 65, ``param.image(channels=N)`` is a plain sigmoid, ...). Each module is a thin
adapter over :mod:`lucid_atlas.optvis`, the project's own engine: one engine, two faces.

TensorFlow 2 has no sessions, so a param function returns a tensor computed *now*, and the
renderer re-runs it every step with the same variables (:func:`optvis.render.make_t_image`);
``make_vis_T`` gives an object whose ``T("vis_op")()`` takes one step. Graph-only tools
(``gradient_override_map``) work inside ``tf.function`` or a ``tf.Graph``.

>>> from lucid_atlas.lucid.optvis import objectives, param, render, transform
>>> from lucid_atlas import models
>>> model = models.load("efficientnet_lite0")
>>> obj = objectives.channel("block10_expanded", 42) - 1e2 * objectives.diversity("block10_expanded")
>>> images = render.render_vis(model, obj, lambda: param.image(128, batch=4), thresholds=(255,))

Every difference from Lucid that remains is listed in the README ("Differences from Lucid") and docs/lucid.md.
"""
