"""routeguard inside gateways people already run (docs/integrations.md)."""
