"""The packaging tests. ``app_project/`` is an app's own project with its own test suite,
run only inside a clean virtualenv by test_app_project.py: this suite does not collect it."""

collect_ignore = ["app_project"]
