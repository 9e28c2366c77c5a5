"""CRM automation: the shared package every function uses (domain core, adapters, use-cases)."""
