"""Schema migrations of the hub's database (run by :mod:`spaceclimate.db.migrate`)."""
