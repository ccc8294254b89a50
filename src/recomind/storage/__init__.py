"""Storage: tables, migrations and data functions over PostgreSQL, MySQL/MariaDB and SQLite."""
