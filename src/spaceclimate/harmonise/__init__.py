"""Harmonisation: a recipe turns a raw source dataset into a CF-conformant canonical one."""

from spaceclimate.harmonise.core import combine, harmonise_file
from spaceclimate.harmonise.metadata import finalize

__all__ = ["combine", "finalize", "harmonise_file"]
