"""PostgreSQL: models, repositories, the unit of work, migrations."""
