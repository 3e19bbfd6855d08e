"""Action scripts and gateways (DESIGN §7): rules over new records, the runner, inbound posts."""
