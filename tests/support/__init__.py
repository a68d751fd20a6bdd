"""Helpers the tests share: builders, clients, toy applications, the running stack.

What belongs here: anything a test module imports from outside itself (a class, a function, a
constant), one module per thing it helps with. No tests here, and no fixtures: fixtures live in
the ``conftest.py`` of the folder whose tests use them (``tests/conftest.py`` when several
folders do) and are thin wrappers over what this package provides. Test modules never import a
``conftest.py``.
"""
