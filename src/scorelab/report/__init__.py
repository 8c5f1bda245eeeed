"""Numbers and Scores -> pictures and pages.

:mod:`~scorelab.pictures` draws piano rolls, loss curves and pitch-class charts;
:mod:`~scorelab.report.build` assembles ``README.md`` and ``index.html`` from the metrics,
logs and samples; :mod:`~scorelab.report.published` holds the papers' own numbers.
"""
