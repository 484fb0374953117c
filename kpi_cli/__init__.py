"""The ``kpi`` command line: the user's door to the library, add-in and reports."""
