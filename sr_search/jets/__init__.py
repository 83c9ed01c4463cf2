"""Physics-generated jets in the schema of OpenML ``hls4ml_lhc_jets_hlf``.

- :mod:`.events`: Pythia 8 processes per class, FastJet anti-kT jets, truth matching (:class:`Settings`);
- :mod:`.grooming`: modified mass-drop grooming (C/A reclustering, z_cut 0.1, beta 0);
- :mod:`.features`: the 16 features (energy-correlation ratios, groomed mass, zlogz, multiplicity);
- :mod:`.generate`: chunked, resumable, deterministic generation (``srcost jets generate``);
- :mod:`.dataset`: the shipped set, reading a set with its provenance, its summary (``srcost jets info``);
- :mod:`.sources`: where ``sr_search.data.load_jets`` looks (a local OpenML copy, OpenML's caches, the shipped set).

Pythia, FastJet and numba are imported by the modules that need them, not here.
"""
