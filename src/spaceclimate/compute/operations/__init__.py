"""The hub's built-in analytics operations, one module each.

Each module holds one or two :class:`~spaceclimate.compute.registry.Operation` objects,
registered under the ``spaceclimate.operations`` entry points like any plugin's. The science
lives in the modules of :mod:`spaceclimate.compute`; an operation only declares its inputs
and outputs and picks what it reads.
"""
