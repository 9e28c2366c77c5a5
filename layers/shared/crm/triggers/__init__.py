"""The trigger types: one module each, named after the type's code, which registers its ``RuleType``
in ``crm.domain.rules.CATALOGUE``. The catalogue imports a type's module the first time the type is
asked for; the other modules here are the types' shared helpers (``filters``)."""
