"""The bundled legacy ERP: its tables, the translation to the domain, its adapter and its seeding."""
