"""Zarr v3 cubes: chunking, atomic writes, checksums and clean-up of leftovers."""

from spaceclimate.store.cube import CubeStore, plan_chunks

__all__ = ["CubeStore", "plan_chunks"]
