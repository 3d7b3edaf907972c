"""Schema migrations of the SQL catalog (run by :mod:`spaceclimate.catalog.migrate`)."""
